// `drcon status`'s services: Consul's instances joined with the engine's containers and the LB's
// routes (routed, draining, outdated, canary, by hand), over a fake Consul (the Pick<> that
// serviceStatuses takes); and the registrator's sync as the table shows it.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { ServiceHealth } from "../../src/consul/client.js";
import { LABELS } from "../../src/contract.js";
import type { ContainerSummary } from "../../src/docker/engine.js";
import { appendRevision, canaryKey, deployedKey } from "../../src/stack/deployed.js";
import { DRAIN_REASON, scaleLockKey } from "../../src/stack/drain.js";
import type { LbRoutes } from "../../src/stack/lb-routes.js";
import { SYNC_STALE_MS } from "../../src/stack/repair.js";
import { revisionOf } from "../../src/stack/revision.js";
import { serviceStatuses, syncHealth } from "../../src/stack/status.js";

const config = loadConfig({ cwd: "/nonexistent-dir", env: {} });
const runtime = { config };
const configured = config.services.simple;
if (!configured) throw new Error("the default config has a service simple");
// Three revisions of simple: as configured, deployed since, and a canary of a third.
const deployedSpec = { ...configured, env: { COLOR: "blue" } };
const canarySpec = { ...configured, env: { COLOR: "green" } };
const [CONFIGURED, DEPLOYED, CANARY] = [configured, deployedSpec, canarySpec].map(revisionOf);

type Consul = NonNullable<Parameters<typeof serviceStatuses>[1]>;

/** Consul as status reads it: tagged services, their health, scale locks held, and KV. */
function fakeConsul({
  tagged = [] as string[],
  health = {} as Record<string, ServiceHealth[]>,
  locks = [] as string[],
  kv = {} as Record<string, string>,
} = {}): Consul {
  return {
    servicesTagged: async () => tagged,
    health: async (service: string) => health[service] ?? [],
    lockHeld: async (key: string) => locks.includes(key),
    kvGet: async (key: string) => kv[key],
  };
}

const address = (n: number) => `172.18.0.${10 + n}`;

/** Instance n of `service` as Consul reports it. */
function registered(n: number, status = "passing", maintenance?: string): ServiceHealth {
  return {
    id: `drcon-simple-${n}:80`,
    service: "simple",
    address: address(n),
    port: 80,
    meta: { drcon_instance: `drcon-simple-${n}`, drcon_container: `c${n}` },
    status,
    ...(maintenance === undefined ? {} : { maintenance }),
  };
}

/** Instance n of `service` as the engine lists it, made by `drcon scale`. */
function instance(n: number, revision?: string, state = "running", service = "simple") {
  return {
    Id: `c${n}`,
    Names: [`/drcon-${service}-${n}`],
    State: state,
    Labels: {
      [LABELS.stack]: "drcon",
      [LABELS.role]: "instance",
      [LABELS.service]: service,
      ...(revision ? { [LABELS.revision]: revision } : {}),
    },
  } as unknown as ContainerSummary;
}

const routes = (...ns: number[]): LbRoutes => ({
  rendered: "2026-01-01T12:00:00Z",
  default: "simple",
  services: { simple: ns.map((n) => `${address(n)}:80`) },
});

/** One row per instance: name, address, health, routed, managed, revision, outdated, canary. */
type Row = [string, string | null, string, boolean, boolean, string | null, boolean, boolean];
const rows = (services: Awaited<ReturnType<typeof serviceStatuses>>, name = "simple"): Row[] =>
  (services.find((s) => s.name === name)?.instances ?? []).map((i) => [
    i.name,
    i.address,
    i.health,
    i.routed,
    i.managed,
    i.revision,
    i.outdated,
    i.canary,
  ]);

describe("serviceStatuses", () => {
  it("joins Consul's instances with the containers and the LB's routes", async () => {
    const history = appendRevision(
      appendRevision([], configured, new Date("2026-01-01T11:00:00Z")),
      deployedSpec,
      new Date("2026-01-01T11:30:00Z"),
    );
    const canary = { revision: CANARY, spec: canarySpec, instances: ["drcon-simple-3"] };
    const byHand: ServiceHealth = {
      id: "byhand:simple:80",
      service: "simple",
      address: address(20),
      port: 80,
      meta: {},
      status: "critical",
    };
    const consul = fakeConsul({
      tagged: ["simple"],
      health: {
        simple: [
          registered(1),
          registered(2, "critical", DRAIN_REASON),
          registered(3),
          registered(10, "critical"),
          byHand,
        ],
      },
      locks: [scaleLockKey("simple")],
      kv: {
        [deployedKey("simple")]: JSON.stringify(history),
        [canaryKey("simple")]: JSON.stringify(canary),
      },
    });
    const containers = [
      instance(1, DEPLOYED),
      instance(2, CONFIGURED),
      instance(3, CANARY),
      instance(4, DEPLOYED),
      instance(5, DEPLOYED, "exited"),
      instance(10, DEPLOYED),
    ];
    const services = await serviceStatuses(runtime, consul, containers, routes(1, 2));
    expect(services.map((s) => s.name)).toEqual(["simple"]);
    expect(rows(services)).toEqual([
      ["byhand:simple:80", `${address(20)}:80`, "critical", false, false, null, false, false],
      ["drcon-simple-1", `${address(1)}:80`, "passing", true, true, DEPLOYED, false, false],
      // Older than the deployed revision, and drained by the scale that holds the lock.
      ["drcon-simple-2", `${address(2)}:80`, "draining", true, true, CONFIGURED, true, false],
      // Not the deployed revision either, but the canary: not outdated.
      ["drcon-simple-3", `${address(3)}:80`, "passing", false, true, CANARY, false, true],
      // drcon's own containers that Consul does not know (yet).
      ["drcon-simple-4", null, "not registered", false, true, DEPLOYED, false, false],
      ["drcon-simple-5", null, "exited", false, true, DEPLOYED, false, false],
      ["drcon-simple-10", `${address(10)}:80`, "critical", false, true, DEPLOYED, false, false],
    ]);
  });

  it("tells a drain in progress from one an interrupted scale left, and from maintenance by hand", async () => {
    const health = {
      simple: [registered(1, "critical", DRAIN_REASON), registered(2, "critical", "by hand")],
    };
    const containers = [instance(1), instance(2)];
    const health1 = async (locks: string[]) =>
      rows(await serviceStatuses(runtime, fakeConsul({ health, locks }), containers, routes())).map(
        (r) => r[2],
      );
    expect(await health1([scaleLockKey("simple")])).toEqual(["draining", "in maintenance"]);
    expect(await health1([])).toEqual(["in maintenance (interrupted scale)", "in maintenance"]);
    // Another service's scale does not make this one's instance draining.
    expect(await health1([scaleLockKey("other")])).toEqual([
      "in maintenance (interrupted scale)",
      "in maintenance",
    ]);
  });

  it("lists a service known only from Consul's tag or only from its instances' labels", async () => {
    const consul = fakeConsul({ tagged: ["simple", "tagged"] });
    const containers = [instance(1, undefined, "running", "labelled")];
    const services = await serviceStatuses(runtime, consul, containers, routes());
    expect(services.map((s) => [s.name, s.instances.map((i) => i.name)])).toEqual([
      ["labelled", ["drcon-labelled-1"]],
      ["simple", []],
      ["tagged", []],
    ]);
  });

  it("without Consul, shows the engine's instances, registration unknown, against the configured revision", async () => {
    const containers = [
      instance(1, CONFIGURED),
      instance(2, DEPLOYED),
      instance(3, undefined, "exited"),
    ];
    const services = await serviceStatuses(runtime, undefined, containers, undefined);
    expect(rows(services)).toEqual([
      ["drcon-simple-1", null, "running", false, true, CONFIGURED, false, false],
      ["drcon-simple-2", null, "running", false, true, DEPLOYED, true, false],
      // A revision unknown (made before revisions): never called outdated.
      ["drcon-simple-3", null, "exited", false, true, null, false, false],
    ]);
  });

  it("a Consul that fails a call shows what the engine knows rather than failing", async () => {
    const failing: Consul = {
      servicesTagged: () => Promise.reject(new Error("connect ECONNREFUSED")),
      health: () => Promise.reject(new Error("connect ECONNREFUSED")),
      lockHeld: () => Promise.reject(new Error("connect ECONNREFUSED")),
      kvGet: () => Promise.reject(new Error("connect ECONNREFUSED")),
    };
    const services = await serviceStatuses(runtime, failing, [instance(1, DEPLOYED)], undefined);
    expect(rows(services)).toEqual([
      ["drcon-simple-1", null, "not registered", false, true, DEPLOYED, true, false],
    ]);
  });
});

describe("syncHealth", () => {
  it("says whether the registrator has synced, how long ago, and when it cannot tell", () => {
    expect(syncHealth(undefined, undefined)).toBe("not synced");
    expect(syncHealth("not json", undefined)).toBe("sync unknown (unreadable record)");
    expect(syncHealth("{}", 3_400)).toBe("synced 3 s ago");
    expect(syncHealth("{}", SYNC_STALE_MS)).toBe(`synced ${SYNC_STALE_MS / 1000} s ago`);
    expect(syncHealth("{}", SYNC_STALE_MS + 15_000)).toBe(
      `sync stale: last ${SYNC_STALE_MS / 1000 + 15} s ago`,
    );
  });
});
