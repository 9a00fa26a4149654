import { Agent } from "node:http";
import { hostname } from "node:os";
import Consul from "consul";
import { DrconError, isKind } from "../base/errors.js";
import { waitFor } from "../base/wait.js";

/** What the registrator asks Consul to hold for one container port. */
export interface Registration {
  id: string;
  name: string;
  address: string;
  port: number;
  tags: string[];
  meta: Record<string, string>;
  check: {
    http?: string;
    tcp?: string;
    /** A TTL check the registrator keeps at Docker's HEALTHCHECK verdict. */
    ttl?: string;
    interval: string;
    timeout: string;
    /** Initial status: "passing" when the registrator has already seen the port answer. */
    status: "passing" | "critical";
  };
}

export interface AgentService {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta?: Record<string, string>;
}

export interface ServiceHealth {
  id: string;
  service: string;
  address: string;
  port: number;
  meta: Record<string, string>;
  /** passing | warning | critical, the worst of the instance's checks; maintenance counts as critical. */
  status: string;
  /** The reason given when the instance was put in maintenance mode; undefined when it is not. */
  maintenance?: string;
}

const ORDER = ["passing", "warning", "critical"];

/**
 * How long any one Consul call may take, end to end. A local Consul answers in milliseconds;
 * one that does not answer for this long is frozen or overloaded, and a command waiting on it
 * would hang for good. Blocking queries (watchHealth) get their own, longer deadline.
 */
export const CONSUL_TIMEOUT_MS = 5000;

/**
 * The consul client hands a URL's hostname to node:http with its brackets ("[::1]"), which is
 * then looked up as a name and not found: this agent answers that lookup with the address.
 */
function ipv6Agent(ip: string): Agent {
  return new Agent({
    keepAlive: true,
    lookup: (_name, options, callback) => {
      if (options.all) callback(null, [{ address: ip, family: 6 }]);
      else callback(null, ip, 6);
    },
  });
}

/** The one door to Consul's HTTP API. */
export class ConsulApi {
  private readonly client: Consul;

  /** `host` as in a URL: a name, an IPv4 address, or an IPv6 address in brackets. */
  constructor(
    readonly host: string,
    readonly port: number,
    readonly timeoutMs = CONSUL_TIMEOUT_MS,
  ) {
    // `timeout` (ms, from connect to the last byte) is read by papi, the HTTP layer under the
    // consul client, for every call that sets none itself; the client's typings leave it out.
    const ip = /^\[(.+)\]$/.exec(host)?.[1];
    const options = { host, port, timeout: timeoutMs, ...(ip ? { agent: ipv6Agent(ip) } : {}) };
    this.client = new Consul(options);
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** The leader's address, or "" while there is none. Throws when Consul does not answer. */
  async leader(): Promise<string> {
    return String((await this.call("status/leader", () => this.client.status.leader())) ?? "");
  }

  async register(r: Registration): Promise<void> {
    await this.call("agent/service/register", () =>
      this.client.agent.service.register({
        id: r.id,
        name: r.name,
        address: r.address,
        port: r.port,
        tags: r.tags,
        meta: r.meta,
        check: {
          name: `${r.name} on ${r.address}:${r.port}`,
          ...checkTarget(r.check),
          status: r.check.status,
        },
      }),
    );
  }

  /** Sets a TTL check's status; `service:<id>` is the check of a service registered with one. */
  async setTtlStatus(serviceId: string, status: "passing" | "critical", note: string) {
    const id = `service:${serviceId}`;
    await this.call("agent/check", () =>
      status === "passing"
        ? this.client.agent.check.pass({ id, note })
        : this.client.agent.check.fail({ id, note }),
    );
  }

  async deregister(id: string): Promise<void> {
    await this.call("agent/service/deregister", () => this.client.agent.service.deregister(id));
  }

  async agentServices(): Promise<AgentService[]> {
    const services = await this.call("agent/services", () => this.client.agent.service.list());
    return Object.values(services) as AgentService[];
  }

  /**
   * Puts a registration in or out of maintenance mode. False when it is no longer registered: an
   * instance that died meanwhile (a kill during a scale's drain) has left the LB by itself. Told
   * apart by asking the agent again, since Consul's refusal differs between versions.
   */
  async maintenance(id: string, enable: boolean, reason: string): Promise<boolean> {
    try {
      await this.call("agent/service/maintenance", () =>
        this.client.agent.service.maintenance({ id, enable, reason }),
      );
      return true;
    } catch (err) {
      if (isKind(err, "consul-unanswered")) throw err;
      if ((await this.agentServices()).some((s) => s.ID === id)) throw err;
      return false;
    }
  }

  /** Every service carrying `tag`, by name. */
  async servicesTagged(tag: string): Promise<string[]> {
    const all = (await this.call("catalog/services", () =>
      this.client.catalog.service.list(),
    )) as Record<string, string[]>;
    return Object.entries(all)
      .filter(([, tags]) => tags.includes(tag))
      .map(([name]) => name)
      .sort();
  }

  async health(service: string): Promise<ServiceHealth[]> {
    return toHealth(
      await this.call("health/service", () => this.client.health.service({ service })),
    );
  }

  /**
   * Calls `onChange` with the service's instances now and after every change, using Consul
   * blocking queries (no tight polling). Returns a function that stops watching.
   */
  watchHealth(
    service: string,
    onChange: (instances: ServiceHealth[]) => void,
    onError: (err: Error) => void,
  ): () => void {
    const watch = this.client.watch({
      method: this.client.health.service,
      options: { service, wait: "30s" },
      backoffFactor: 50,
      backoffMax: 1000,
    });
    watch.on("change", (data: unknown) => onChange(toHealth(data)));
    watch.on("error", onError);
    return () => watch.end();
  }

  async kvGet(key: string): Promise<string | undefined> {
    const res = (await this.call("kv", () => this.client.kv.get(key))) as
      | { Value?: string }
      | undefined;
    return res?.Value ?? undefined;
  }

  async kvSet(key: string, value: string): Promise<void> {
    await this.call("kv", () => this.client.kv.set(key, value));
  }

  /**
   * Runs `fn` holding a Consul lock on `key`, so that two drcon processes never reconcile the
   * same thing at once. The session has a TTL and is renewed while held: a crashed holder's
   * lock frees itself within seconds.
   */
  async withLock<T>(
    key: string,
    timeoutMs: number,
    fn: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const { ID: session } = (await this.call("session/create", () =>
      this.client.session.create({ name: key, ttl: "10s", lockdelay: "0s", behavior: "delete" }),
    )) as { ID: string };
    const renew = setInterval(() => {
      this.client.session.renew(session).catch(() => {});
    }, 3000);
    try {
      const acquire = () =>
        this.call("kv", () => this.client.kv.set({ key, value: LOCK_HOLDER, acquire: session }));
      await waitFor(
        async () => {
          if (await acquire()) return true;
          const holder = await this.lockHolder(key);
          // Killed, or left at once on a second Ctrl-C: free its lock now, not when its TTL ends.
          if (holder?.gone) await this.client.session.destroy(holder.session).catch(() => {});
          return undefined;
        },
        key,
        {
          timeoutMs,
          intervalMs: 200,
          signal,
          // A failing Consul call is an answer here, not a reason to keep trying.
          retry: () => false,
          timeoutMessage: () =>
            `another drcon command holds ${key} after ${timeoutMs / 1000} s: wait for it to finish and run this again`,
        },
      );
      return await fn();
    } finally {
      clearInterval(renew);
      await this.client.session.destroy(session).catch(() => {});
    }
  }

  /** Whether a drcon command that still runs holds the lock on `key` (see withLock). */
  async lockHeld(key: string): Promise<boolean> {
    const holder = await this.lockHolder(key);
    return Boolean(holder && !holder.gone);
  }

  /**
   * The session holding the lock on `key`; `gone` when its holder was a drcon process on this
   * host that no longer runs (its session would otherwise live on for up to twice its TTL).
   */
  private async lockHolder(key: string): Promise<{ session: string; gone: boolean } | undefined> {
    const res = (await this.call("kv", () => this.client.kv.get(key))) as
      | { Session?: string; Value?: string }
      | undefined;
    if (!res?.Session) return undefined;
    const [host, pid] = (res.Value ?? "").split(" ");
    return { session: res.Session, gone: host === hostname() && !processRuns(Number(pid)) };
  }

  /** Polls until Consul has a leader; Consul needs a moment after its container starts. */
  async waitForLeader(timeoutMs: number, signal?: AbortSignal): Promise<string> {
    return waitFor(
      async () => {
        const leader = await this.leader();
        if (!leader) throw new Error("no leader elected yet");
        return leader;
      },
      "a Consul leader",
      {
        timeoutMs,
        signal,
        // Refused while it starts is expected; taking a connection and never answering is not.
        retry: (err) => !isKind(err, "consul-unanswered"),
        timeoutMessage: (last = "no answer yet") =>
          `Consul at ${this.url} has no leader after ${timeoutMs / 1000} s (${last}): see \`docker logs\` of the consul container`,
      },
    );
  }

  /** Runs one call, turning "no answer in time" into one line that names Consul. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if ((err as { isTimeout?: boolean }).isTimeout) {
        throw new DrconError(
          `Consul at ${this.url} did not answer within ${this.timeoutMs / 1000} s (${what}): is its container paused or overloaded? see \`docker ps\` and its \`docker logs\``,
          { kind: "consul-unanswered", cause: err },
        );
      }
      throw err;
    }
  }
}

/** A `.catch` that falls back to `value` on any failure but an unanswering Consul. */
export function unlessUnanswered<T>(value: T): (err: unknown) => T {
  return (err) => {
    if (isKind(err, "consul-unanswered")) throw err;
    return value;
  };
}

// The consul client sends `interval` and `timeout` only with a probing check; a TTL check has none.
function checkTarget(check: Registration["check"]) {
  const { interval, timeout } = check;
  if (check.ttl) return { ttl: check.ttl, timeout };
  return check.http
    ? { http: check.http, interval, timeout }
    : { tcp: check.tcp, interval, timeout };
}

/** Consul's /health/service answer as drcon reads it: one entry per instance, its worst check. */
export function toHealth(data: unknown): ServiceHealth[] {
  const entries = data as Array<{
    Service: {
      ID: string;
      Service: string;
      Address: string;
      Port: number;
      Meta?: Record<string, string>;
    };
    Checks: Array<{ Status: string; ServiceID: string; CheckID: string; Notes?: string }>;
  }>;
  return entries.map((e) => {
    const own = e.Checks.filter((c) => c.ServiceID === e.Service.ID || c.CheckID === "serfHealth");
    const status = own.reduce(
      (worst, c) => (ORDER.indexOf(c.Status) > ORDER.indexOf(worst) ? c.Status : worst),
      "passing",
    );
    // Consul's own check for maintenance mode; its notes carry the reason.
    const maintenance = own.find((c) => c.CheckID === `_service_maintenance:${e.Service.ID}`);
    return {
      id: e.Service.ID,
      service: e.Service.Service,
      address: e.Service.Address,
      port: e.Service.Port,
      meta: e.Service.Meta ?? {},
      status,
      ...(maintenance ? { maintenance: maintenance.Notes ?? "" } : {}),
    };
  });
}

/** What a lock's value says about its holder: this host and this process. */
const LOCK_HOLDER = `${hostname()} ${process.pid}`;

function processRuns(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true; // not ours to judge: assume it runs
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
