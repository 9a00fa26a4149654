// What `drcon watch` knows of the routing (pure: fed Consul's and the LB's views, time passed
// in): per service its instances as Consul has them, what the LB routes to, whether the two
// agree, and the events between one view and the next.
import { byName } from "../base/order.js";
import type { ServiceHealth } from "../consul/client.js";
import { type LbRoutes, META } from "../contract.js";

export type EventKind =
  | "registered"
  | "deregistered"
  | "healthy"
  | "unhealthy"
  | "lb-reloaded"
  | "lb-routed"
  | "lb-unrouted"
  | "in-sync"
  | "out-of-sync"
  | "lb-unreachable"
  | "lb-reachable"
  | "consul-unreachable"
  | "consul-reachable";

export interface WatchEvent {
  /** Epoch ms. */
  t: number;
  kind: EventKind;
  service?: string;
  instance?: string;
  address?: string;
  /** For in-sync: how long Consul and the LB disagreed. */
  afterMs?: number;
  /** One line for a person. */
  message: string;
}

export interface InstanceView {
  /** Consul's service ID; empty for an address only the LB knows. */
  id: string;
  name: string;
  address: string;
  /** passing | warning | critical as Consul has it; "deregistered" when Consul dropped it;
   * "unknown" when only the LB routes to it. */
  health: string;
  routed: boolean;
  /** Age in whole seconds. */
  ageSeconds: number;
  /** Where the age comes from: the registration's meta, or when watch first saw it. */
  ageFrom: "meta" | "seen";
  /** The revision its registration names (drcon_revision meta), or null. */
  revision: string | null;
}

export interface ServiceView {
  name: string;
  instances: InstanceView[];
  passing: number;
  /** Addresses the LB routes to; null until the LB answered. */
  lb: string[] | null;
  /** Consul's passing instances and the LB's routes are the same set. */
  inSync: boolean;
  /** Since when they disagree (epoch ms). */
  outOfSyncSince: number | null;
}

export interface RoutingSnapshot {
  t: number;
  services: ServiceView[];
  lb: {
    reachable: boolean | null;
    rendered: string | null;
    defaultService: string | null;
    reloads: number;
    lastReloadAt: number | null;
  };
  consul: { reachable: boolean | null };
}

interface Instance {
  id: string;
  name: string;
  address: string;
  health: string;
  /** Age origin (epoch ms). */
  since: number;
  ageFrom: "meta" | "seen";
  revision: string | null;
  goneAt?: number;
}

interface Service {
  name: string;
  instances: Map<string, Instance>;
  /** Deregistered instances, kept `keepGoneMs` so a person sees them leave. */
  gone: Map<string, Instance>;
  seenHealth: boolean;
  lb?: string[];
  outOfSyncSince?: number;
}

/** Instance age origin: the registration's start meta (ISO time or epoch ms) when present, else first sight. */
export function ageOrigin(
  meta: Record<string, string>,
  firstSeen: number,
): { since: number; ageFrom: "meta" | "seen" } {
  const raw = meta[META.started];
  if (raw) {
    const n = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
    // Epoch seconds or milliseconds.
    const ms = Number.isFinite(n) ? (n < 1e12 ? n * 1000 : n) : Number.NaN;
    if (Number.isFinite(ms) && ms > 0) return { since: ms, ageFrom: "meta" };
  }
  return { since: firstSeen, ageFrom: "seen" };
}

export class RoutingModel {
  private readonly services = new Map<string, Service>();
  private readonly names = new Map<string, string>();
  /** Address -> revision, kept like names so late answers still count for their revision. */
  private readonly revisions = new Map<string, string>();
  private lbReachable: boolean | undefined;
  private rendered: string | undefined;
  private defaultService: string | undefined;
  private reloads = 0;
  private lastReloadAt: number | undefined;
  private consulReachable: boolean | undefined;

  constructor(
    services: string[] = [],
    private readonly keepGoneMs = 15_000,
  ) {
    for (const s of services) this.service(s);
  }

  /** Services known so far, from the configuration, Consul and the LB. */
  serviceNames(): string[] {
    return [...this.services.keys()];
  }

  /** The instance name for an ip:port, also after it left Consul. */
  instanceFor(address: string): string | undefined {
    return this.names.get(address);
  }

  /** The revision of the instance at `address`, when its registration named one. */
  revisionFor(address: string): string | undefined {
    return this.revisions.get(address);
  }

  /** Whether every service has had its first answer from Consul and the LB has answered. */
  ready(): boolean {
    return this.lbReachable !== undefined && [...this.services.values()].every((s) => s.seenHealth);
  }

  applyHealth(service: string, list: ServiceHealth[], now: number): WatchEvent[] {
    const s = this.service(service);
    const events: WatchEvent[] = [];
    if (this.consulReachable === false) {
      events.push({ t: now, kind: "consul-reachable", message: "Consul answers again" });
    }
    this.consulReachable = true;
    const initial = !s.seenHealth;
    s.seenHealth = true;
    const next = new Map<string, Instance>();
    for (const h of list) {
      const address = `${h.address}:${h.port}`;
      const name = h.meta[META.instance] ?? h.id;
      const revision = h.meta[META.revision] ?? null;
      this.names.set(address, name);
      if (revision) this.revisions.set(address, revision);
      const prev = s.instances.get(h.id);
      if (!prev) {
        const inst: Instance = {
          id: h.id,
          name,
          address,
          health: h.status,
          ...ageOrigin(h.meta, now),
          revision,
        };
        next.set(h.id, inst);
        s.gone.delete(h.id);
        if (!initial) {
          events.push({
            t: now,
            kind: "registered",
            service,
            instance: name,
            address,
            message: `${name} registered at ${address} (${h.status})`,
          });
        }
        continue;
      }
      next.set(h.id, { ...prev, name, address, health: h.status, revision });
      if (prev.health !== h.status) {
        events.push({
          t: now,
          kind: h.status === "passing" ? "healthy" : "unhealthy",
          service,
          instance: name,
          address,
          message: `${name} ${prev.health} -> ${h.status}`,
        });
      }
    }
    for (const [id, prev] of s.instances) {
      if (next.has(id)) continue;
      s.gone.set(id, { ...prev, health: "deregistered", goneAt: now });
      events.push({
        t: now,
        kind: "deregistered",
        service,
        instance: prev.name,
        address: prev.address,
        message: `${prev.name} deregistered (${prev.address})`,
      });
    }
    s.instances = next;
    events.push(...this.checkSync(s, now));
    return events;
  }

  consulError(message: string, now: number): WatchEvent[] {
    if (this.consulReachable === false) return [];
    this.consulReachable = false;
    return [{ t: now, kind: "consul-unreachable", message: `Consul does not answer: ${message}` }];
  }

  applyRoutes(routes: LbRoutes, now: number): WatchEvent[] {
    const events: WatchEvent[] = [];
    if (this.lbReachable === false) {
      events.push({ t: now, kind: "lb-reachable", message: "the LB answers again" });
    }
    this.lbReachable = true;
    this.defaultService = routes.default;
    if (this.rendered !== undefined && routes.rendered !== this.rendered) {
      this.reloads++;
      this.lastReloadAt = now;
      events.push({
        t: now,
        kind: "lb-reloaded",
        message: `LB reloaded its config (rendered ${routes.rendered})`,
      });
    }
    this.rendered = routes.rendered;
    for (const name of Object.keys(routes.services ?? {})) this.service(name);
    for (const s of this.services.values()) {
      const next = [...(routes.services?.[s.name] ?? [])].sort();
      const prev = s.lb;
      s.lb = next;
      if (prev) {
        const change = (kind: "lb-routed" | "lb-unrouted", address: string): WatchEvent => {
          const instance = this.names.get(address);
          const verb = kind === "lb-routed" ? "routes" : "stopped routing";
          return {
            t: now,
            kind,
            service: s.name,
            address,
            ...(instance ? { instance } : {}),
            message: `LB ${verb} ${s.name} to ${instance ? `${instance} (${address})` : address}`,
          };
        };
        for (const a of next.filter((a) => !prev.includes(a))) events.push(change("lb-routed", a));
        for (const a of prev.filter((a) => !next.includes(a)))
          events.push(change("lb-unrouted", a));
      }
      events.push(...this.checkSync(s, now));
    }
    return events;
  }

  lbError(message: string, now: number): WatchEvent[] {
    if (this.lbReachable === false) return [];
    this.lbReachable = false;
    return [{ t: now, kind: "lb-unreachable", message: `the LB does not answer: ${message}` }];
  }

  snapshot(now: number): RoutingSnapshot {
    const services: ServiceView[] = [];
    for (const s of this.services.values()) {
      for (const [id, g] of s.gone) {
        if (now - (g.goneAt ?? now) > this.keepGoneMs) s.gone.delete(id);
      }
      const lb = s.lb ?? [];
      const view = (i: Instance): InstanceView => ({
        id: i.id,
        name: i.name,
        address: i.address,
        health: i.health,
        routed: lb.includes(i.address),
        // A deregistered instance's age stops when it left.
        ageSeconds: Math.max(0, Math.floor(((i.goneAt ?? now) - i.since) / 1000)),
        ageFrom: i.ageFrom,
        revision: i.revision,
      });
      const current = [...s.instances.values()].sort(byName).map(view);
      const known = new Set(current.map((i) => i.address));
      const gone = [...s.gone.values()]
        .filter((g) => !known.has(g.address))
        .sort(byName)
        .map(view);
      for (const g of gone) known.add(g.address);
      const lbOnly: InstanceView[] = lb
        .filter((a) => !known.has(a))
        .map((address) => ({
          id: "",
          name: this.names.get(address) ?? "?",
          address,
          health: "unknown",
          routed: true,
          ageSeconds: 0,
          ageFrom: "seen",
          revision: this.revisions.get(address) ?? null,
        }));
      services.push({
        name: s.name,
        instances: [...current, ...gone, ...lbOnly],
        passing: current.filter((i) => i.health === "passing").length,
        lb: s.lb ? [...s.lb] : null,
        inSync: s.outOfSyncSince === undefined,
        outOfSyncSince: s.outOfSyncSince ?? null,
      });
    }
    services.sort(byName);
    return {
      t: now,
      services,
      lb: {
        reachable: this.lbReachable ?? null,
        rendered: this.rendered ?? null,
        defaultService: this.defaultService ?? null,
        reloads: this.reloads,
        lastReloadAt: this.lastReloadAt ?? null,
      },
      consul: { reachable: this.consulReachable ?? null },
    };
  }

  private service(name: string): Service {
    let s = this.services.get(name);
    if (!s) {
      s = { name, instances: new Map(), gone: new Map(), seenHealth: false };
      this.services.set(name, s);
    }
    return s;
  }

  /** Consul's passing set against the LB's routed set; events when agreement changes. */
  private checkSync(s: Service, now: number): WatchEvent[] {
    if (!s.seenHealth || !s.lb) return [];
    const passing = [...s.instances.values()]
      .filter((i) => i.health === "passing")
      .map((i) => i.address);
    const lb = s.lb;
    const missing = passing.filter((a) => !lb.includes(a));
    const extra = lb.filter((a) => !passing.includes(a));
    const agree = missing.length === 0 && extra.length === 0;
    if (agree && s.outOfSyncSince !== undefined) {
      const afterMs = now - s.outOfSyncSince;
      s.outOfSyncSince = undefined;
      return [
        {
          t: now,
          kind: "in-sync",
          service: s.name,
          afterMs,
          message: `${s.name}: LB and Consul agree again after ${afterMs} ms (${lb.length} routed)`,
        },
      ];
    }
    if (!agree && s.outOfSyncSince === undefined) {
      s.outOfSyncSince = now;
      const label = (a: string) => this.names.get(a) ?? a;
      const parts = [
        missing.length ? `not yet routed: ${missing.map(label).join(", ")}` : "",
        extra.length ? `still routed: ${extra.map(label).join(", ")}` : "",
      ].filter(Boolean);
      return [
        {
          t: now,
          kind: "out-of-sync",
          service: s.name,
          message: `${s.name}: LB and Consul disagree (${parts.join("; ")})`,
        },
      ];
    }
    return [];
  }
}
