// The registrator's loops: Docker events (reconnecting without losing any), periodic resyncs,
// and a Consul heartbeat that resyncs as soon as Consul comes back after a restart.
import { sleep } from "../base/time.js";
import type { AgentService, ConsulApi, Registration } from "../consul/client.js";
import { encodeSyncRecord, META, SYNC_KEY } from "../contract.js";
import {
  type ContainerDetails,
  type DockerEngine,
  type EngineEvent,
  nameOf,
} from "../docker/engine.js";
import { intentOf } from "./events.js";
import { probe } from "./probe.js";
import { type ContainerFacts, registrationsFor } from "./registration.js";

export type Log = (level: "info" | "warn" | "error", msg: string, fields?: object) => void;

export interface AgentOptions {
  stack: string;
  /** Signs every registration, so that the LB routes only this registrator's (see lbSpec). */
  routeKey: string;
  network: string;
  resyncMs: number;
  heartbeatMs: number;
  /** Docker unreachable this long: `run` fails, so that the container's restart policy restarts it. */
  dockerLostMs: number;
  log: Log;
}

// A slow starter is probed this long before it is registered critical for Consul's check to take.
const PROBE_FOR_MS = 5000;
/**
 * How long to wait before probing a starter again: a tenth of the time it has been probed so far,
 * between 2 and 25 ms. An app that answers soon after its start is found within a few ms; one
 * that takes seconds costs a probe every 25 ms.
 */
export function probeDelayMs(probedForMs: number): number {
  return Math.min(25, Math.max(2, Math.round(probedForMs / 10)));
}
// One step of one container's work: an inspect, a probe and a few Consul calls, each with its own
// deadline. Past this the container's chain moves on, so nothing can hold its later steps for good.
const STEP_DEADLINE_MS = 60_000;
// A resync waits this long for the containers' work, then records itself anyway (naming who is
// still busy): one container that is slow to answer must not hold up the sync `up` waits for.
const RESYNC_WAIT_MS = 8000;

/** What the agent asks of the engine and of Consul: all it needs, and what a test fakes. */
export type AgentEngine = Pick<
  DockerEngine,
  "runningOnNetwork" | "inspectContainer" | "events" | "version"
>;
export type AgentConsul = Pick<
  ConsulApi,
  "agentServices" | "register" | "deregister" | "setTtlStatus" | "kvSet" | "leader"
>;

export class RegistratorAgent {
  /** Per container: its Consul work runs in order, one step after another. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Per container: bumped when it goes away, so a pending promotion does not bring it back. */
  private readonly generation = new Map<string, number>();
  private readonly lastRefusal = new Map<string, string>();
  /**
   * Registrations waiting for their port to answer, with the generation probing each: one loop
   * per registration and start (a restarted container's loop is not held off by its old one's).
   */
  private readonly probing = new Map<string, number>();
  private consulDown = false;
  /** A heartbeat waits up to Consul's call timeout: the next one skips rather than piling up. */
  private beating = false;
  private stopped = false;

  constructor(
    private readonly engine: AgentEngine,
    private readonly consul: AgentConsul,
    private readonly options: AgentOptions,
  ) {}

  /** Runs until `stop()`: the first full sync, then events, resyncs and the heartbeat. */
  async run(): Promise<void> {
    const since = Math.floor(Date.now() / 1000);
    while (!this.stopped && !(await this.resync(false))) await sleep(500);
    const resyncs = setInterval(() => void this.resync(false), this.options.resyncMs);
    const heartbeat = setInterval(() => void this.heartbeat(), this.options.heartbeatMs);
    try {
      await this.followEvents(since);
    } finally {
      clearInterval(resyncs);
      clearInterval(heartbeat);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Registers every running container on the network that asks for it and removes this stack's
   * registrations whose container no longer runs. `force` re-registers (after a Consul restart,
   * when check states start over). Returns false when Consul or Docker did not answer.
   */
  async resync(force: boolean): Promise<boolean> {
    try {
      const [containers, services] = await Promise.all([
        this.engine.runningOnNetwork(this.options.network),
        this.consul.agentServices(),
      ]);
      // Every container that runs, and every one this stack has registrations for: `apply`
      // inspects each afresh, so one that started since the listing is not wrongly removed.
      const ids = new Set([
        ...containers.map((c) => c.Id),
        ...this.own(services).map((s) => s.Meta?.[META.container] ?? ""),
      ]);
      ids.delete("");
      // A container whose work is under way is left to it (a forced resync queues behind it):
      // resyncs that come faster than a slow container's work must not pile up on its chain.
      const work = [...ids]
        .filter((id) => force || !this.chains.has(id))
        .map((id) => this.enqueue(id, () => this.apply(id, force)));
      if (!(await settlesWithin(Promise.all(work), RESYNC_WAIT_MS))) {
        const busy = [...ids].filter((id) => this.chains.has(id)).map((id) => id.slice(0, 12));
        this.options.log("warn", "resync recorded with containers still busy", { busy });
      }
      const registered = this.own(await this.consul.agentServices()).length;
      await this.consul.kvSet(
        SYNC_KEY,
        encodeSyncRecord({ at: new Date().toISOString(), registered }),
      );
      return true;
    } catch (err) {
      this.options.log("warn", "resync failed", { error: (err as Error).message });
      return false;
    }
  }

  /** One Docker event: what it means for the container's registrations. */
  handle(event: EngineEvent): void {
    const intent = intentOf(event, this.options.network);
    if (intent.kind === "apply")
      this.enqueue(intent.container, () => this.apply(intent.container, false));
    if (intent.kind === "remove") this.gone(intent.container, intent.why);
  }

  private gone(id: string, why: string): void {
    this.generation.set(id, (this.generation.get(id) ?? 0) + 1);
    this.enqueue(id, () => this.remove(id, why));
  }

  private async followEvents(since: number): Promise<void> {
    let from = since;
    let unreachableSince: number | undefined;
    const filters = { type: ["container", "network"] };
    while (!this.stopped) {
      try {
        for await (const event of this.engine.events(filters, from)) {
          from = event.time;
          this.handle(event);
          if (this.stopped) return;
        }
        this.options.log("warn", "Docker event stream ended; reconnecting", { since: from });
      } catch (err) {
        this.options.log("warn", "Docker event stream failed; reconnecting", {
          error: (err as Error).message,
          since: from,
        });
        unreachableSince = (await this.dockerAnswers())
          ? undefined
          : (unreachableSince ?? Date.now());
        // A restarted engine listens on a new socket, which the file bind-mounted into this
        // container no longer is: only a fresh start of the container (its restart policy)
        // mounts the new one.
        if (
          unreachableSince !== undefined &&
          Date.now() - unreachableSince > this.options.dockerLostMs
        ) {
          throw new Error(
            `Docker unreachable for ${this.options.dockerLostMs / 1000} s: exiting for a fresh start`,
          );
        }
        await sleep(1000);
      }
      // Events from `from` on are replayed (handling is idempotent); a resync covers the rest.
      void this.resync(false);
    }
  }

  private dockerAnswers(): Promise<boolean> {
    return this.engine.version().then(
      () => true,
      () => false,
    );
  }

  private async heartbeat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      await this.beat();
    } finally {
      this.beating = false;
    }
  }

  private async beat(): Promise<void> {
    const up = await this.consul
      .leader()
      .then((leader) => leader !== "")
      .catch(() => false);
    if (!up && !this.consulDown) this.options.log("warn", "Consul is not answering");
    if (up && this.consulDown) {
      this.options.log("info", "Consul is back; resyncing");
      if (!(await this.resync(true))) return;
    }
    this.consulDown = !up;
  }

  private enqueue(id: string, step: () => Promise<void>): Promise<void> {
    const bounded = async () => {
      if (!(await settlesWithin(step(), STEP_DEADLINE_MS))) {
        throw new Error(`gave up after ${STEP_DEADLINE_MS / 1000} s; the next step goes on`);
      }
    };
    const next = (this.chains.get(id) ?? Promise.resolve()).then(bounded).catch((err: Error) => {
      this.options.log("error", "registration step failed", { container: id, error: err.message });
    });
    this.chains.set(id, next);
    void next.then(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
    return next;
  }

  private async apply(id: string, force: boolean): Promise<void> {
    const details = await this.engine.inspectContainer(id);
    if (!details?.State.Running || details.State.Paused) {
      await this.remove(id, "not running");
      return;
    }
    const facts = factsOf(details, this.options.network);
    const { registrations, refused } = registrationsFor(facts, this.options);
    this.reportRefusals(facts, refused);
    const existing = new Map(
      this.own(await this.consul.agentServices())
        .filter((s) => s.Meta?.[META.container] === id)
        .map((s) => [s.ID, s]),
    );
    for (const r of registrations) {
      const current = existing.get(r.id);
      existing.delete(r.id);
      if (r.check.ttl) {
        if (force || current?.Meta?.[META.hash] !== r.meta[META.hash]) await this.register(r);
        else await this.consul.setTtlStatus(r.id, r.check.status, `Docker: ${facts.health}`);
        continue;
      }
      if (!force && current?.Meta?.[META.hash] === r.meta[META.hash]) continue;
      const passing = await probe(r.check);
      if (passing || (force && current)) {
        await this.register(withStatus(r, passing ? "passing" : "critical"));
        continue;
      }
      // Not answering yet. Consul keeps a check's state when its service is registered again,
      // so a critical registration now could not be made passing later without a deregister,
      // which would take a routed instance out of the LB if Consul's own check had passed
      // meanwhile. It is registered once, when it answers or when the probing time runs out.
      if (current) await this.deregister(r.id, "changed; not answering yet");
      void this.registerWhenAnswering(r, this.generation.get(id) ?? 0);
    }
    for (const leftover of existing.keys()) await this.deregister(leftover, "no longer declared");
  }

  /** Probes a slow starter until it answers (passing) or the time runs out (critical). */
  private async registerWhenAnswering(r: Registration, generation: number): Promise<void> {
    if (this.probing.get(r.id) === generation) return;
    this.probing.set(r.id, generation);
    const container = r.meta[META.container] ?? "";
    const current = () => (this.generation.get(container) ?? 0) === generation;
    try {
      const since = Date.now();
      let passing = false;
      while (!passing && Date.now() < since + PROBE_FOR_MS) {
        await sleep(probeDelayMs(Date.now() - since));
        if (!current()) return;
        passing = await probe(r.check);
      }
      await this.enqueue(container, async () => {
        if (current()) await this.register(withStatus(r, passing ? "passing" : "critical"));
      });
    } finally {
      if (this.probing.get(r.id) === generation) this.probing.delete(r.id);
    }
  }

  private async register(r: Registration): Promise<void> {
    await this.consul.register(r);
    this.options.log("info", "registered", {
      id: r.id,
      service: r.name,
      address: `${r.address}:${r.port}`,
      status: r.check.status,
    });
  }

  private async remove(id: string, why: string): Promise<void> {
    const services = this.own(await this.consul.agentServices()).filter(
      (s) => s.Meta?.[META.container] === id,
    );
    for (const s of services) await this.deregister(s.ID, why);
    this.lastRefusal.delete(id);
  }

  private async deregister(serviceId: string, why: string): Promise<void> {
    await this.consul.deregister(serviceId);
    this.options.log("info", "deregistered", { id: serviceId, reason: why });
  }

  /** Logs what a container asked for and did not get, once per change rather than every resync. */
  private reportRefusals(facts: ContainerFacts, refused: string[]): void {
    const text = refused.join("; ");
    if (this.lastRefusal.get(facts.id) === text) return;
    this.lastRefusal.set(facts.id, text);
    for (const reason of refused) {
      this.options.log("warn", "refused", { container: facts.name, reason });
    }
  }

  private own(services: AgentService[]): AgentService[] {
    return services.filter((s) => s.Meta?.[META.stack] === this.options.stack);
  }
}

/** What the mapping needs from `docker inspect`. */
export function factsOf(details: ContainerDetails, network: string): ContainerFacts {
  const health = details.State.Health?.Status;
  return {
    id: details.Id,
    name: nameOf(details),
    env: details.Config.Env ?? [],
    labels: details.Config.Labels ?? {},
    exposedPorts: Object.keys(details.Config.ExposedPorts ?? {}),
    address: details.NetworkSettings.Networks[network]?.IPAddress || undefined,
    startedAt: details.State.StartedAt,
    health:
      health === "healthy" || health === "unhealthy" || health === "starting" ? health : undefined,
  };
}

/** Whether `work` settles within `ms` (rejects when it fails in time); it runs on either way. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function withStatus(r: Registration, status: "passing" | "critical"): Registration {
  return { ...r, check: { ...r.check, status } };
}
