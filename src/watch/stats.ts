// Statistics of `drcon watch` (pure: no I/O, time passed in): failure classification,
// percentiles, per-second windows and the run's summary.
import { naturalCompare } from "../base/order.js";
import { NO_INSTANCE_TEXT } from "../contract.js";

/** Why a request failed; `undefined` for a request that succeeded (status < 400). */
export type FailureKind = "refused" | "reset" | "timeout" | "no-instance" | "5xx" | "4xx" | "other";

export const FAILURE_KINDS: readonly FailureKind[] = [
  "refused",
  "reset",
  "timeout",
  "no-instance",
  "5xx",
  "4xx",
  "other",
];

export const FAILURE_LABELS: Record<FailureKind, string> = {
  refused: "connection refused",
  reset: "connection reset",
  timeout: "timeout",
  "no-instance": "503 no instance",
  "5xx": "5xx",
  "4xx": "4xx",
  other: "error",
};

/** One request through the LB, as the request loop saw it. */
export interface RequestRecord {
  /** 1-based, in the order requests were sent. */
  seq: number;
  /** When it was sent (epoch ms). */
  t: number;
  latencyMs: number;
  /** HTTP status, or undefined when no response came. */
  status?: number;
  /** The `X-Drcon-Upstream` header: the ip:port that served it. */
  upstream?: string;
  /** The instance's name (Consul's `drcon_instance` meta), when known. */
  instance?: string;
  /** The instance's revision (Consul's `drcon_revision` meta), when known. */
  revision?: string;
  failure?: FailureKind;
  /** The error code or message of a failure, e.g. ECONNREFUSED. */
  error?: string;
}

/** A failure kind for an HTTP answer, undefined when it counts as success. */
export function classifyResponse(status: number, body = ""): FailureKind | undefined {
  // The LB's text when a service has no healthy instance (templates/lb renders it).
  if (status === 503 && body.includes(NO_INSTANCE_TEXT)) return "no-instance";
  if (status >= 500) return "5xx";
  if (status >= 400) return "4xx";
  return undefined;
}

/** A failure kind for a request that got no HTTP answer at all. */
export function classifyError(err: { code?: string; message?: string }): FailureKind {
  const code = err.code ?? "";
  const message = err.message ?? "";
  if (code === "ECONNREFUSED") return "refused";
  if (code === "ECONNRESET" || code === "EPIPE" || /socket hang up/i.test(message)) return "reset";
  if (code === "ETIMEDOUT" || code === "ESOCKETTIMEDOUT" || /timed? ?out/i.test(message)) {
    return "timeout";
  }
  return "other";
}

/**
 * The instance that answered, from `X-Drcon-Upstream`. nginx reports every upstream it tried
 * ("a:80, b:80" or "a:80 : b:80" after an internal redirect); the last one answered.
 */
export function servedBy(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[header.length - 1] : header;
  if (!value) return undefined;
  const last = value
    .split(/\s*,\s*|\s+:\s+/)
    .pop()
    ?.trim();
  return last && last !== "-" ? last : undefined;
}

/**
 * The p-th percentile (0..100) of ascending `sorted` values by the nearest-rank method: the
 * smallest value that at least p% of the values are less than or equal to. Undefined when empty.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  if (p <= 0) return sorted[0];
  if (p >= 100) return sorted[sorted.length - 1];
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export interface Percentiles {
  p50: number | undefined;
  p95: number | undefined;
  p99: number | undefined;
}

export function percentiles(values: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

/**
 * Latencies of a whole run in bounded memory: every value up to `capacity`, then a uniform
 * random sample of that size (reservoir sampling, Vitter's algorithm R), so that an hour at
 * 5000/s does not hold 18 million numbers. Percentiles are exact until the reservoir fills.
 */
export class LatencyReservoir {
  private values: Float64Array;
  private size = 0;
  private seen = 0;
  private maxValue = 0;

  constructor(
    private readonly capacity = 1_000_000,
    private readonly random: () => number = Math.random,
  ) {
    this.values = new Float64Array(Math.min(capacity, 1024));
  }

  add(value: number): void {
    this.seen++;
    if (value > this.maxValue) this.maxValue = value;
    if (this.size < this.capacity) {
      if (this.size === this.values.length) {
        const grown = new Float64Array(Math.min(this.capacity, this.values.length * 2));
        grown.set(this.values);
        this.values = grown;
      }
      this.values[this.size++] = value;
      return;
    }
    const slot = Math.floor(this.random() * this.seen);
    if (slot < this.capacity) this.values[slot] = value;
  }

  get max(): number | undefined {
    return this.seen === 0 ? undefined : this.maxValue;
  }

  percentiles(): Percentiles {
    return percentiles(this.values.subarray(0, this.size));
  }
}

/** The counts of a span of traffic. */
interface TrafficCounts {
  total: number;
  failed: number;
  failures: Partial<Record<FailureKind, number>>;
  perInstance: Record<string, number>;
}

/** What one second of traffic held. */
export interface SecondBucket extends TrafficCounts {
  /** Start of the second (epoch ms, a multiple of 1000). */
  second: number;
  latencies: number[];
}

function emptyBucket(second: number): SecondBucket {
  return { second, total: 0, failed: 0, failures: {}, perInstance: {}, latencies: [] };
}

/**
 * The last `keepSeconds` seconds of traffic in one bucket per second, keyed on when each
 * request completed: requests/s, errors/s, per-instance shares and latency of a recent window.
 */
export class SecondWindows {
  private readonly buckets: SecondBucket[] = [];

  constructor(
    private readonly keepSeconds = 120,
    /** Latencies kept per second for the window percentiles; beyond it, every n-th. */
    private readonly latenciesPerSecond = 2000,
  ) {}

  record(doneAt: number, r: RequestRecord): void {
    const second = Math.floor(doneAt / 1000) * 1000;
    // A clock step backwards lands in the newest second rather than being lost.
    let bucket = this.buckets[this.buckets.length - 1];
    if (!bucket || bucket.second < second) {
      bucket = emptyBucket(second);
      this.buckets.push(bucket);
      while (this.buckets.length > this.keepSeconds) this.buckets.shift();
    }
    bucket.total++;
    if (r.failure) {
      bucket.failed++;
      bucket.failures[r.failure] = (bucket.failures[r.failure] ?? 0) + 1;
    }
    const who = r.instance ?? r.upstream;
    if (who) bucket.perInstance[who] = (bucket.perInstance[who] ?? 0) + 1;
    if (bucket.latencies.length < this.latenciesPerSecond) bucket.latencies.push(r.latencyMs);
  }

  /** One bucket per second for the `count` seconds up to and including `now`'s, oldest first. */
  series(now: number, count: number): SecondBucket[] {
    const last = Math.floor(now / 1000) * 1000;
    const out: SecondBucket[] = [];
    for (let i = count - 1; i >= 0; i--) {
      const second = last - i * 1000;
      out.push(this.buckets.find((b) => b.second === second) ?? emptyBucket(second));
    }
    return out;
  }

  /** Totals over the last `windowMs` (whole seconds, the current partial one included). */
  window(now: number, windowMs: number): WindowStats {
    const seconds = Math.max(1, Math.ceil(windowMs / 1000));
    const buckets = this.series(now, seconds);
    const perInstance: Record<string, number> = {};
    const failures: Partial<Record<FailureKind, number>> = {};
    let total = 0;
    let failed = 0;
    const latencies: number[] = [];
    for (const b of buckets) {
      total += b.total;
      failed += b.failed;
      for (const [k, n] of Object.entries(b.perInstance))
        perInstance[k] = (perInstance[k] ?? 0) + n;
      for (const [k, n] of Object.entries(b.failures)) {
        failures[k as FailureKind] = (failures[k as FailureKind] ?? 0) + (n ?? 0);
      }
      latencies.push(...b.latencies);
    }
    return { seconds, total, failed, failures, perInstance, latency: percentiles(latencies) };
  }
}

export interface WindowStats extends TrafficCounts {
  seconds: number;
  latency: Percentiles;
}

export interface Summary {
  total: number;
  ok: number;
  failed: number;
  /** Every kind, zeros included, so that a script can read any of them. */
  failures: Record<FailureKind, number>;
  /** 100 when nothing was sent. */
  successPct: number;
  /** Over every completed request, failures included (a timeout is latency a user saw). */
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  /** Requests each instance served (by name, or ip:port when Consul did not name it). */
  perInstance: Record<string, number>;
  /** Requests each revision served (instances whose registration names one). */
  perRevision: Record<string, number>;
  /** Requests that were in flight when the run was cut short by Ctrl-C, not counted. */
  cancelled: number;
  durationMs: number;
  /** Requests sent per second, from the first request to the last. */
  ratePerSec: number;
}

/** The whole run's counts: what the summary reports. */
export class RunStats {
  readonly latencies: LatencyReservoir;
  readonly windows: SecondWindows;
  total = 0;
  failed = 0;
  cancelled = 0;
  readonly failures: Record<FailureKind, number> = Object.fromEntries(
    FAILURE_KINDS.map((k) => [k, 0]),
  ) as Record<FailureKind, number>;
  readonly perInstance: Record<string, number> = {};
  readonly perRevision: Record<string, number> = {};
  private firstSent = Number.POSITIVE_INFINITY;
  private lastSent = Number.NEGATIVE_INFINITY;

  constructor(
    /** When the run began (epoch ms): the start of its duration and rate. */
    public startedAt: number,
    options: { reservoir?: LatencyReservoir; windows?: SecondWindows } = {},
  ) {
    this.latencies = options.reservoir ?? new LatencyReservoir();
    this.windows = options.windows ?? new SecondWindows();
  }

  record(r: RequestRecord, doneAt = r.t + r.latencyMs): void {
    this.total++;
    if (r.failure) {
      this.failed++;
      this.failures[r.failure]++;
    }
    const who = r.instance ?? r.upstream;
    if (who) this.perInstance[who] = (this.perInstance[who] ?? 0) + 1;
    if (r.revision) this.perRevision[r.revision] = (this.perRevision[r.revision] ?? 0) + 1;
    this.firstSent = Math.min(this.firstSent, r.t);
    this.lastSent = Math.max(this.lastSent, r.t);
    this.latencies.add(r.latencyMs);
    this.windows.record(doneAt, r);
  }

  /** Requests sent per second: n requests span n - 1 intervals from the first to the last. */
  private sendRate(): number {
    const span = this.lastSent - this.firstSent;
    return this.total > 1 && span > 0 ? round((this.total - 1) / (span / 1000), 1) : 0;
  }

  summary(now: number): Summary {
    const p = this.latencies.percentiles();
    const durationMs = Math.max(0, now - this.startedAt);
    return {
      total: this.total,
      ok: this.total - this.failed,
      failed: this.failed,
      failures: { ...this.failures },
      successPct:
        this.total === 0 ? 100 : round(((this.total - this.failed) / this.total) * 100, 2),
      latencyMs: {
        p50: roundOrNull(p.p50),
        p95: roundOrNull(p.p95),
        p99: roundOrNull(p.p99),
        max: roundOrNull(this.latencies.max),
      },
      perInstance: sortedRecord(this.perInstance),
      perRevision: sortedRecord(this.perRevision),
      cancelled: this.cancelled,
      durationMs: Math.round(durationMs),
      ratePerSec: this.sendRate(),
    };
  }
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function roundOrNull(value: number | undefined): number | null {
  return value === undefined ? null : round(value, 2);
}

/** Keys in natural order (simple-2 before simple-10). */
export function sortedRecord(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => naturalCompare(a, b)));
}
