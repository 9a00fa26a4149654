// `drcon watch --json`: NDJSON, one object per line, each with a `type` (pure). The schema is
// documented in the README ("drcon watch"); change both together.
import type { RoutingSnapshot, WatchEvent } from "./routing-model.js";
import type { StartInfo } from "./session.js";
import { type RequestRecord, round, type Summary } from "./stats.js";

const iso = (t: number) => new Date(t).toISOString();

export function jsonStart(info: StartInfo, stack: string | null): string {
  return JSON.stringify({
    type: "start",
    t: iso(info.t),
    stack,
    url: info.target.url,
    host: info.target.host ?? null,
    service: info.target.service ?? null,
    rate: info.rate,
    concurrency: info.concurrency,
    requests: info.requests,
    durationMs: info.durationMs,
  });
}

export function jsonRequest(r: RequestRecord): string {
  return JSON.stringify({
    type: "request",
    seq: r.seq,
    t: iso(r.t),
    status: r.status ?? null,
    ok: !r.failure,
    latencyMs: round(r.latencyMs, 2),
    instance: r.instance ?? null,
    revision: r.revision ?? null,
    upstream: r.upstream ?? null,
    failure: r.failure ?? null,
    error: r.error ?? null,
  });
}

export function jsonEvent(e: WatchEvent): string {
  return JSON.stringify({
    type: "event",
    t: iso(e.t),
    kind: e.kind,
    service: e.service ?? null,
    instance: e.instance ?? null,
    address: e.address ?? null,
    afterMs: e.afterMs ?? null,
    message: e.message,
  });
}

export function jsonRouting(s: RoutingSnapshot): string {
  return JSON.stringify({
    type: "routing",
    t: iso(s.t),
    lb: {
      reachable: s.lb.reachable,
      rendered: s.lb.rendered,
      defaultService: s.lb.defaultService,
      reloads: s.lb.reloads,
    },
    consul: s.consul,
    services: s.services.map((svc) => ({
      name: svc.name,
      passing: svc.passing,
      routed: svc.lb,
      inSync: svc.inSync,
      instances: svc.instances.map((i) => ({
        name: i.name,
        id: i.id || null,
        address: i.address,
        health: i.health,
        routed: i.routed,
        ageSeconds: i.ageSeconds,
        revision: i.revision,
      })),
    })),
  });
}

export function jsonSummary(s: Summary): string {
  return JSON.stringify({ type: "summary", ...s });
}
