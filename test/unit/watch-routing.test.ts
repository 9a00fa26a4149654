import { describe, expect, it } from "vitest";
import type { ServiceHealth } from "../../src/consul/client.js";
import type { LbRoutes } from "../../src/contract.js";
import { RoutingTracker } from "../../src/watch/routing.js";
import { ageOrigin, RoutingModel } from "../../src/watch/routing-model.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function inst(n: number, status = "passing", meta: Record<string, string> = {}): ServiceHealth {
  return {
    id: `s-simple-${n}:80`,
    service: "simple",
    address: `172.18.0.${n + 10}`,
    port: 80,
    meta: { drcon_instance: `s-simple-${n}`, ...meta },
    status,
  };
}

const addr = (n: number) => `172.18.0.${n + 10}:80`;
const routes = (rendered: string, ...ns: number[]): LbRoutes => ({
  rendered,
  default: "simple",
  services: { simple: ns.map(addr) },
});

/** A model that has seen three passing instances, all routed. */
function steady(): RoutingModel {
  const m = new RoutingModel(["simple"]);
  expect(m.ready()).toBe(false);
  expect(m.applyHealth("simple", [inst(1), inst(2), inst(3)], T0)).toEqual([]);
  expect(m.applyRoutes(routes("r1", 1, 2, 3), T0)).toEqual([]);
  expect(m.ready()).toBe(true);
  return m;
}

describe("RoutingModel", () => {
  it("starts quiet: the first views are the table, not events", () => {
    const m = steady();
    const snap = m.snapshot(T0 + 5000);
    expect(snap.services).toHaveLength(1);
    const simple = snap.services[0];
    expect(simple).toMatchObject({
      name: "simple",
      passing: 3,
      inSync: true,
      lb: [addr(1), addr(2), addr(3)],
    });
    expect(
      simple?.instances.map((i) => [i.name, i.address, i.health, i.routed, i.ageSeconds]),
    ).toEqual([
      ["s-simple-1", addr(1), "passing", true, 5],
      ["s-simple-2", addr(2), "passing", true, 5],
      ["s-simple-3", addr(3), "passing", true, 5],
    ]);
    expect(snap.lb).toMatchObject({
      reachable: true,
      rendered: "r1",
      defaultService: "simple",
      reloads: 0,
    });
    expect(m.instanceFor(addr(2))).toBe("s-simple-2");
  });

  it("a kill: deregistered, out of sync, the LB reloads, in sync again with how long it took", () => {
    const m = steady();
    const gone = m.applyHealth("simple", [inst(1), inst(3)], T0 + 1000);
    expect(gone.map((e) => e.kind)).toEqual(["deregistered", "out-of-sync"]);
    expect(gone[0]).toMatchObject({ instance: "s-simple-2", address: addr(2) });
    expect(gone[1]?.message).toContain("still routed: s-simple-2");
    const mid = m.snapshot(T0 + 1100).services[0];
    expect(mid).toMatchObject({ inSync: false, outOfSyncSince: T0 + 1000, passing: 2 });
    // Still routed by the LB, gone from Consul: shown, marked.
    expect(mid?.instances.find((i) => i.name === "s-simple-2")).toMatchObject({
      health: "deregistered",
      routed: true,
    });

    const reload = m.applyRoutes(routes("r2", 1, 3), T0 + 1400);
    expect(reload.map((e) => e.kind)).toEqual(["lb-reloaded", "lb-unrouted", "in-sync"]);
    expect(reload[1]).toMatchObject({ instance: "s-simple-2", address: addr(2) });
    expect(reload[2]).toMatchObject({ afterMs: 400 });
    const after = m.snapshot(T0 + 1500);
    expect(after.lb.reloads).toBe(1);
    expect(after.services[0]?.inSync).toBe(true);
    // The name stays known for requests that were still served by it.
    expect(m.instanceFor(addr(2))).toBe("s-simple-2");
  });

  it("keeps a deregistered instance a while, its age frozen, then drops it", () => {
    const m = new RoutingModel(["simple"], 10_000);
    m.applyHealth("simple", [inst(1)], T0);
    m.applyRoutes(routes("r1", 1), T0);
    m.applyHealth("simple", [], T0 + 3000);
    m.applyRoutes(routes("r2"), T0 + 3200);
    const kept = m.snapshot(T0 + 8000).services[0]?.instances;
    expect(kept).toEqual([
      expect.objectContaining({
        name: "s-simple-1",
        health: "deregistered",
        routed: false,
        ageSeconds: 3,
      }),
    ]);
    expect(m.snapshot(T0 + 14_000).services[0]?.instances).toEqual([]);
  });

  it("reports health changes, and a passing instance not yet routed as out of sync", () => {
    const m = steady();
    const sick = m.applyHealth("simple", [inst(1), inst(2, "critical"), inst(3)], T0 + 100);
    expect(sick.map((e) => e.kind)).toEqual(["unhealthy", "out-of-sync"]);
    expect(sick[0]?.message).toBe("s-simple-2 passing -> critical");
    const fixed = m.applyRoutes(routes("r2", 1, 3), T0 + 300);
    expect(fixed.map((e) => e.kind)).toEqual(["lb-reloaded", "lb-unrouted", "in-sync"]);

    const added = m.applyHealth(
      "simple",
      [inst(1), inst(2, "critical"), inst(3), inst(4)],
      T0 + 500,
    );
    expect(added.map((e) => e.kind)).toEqual(["registered", "out-of-sync"]);
    expect(added[1]?.message).toContain("not yet routed: s-simple-4");
    const routed = m.applyRoutes(routes("r3", 1, 3, 4), T0 + 800);
    expect(routed.map((e) => e.kind)).toEqual(["lb-reloaded", "lb-routed", "in-sync"]);
    expect(routed[2]?.afterMs).toBe(300);
    const back = m.applyHealth("simple", [inst(1), inst(2), inst(3), inst(4)], T0 + 900);
    expect(back.map((e) => e.kind)).toEqual(["healthy", "out-of-sync"]);
  });

  it("shows an address only the LB knows, and services only the LB knows", () => {
    const m = new RoutingModel(["simple"]);
    m.applyHealth("simple", [], T0);
    m.applyRoutes(
      { rendered: "r1", default: "simple", services: { simple: ["10.9.9.9:80"], web: [] } },
      T0,
    );
    const snap = m.snapshot(T0);
    expect(snap.services.map((s) => s.name)).toEqual(["simple", "web"]);
    expect(snap.services[0]?.instances).toEqual([
      expect.objectContaining({
        name: "?",
        address: "10.9.9.9:80",
        health: "unknown",
        routed: true,
      }),
    ]);
    expect(m.serviceNames()).toEqual(["simple", "web"]);
    expect(m.ready()).toBe(false);
  });

  it("reports the LB and Consul going away once, and coming back", () => {
    const m = steady();
    expect(m.lbError("ECONNREFUSED", T0 + 1).map((e) => e.kind)).toEqual(["lb-unreachable"]);
    expect(m.lbError("ECONNREFUSED", T0 + 2)).toEqual([]);
    expect(m.applyRoutes(routes("r1", 1, 2, 3), T0 + 3).map((e) => e.kind)).toEqual([
      "lb-reachable",
    ]);
    expect(m.consulError("ECONNREFUSED", T0 + 4).map((e) => e.kind)).toEqual([
      "consul-unreachable",
    ]);
    expect(m.consulError("ECONNREFUSED", T0 + 5)).toEqual([]);
    expect(m.snapshot(T0 + 5).consul.reachable).toBe(false);
    expect(m.applyHealth("simple", [inst(1), inst(2), inst(3)], T0 + 6).map((e) => e.kind)).toEqual(
      ["consul-reachable"],
    );
  });
});

describe("ageOrigin", () => {
  it("reads a start time from the registration's meta, else takes first sight", () => {
    expect(ageOrigin({ drcon_started: "2026-01-01T11:59:00.000Z" }, T0)).toEqual({
      since: T0 - 60_000,
      ageFrom: "meta",
    });
    expect(ageOrigin({ drcon_started: String(T0 - 5000) }, T0)).toEqual({
      since: T0 - 5000,
      ageFrom: "meta",
    });
    expect(ageOrigin({ drcon_started: String((T0 - 5000) / 1000) }, T0)).toEqual({
      since: T0 - 5000,
      ageFrom: "meta",
    });
    // Docker's StartedAt has nanoseconds; a never-started container's is year 1.
    expect(ageOrigin({ drcon_started: "2026-01-01T11:59:59.500000001Z" }, T0)).toEqual({
      since: T0 - 500,
      ageFrom: "meta",
    });
    expect(ageOrigin({ drcon_started: "0001-01-01T00:00:00Z" }, T0)).toEqual({
      since: T0,
      ageFrom: "seen",
    });
    expect(ageOrigin({ drcon_started: "soon" }, T0)).toEqual({ since: T0, ageFrom: "seen" });
    expect(ageOrigin({}, T0)).toEqual({ since: T0, ageFrom: "seen" });
  });
});

describe("RoutingTracker", () => {
  it("watches each service with a blocking-query watch, polls the LB, and stops everything", async () => {
    const watched: string[] = [];
    const stopped: string[] = [];
    const listeners = new Map<string, (list: ServiceHealth[]) => void>();
    const consul = {
      watchHealth(service: string, onChange: (list: ServiceHealth[]) => void) {
        watched.push(service);
        listeners.set(service, onChange);
        setTimeout(() => onChange(service === "simple" ? [inst(1)] : []), 5);
        return () => stopped.push(service);
      },
      servicesTagged: async () => ["simple", "extra"],
    };
    let fetches = 0;
    const updates: string[][] = [];
    const tracker = new RoutingTracker(
      consul,
      "http://127.0.0.1:1",
      ["simple"],
      (events) => updates.push(events.map((e) => e.kind)),
      {
        pollMs: 20,
        fetch: async () => {
          fetches++;
          return {
            rendered: fetches < 3 ? "r1" : "r2",
            default: "simple",
            services: { simple: [addr(1)], web: [] },
          };
        },
      },
    );
    await tracker.start(1000);
    expect(tracker.model.ready()).toBe(true);
    await new Promise((r) => setTimeout(r, 120));
    tracker.stop();
    const after = fetches;
    await new Promise((r) => setTimeout(r, 60));
    expect(fetches).toBe(after);
    expect(fetches).toBeGreaterThanOrEqual(3);
    // Each service once: from the configuration, the LB's routes and Consul's catalog.
    expect([...watched].sort()).toEqual(["extra", "simple", "web"]);
    expect([...stopped].sort()).toEqual(["extra", "simple", "web"]);
    expect(updates.flat()).toContain("lb-reloaded");
    expect(tracker.model.instanceFor(addr(1))).toBe("s-simple-1");
  });
});
