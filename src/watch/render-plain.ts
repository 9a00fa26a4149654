// `drcon watch` as plain lines, for logs and pipes (pure: one value in, text out).
import { naturalCompare } from "../base/order.js";
import { elapsed } from "../base/time.js";
import { clock, failureList, millis, percent } from "./format.js";
import type { RoutingSnapshot, WatchEvent } from "./routing-model.js";
import type { StartInfo } from "./session.js";
import {
  FAILURE_LABELS,
  percentiles,
  type RequestRecord,
  type SecondBucket,
  type Summary,
} from "./stats.js";

export function plainStart(info: StartInfo): string {
  const until =
    info.requests !== null
      ? `${info.requests} requests`
      : info.durationMs !== null
        ? elapsed(info.durationMs)
        : "Ctrl-C";
  return `watching ${info.target.label} at ${info.rate}/s (concurrency ${info.concurrency}) until ${until}`;
}

/** `12:00:01.234  #17  200  3.2 ms  drcon-simple-2` or `... #18  FAIL connection refused ...`. */
export function plainRequest(r: RequestRecord): string {
  const head = `${clock(r.t)}  #${r.seq}`;
  const latency = millis(r.latencyMs);
  const who = r.instance ?? r.upstream ?? "-";
  if (!r.failure) return `${head}  ${r.status}  ${latency}  ${who}`;
  const detail = r.status !== undefined ? `${r.status}` : (r.error ?? "");
  return `${head}  FAIL ${FAILURE_LABELS[r.failure]} (${detail})  ${latency}  ${who}`;
}

/** One completed second: `12:00:01  500 req  2 failed (refused 2)  p50 1.2 ms  p99 4 ms  a 250, b 250`. */
export function plainSecond(b: SecondBucket): string {
  const p = percentiles(b.latencies);
  const failed = b.failed > 0 ? `${b.failed} failed (${failureList(b.failures)})` : "0 failed";
  const instances = Object.entries(b.perInstance)
    .sort(([a], [c]) => naturalCompare(a, c))
    .map(([name, n]) => `${name} ${n}`)
    .join(", ");
  return `${clock(b.second, false)}  ${b.total} req  ${failed}  p50 ${millis(p.p50)}  p99 ${millis(p.p99)}${instances ? `  ${instances}` : ""}`;
}

export function plainEvent(e: WatchEvent): string {
  return `${clock(e.t)}  event  ${e.kind}  ${e.message}`;
}

/** The routing table in a few lines: per service, its instances and what the LB routes. */
export function plainRouting(s: RoutingSnapshot): string {
  const lines: string[] = [];
  for (const svc of s.services) {
    const instances = svc.instances
      .map(
        (i) =>
          `${i.name} ${i.address} ${i.health}${i.routed ? " routed" : ""}${i.revision ? ` ${i.revision}` : ""}`,
      )
      .join("; ");
    const sync = svc.lb === null ? "LB unknown" : svc.inSync ? "in sync" : "LB and Consul disagree";
    lines.push(
      `${clock(s.t)}  routing  ${svc.name}: ${svc.passing} passing, ${svc.lb?.length ?? 0} routed, ${sync}${instances ? ` | ${instances}` : ""}`,
    );
  }
  return lines.join("\n");
}

export function plainSummary(s: Summary): string {
  const lines = [
    "",
    `Summary: ${s.total} requests in ${(s.durationMs / 1000).toFixed(1)} s (${s.ratePerSec}/s), ${s.ok} ok, ${s.failed} failed, ${percent(s.ok, s.total)} success`,
  ];
  const failures = failureList(s.failures);
  if (failures) lines.push(`  failed by kind: ${failures}`);
  lines.push(
    `  latency: p50 ${millis(s.latencyMs.p50)}, p95 ${millis(s.latencyMs.p95)}, p99 ${millis(s.latencyMs.p99)}, max ${millis(s.latencyMs.max)}`,
  );
  const served = Object.entries(s.perInstance);
  if (served.length > 0) {
    const width = Math.max(...served.map(([name]) => name.length));
    lines.push("  requests per instance:");
    for (const [name, n] of served) {
      lines.push(`    ${name.padEnd(width)}  ${String(n).padStart(6)}  ${percent(n, s.total)}`);
    }
  } else {
    lines.push("  no instance served a request");
  }
  const revisions = Object.entries(s.perRevision)
    .map(([revision, n]) => `${revision} ${n} (${percent(n, s.total)})`)
    .join(", ");
  if (revisions) lines.push(`  requests per revision: ${revisions}`);
  if (s.cancelled > 0) lines.push(`  ${s.cancelled} in flight at Ctrl-C, not counted`);
  return lines.join("\n");
}
