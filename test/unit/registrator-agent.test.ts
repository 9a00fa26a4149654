// The registrator's agent over fakes of the engine and Consul (the Pick<> types it takes) and a
// fake probe: which registrations a container event or a resync leads to, and how a slow starter
// is registered once, when it answers or when its probing time runs out.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AgentService, Registration } from "../../src/consul/client.js";
import { SYNC_KEY } from "../../src/contract.js";
import type { ContainerDetails, ContainerSummary, EngineEvent } from "../../src/docker/engine.js";
import {
  type AgentConsul,
  type AgentEngine,
  type Log,
  RegistratorAgent,
} from "../../src/registrator/agent.js";
import { probe } from "../../src/registrator/probe.js";

vi.mock("../../src/registrator/probe.js", () => ({ probe: vi.fn() }));

const NETWORK = "s";

/** Check targets ("address:port") that answer the fake probe. */
const answering = new Set<string>();

interface Shape {
  running?: boolean;
  paused?: boolean;
  env?: string[];
  ports?: string[];
  health?: "starting" | "healthy" | "unhealthy";
  network?: string;
}

/** A container as `docker inspect` shows it: s-web-<n>, 172.18.0.<10+n>, SERVICE_NAME=web. */
function container(n: number, shape: Shape = {}): ContainerDetails {
  const ports = shape.ports ?? ["80/tcp"];
  return {
    Id: `c${n}`,
    Name: `/s-web-${n}`,
    Config: {
      Env: shape.env ?? ["SERVICE_NAME=web"],
      Labels: {},
      ExposedPorts: Object.fromEntries(ports.map((p) => [p, {}])),
    },
    NetworkSettings: {
      Networks: { [shape.network ?? NETWORK]: { IPAddress: `172.18.0.${10 + n}` } },
    },
    State: {
      Running: shape.running ?? true,
      Paused: shape.paused ?? false,
      StartedAt: "2026-01-01T12:00:00.000Z",
      ...(shape.health ? { Health: { Status: shape.health } } : {}),
    },
  } as unknown as ContainerDetails;
}

const target = (n: number, port = 80) => `172.18.0.${10 + n}:${port}`;

class FakeEngine implements AgentEngine {
  readonly containers = new Map<string, ContainerDetails>();

  put(details: ContainerDetails): void {
    this.containers.set(details.Id, details);
  }

  async inspectContainer(id: string): Promise<ContainerDetails | undefined> {
    return this.containers.get(id);
  }

  async runningOnNetwork(network: string): Promise<ContainerSummary[]> {
    return [...this.containers.values()]
      .filter((c) => c.State.Running && c.NetworkSettings.Networks[network])
      .map((c) => ({ Id: c.Id }) as ContainerSummary);
  }

  // The tests hand events to `handle` themselves.
  // biome-ignore lint/correctness/useYield: never followed here
  async *events(): AsyncGenerator<EngineEvent> {
    throw new Error("the event stream is not followed in these tests");
  }

  async version() {
    return { version: "20.10.24", apiVersion: "1.41", os: "linux" };
  }
}

/** Consul's agent: the services it holds, and every write made to it, in order. */
class FakeConsul implements AgentConsul {
  readonly services = new Map<string, AgentService>();
  readonly calls: string[] = [];
  readonly kv = new Map<string, string>();

  async agentServices(): Promise<AgentService[]> {
    return [...this.services.values()];
  }

  async register(r: Registration): Promise<void> {
    this.calls.push(`register ${r.id} ${r.check.status}`);
    const { id: ID, name: Service, tags: Tags, address: Address, port: Port, meta: Meta } = r;
    this.services.set(r.id, { ID, Service, Tags, Address, Port, Meta });
  }

  async deregister(id: string): Promise<void> {
    this.calls.push(`deregister ${id}`);
    this.services.delete(id);
  }

  async setTtlStatus(id: string, status: "passing" | "critical"): Promise<void> {
    this.calls.push(`ttl ${id} ${status}`);
  }

  async kvSet(key: string, value: string): Promise<void> {
    this.kv.set(key, value);
  }

  async leader(): Promise<string> {
    return "172.18.0.2:8300";
  }
}

const event = (Action: string, id: string): EngineEvent => ({
  Type: "container",
  Action,
  Actor: { ID: id, Attributes: {} },
  time: 1,
  timeNano: 1,
});

/** Lets every pending promise chain run (the fakes answer at once; timers are fake). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

let engine: FakeEngine;
let consul: FakeConsul;
let logged: string[];
let agent: RegistratorAgent;

beforeEach(() => {
  // setImmediate stays real: `settle` runs on it.
  vi.useFakeTimers({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
  });
  answering.clear();
  vi.mocked(probe).mockImplementation(async (check) =>
    answering.has(check.tcp ?? check.http ?? ""),
  );
  engine = new FakeEngine();
  consul = new FakeConsul();
  logged = [];
  const log: Log = (level, msg, fields) => logged.push(`${level} ${msg} ${JSON.stringify(fields)}`);
  agent = new RegistratorAgent(engine, consul, {
    stack: "s",
    routeKey: "key",
    network: NETWORK,
    resyncMs: 10_000,
    heartbeatMs: 1000,
    dockerLostMs: 30_000,
    log,
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.mocked(probe).mockReset();
});

/** A registration of this stack for container `n`, as a registrator made it earlier. */
function registered(n: number, port = 80, stack = "s"): AgentService {
  return {
    ID: `s-web-${n}:${port}`,
    Service: "web",
    Tags: ["drcon"],
    Address: `172.18.0.${10 + n}`,
    Port: port,
    Meta: { drcon_stack: stack, drcon_container: `c${n}`, drcon_hash: "an-older-definition" },
  };
}

describe("RegistratorAgent: what an event or a resync does", () => {
  it("registers a started container that answers, passing, with whose it is in its meta", async () => {
    engine.put(container(1));
    answering.add(target(1));
    agent.handle(event("start", "c1"));
    await settle();
    expect(consul.calls).toEqual(["register s-web-1:80 passing"]);
    expect(consul.services.get("s-web-1:80")?.Meta).toMatchObject({
      drcon_stack: "s",
      drcon_container: "c1",
      drcon_instance: "s-web-1",
    });
  });

  it("leaves a current registration alone; a forced resync registers it again", async () => {
    engine.put(container(1));
    answering.add(target(1));
    agent.handle(event("start", "c1"));
    await settle();
    agent.handle(event("health_status: healthy", "c1"));
    expect(await agent.resync(false)).toBe(true);
    expect(consul.calls).toEqual(["register s-web-1:80 passing"]);
    expect(await agent.resync(true)).toBe(true);
    expect(consul.calls).toEqual(["register s-web-1:80 passing", "register s-web-1:80 passing"]);
  });

  it("a die removes that container's registrations, and nothing of another container or stack", async () => {
    for (const n of [1, 2]) {
      engine.put(container(n));
      answering.add(target(n));
      agent.handle(event("start", `c${n}`));
    }
    await settle();
    consul.services.set("other:80", { ...registered(1, 80, "other"), ID: "other:80" });
    agent.handle(event("die", "c1"));
    await settle();
    expect(consul.calls.filter((c) => c.startsWith("deregister"))).toEqual([
      "deregister s-web-1:80",
    ]);
    expect([...consul.services.keys()].sort()).toEqual(["other:80", "s-web-2:80"]);
  });

  it.each([
    ["stopped", { running: false }],
    ["paused", { paused: true }],
  ])("an event for a container found %s removes its registration", async (_state, shape) => {
    consul.services.set("s-web-1:80", registered(1));
    engine.put(container(1, shape));
    // Its port still answers (a paused container's socket is open): Docker's state decides.
    answering.add(target(1));
    agent.handle(event("start", "c1"));
    await settle();
    expect(consul.calls).toEqual(["deregister s-web-1:80"]);
  });

  it("a forced resync keeps a registered instance that does not answer now, as critical", async () => {
    // After a Consul restart check states start over: one that is slow to answer at this moment
    // is registered again (Consul's check takes it from there), not taken out of the LB.
    consul.services.set("s-web-1:80", registered(1));
    engine.put(container(1));
    expect(await agent.resync(true)).toBe(true);
    expect(consul.calls).toEqual(["register s-web-1:80 critical"]);
  });

  it("deregisters a port the container no longer declares", async () => {
    engine.put(container(1));
    answering.add(target(1));
    consul.services.set("s-web-1:8080", registered(1, 8080));
    agent.handle(event("start", "c1"));
    await settle();
    expect(consul.calls).toEqual(["register s-web-1:80 passing", "deregister s-web-1:8080"]);
  });

  it("registers nothing a container does not ask for, and logs a refusal once", async () => {
    engine.put(container(1, { env: [] }));
    engine.put(container(2, { network: "another-stack" }));
    engine.put(container(3, { env: ["SERVICE_NAME=Bad_Name"] }));
    for (const id of ["c1", "c2", "c3", "c3"]) agent.handle(event("start", id));
    await settle();
    expect(consul.calls).toEqual([]);
    expect(vi.mocked(probe)).not.toHaveBeenCalled();
    const refusals = logged.filter((l) => l.startsWith("warn refused"));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain("s-web-3");
  });

  it("keeps a Docker HEALTHCHECK's TTL check at Docker's verdict without registering again", async () => {
    engine.put(container(1, { health: "starting" }));
    agent.handle(event("start", "c1"));
    await settle();
    engine.put(container(1, { health: "healthy" }));
    agent.handle(event("health_status: healthy", "c1"));
    await settle();
    engine.put(container(1, { health: "unhealthy" }));
    agent.handle(event("health_status: unhealthy", "c1"));
    await settle();
    expect(consul.calls).toEqual([
      "register s-web-1:80 critical",
      "ttl s-web-1:80 passing",
      "ttl s-web-1:80 critical",
    ]);
    // Docker decides, not the registrator's probe.
    expect(vi.mocked(probe)).not.toHaveBeenCalled();
  });

  it("a resync registers what runs, removes what is gone, and records the sync", async () => {
    engine.put(container(1));
    answering.add(target(1));
    consul.services.set("s-web-9:80", registered(9));
    vi.setSystemTime(Date.parse("2026-01-01T12:00:05.000Z"));
    expect(await agent.resync(false)).toBe(true);
    expect(consul.calls.sort()).toEqual(["deregister s-web-9:80", "register s-web-1:80 passing"]);
    expect(JSON.parse(consul.kv.get(SYNC_KEY) ?? "")).toEqual({
      at: "2026-01-01T12:00:05.000Z",
      registered: 1,
    });
  });

  it("a resync that cannot reach Consul reports it and records nothing", async () => {
    consul.agentServices = () => Promise.reject(new Error("connect ECONNREFUSED"));
    expect(await agent.resync(false)).toBe(false);
    expect(consul.kv.has(SYNC_KEY)).toBe(false);
    expect(logged.join("\n")).toContain("resync failed");
  });
});

describe("RegistratorAgent: a slow starter (registerWhenAnswering)", () => {
  it("is registered passing once it answers, by one probing loop however many events come", async () => {
    engine.put(container(1));
    agent.handle(event("start", "c1"));
    await settle();
    agent.handle(event("health_status: starting", "c1"));
    await vi.advanceTimersByTimeAsync(1000);
    expect(consul.calls).toEqual([]);
    answering.add(target(1));
    await vi.advanceTimersByTimeAsync(100);
    await settle();
    expect(consul.calls).toEqual(["register s-web-1:80 passing"]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(consul.calls).toEqual(["register s-web-1:80 passing"]);
  });

  it("is registered critical when its probing time runs out, for Consul's check to take", async () => {
    engine.put(container(1));
    agent.handle(event("start", "c1"));
    await settle();
    await vi.advanceTimersByTimeAsync(4900);
    expect(consul.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    await settle();
    expect(consul.calls).toEqual(["register s-web-1:80 critical"]);
  });

  it("a changed definition is taken out while the new one does not answer yet, then put back", async () => {
    consul.services.set("s-web-1:80", registered(1));
    engine.put(container(1));
    agent.handle(event("start", "c1"));
    await settle();
    expect(consul.calls).toEqual(["deregister s-web-1:80"]);
    answering.add(target(1));
    await vi.advanceTimersByTimeAsync(100);
    await settle();
    expect(consul.calls).toEqual(["deregister s-web-1:80", "register s-web-1:80 passing"]);
  });

  /** Container 1 starts, is probed for half a second without answering, then dies. */
  async function goneWhileProbed(): Promise<void> {
    engine.put(container(1));
    agent.handle(event("start", "c1"));
    await vi.advanceTimersByTimeAsync(500);
    agent.handle(event("die", "c1"));
  }

  /** Container 1 answers from now on; what Consul was asked once `ms` have passed. */
  async function answersFor(ms: number): Promise<string[]> {
    answering.add(target(1));
    await vi.advanceTimersByTimeAsync(ms);
    await settle();
    return consul.calls;
  }

  it("one that goes away while probed is not brought back when it would have answered", async () => {
    await goneWhileProbed();
    engine.put(container(1, { running: false }));
    await settle();
    // It answers a moment later (another container took its address, or its own port lingers):
    // the probing loop of the gone generation must not register it.
    expect(await answersFor(6000)).toEqual([]);
  });

  it("one restarted while probed is registered when its new start answers", async () => {
    await goneWhileProbed();
    agent.handle(event("start", "c1"));
    await settle();
    // No further event comes: the new start's own loop must register it, not the next resync.
    expect(await answersFor(200)).toEqual(["register s-web-1:80 passing"]);
  });

  it("once the old start's loop has ended, a later event does not start a second loop", async () => {
    await goneWhileProbed();
    agent.handle(event("start", "c1"));
    // The old loop wakes, sees it is superseded and ends, leaving the new one probing.
    await vi.advanceTimersByTimeAsync(100);
    agent.handle(event("health_status: starting", "c1"));
    await settle();
    expect(await answersFor(200)).toEqual(["register s-web-1:80 passing"]);
  });
});
