// One `drcon watch` run: the request loop, the statistics and the routing tracker, wired to a
// sink that renders (plain lines, NDJSON or the live screen; the sink is the command's).
import type { WatchTarget } from "./options.js";
import { runRequestLoop } from "./request-loop.js";
import type { RoutingTracker } from "./routing.js";
import type { RoutingSnapshot, WatchEvent } from "./routing-model.js";
import {
  type RequestRecord,
  RunStats,
  type SecondBucket,
  type Summary,
  type WindowStats,
} from "./stats.js";

export interface WatchSettings {
  target: WatchTarget;
  rate: number;
  concurrency: number;
  timeoutMs: number;
  requests?: number;
  durationMs?: number;
  /** The recent window for per-instance shares and latency (ms). */
  windowMs?: number;
}

export interface StartInfo {
  t: number;
  target: WatchTarget;
  rate: number;
  concurrency: number;
  requests: number | null;
  durationMs: number | null;
}

/** What a renderer is told; every method is optional but `request`. */
export interface WatchSink {
  start?(info: StartInfo): void;
  request(record: RequestRecord): void;
  event?(event: WatchEvent): void;
  routing?(snapshot: RoutingSnapshot): void;
  /** Each completed second (and the last partial one at the end). */
  second?(bucket: SecondBucket): void;
}

/** Everything the live screen draws, at one moment. */
export interface WatchView {
  now: number;
  settings: WatchSettings;
  startedAt: number;
  total: number;
  inFlight: number;
  failed: number;
  failures: Summary["failures"];
  window: WindowStats;
  /** The last `SERIES_SECONDS` seconds, oldest first. */
  series: SecondBucket[];
  routing: RoutingSnapshot | null;
  events: WatchEvent[];
  stopping: boolean;
}

export const SERIES_SECONDS = 120;
const RECENT_EVENTS = 200;

export class WatchSession {
  readonly stats: RunStats;
  readonly events: WatchEvent[] = [];
  private stopping = false;
  /** Requests sent so far; those not yet in the statistics are in flight. */
  private sent = 0;
  private firstRouting = true;

  constructor(
    readonly settings: WatchSettings,
    private readonly sink: WatchSink,
    readonly tracker: RoutingTracker | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.stats = new RunStats(now());
  }

  /** Feeds the tracker's updates to the sink: events, then the routing table when it changed. */
  onRoutingUpdate = (events: WatchEvent[]): void => {
    for (const e of events) {
      this.events.push(e);
      this.sink.event?.(e);
    }
    if (this.events.length > RECENT_EVENTS)
      this.events.splice(0, this.events.length - RECENT_EVENTS);
    if ((events.length > 0 || this.firstRouting) && this.tracker?.model.ready()) {
      this.firstRouting = false;
      this.sink.routing?.(this.tracker.model.snapshot(this.now()));
    }
  };

  async run(signal: AbortSignal): Promise<Summary> {
    const { settings } = this;
    this.stopping = signal.aborted;
    signal.addEventListener("abort", () => {
      this.stopping = true;
    });
    this.sink.start?.({
      t: this.now(),
      target: settings.target,
      rate: settings.rate,
      concurrency: settings.concurrency,
      requests: settings.requests ?? null,
      durationMs: settings.durationMs ?? null,
    });
    if (this.tracker) {
      await this.tracker.start();
      // The routing table once, even when Consul or the LB were slow to answer.
      if (this.firstRouting) {
        this.firstRouting = false;
        this.sink.routing?.(this.tracker.model.snapshot(this.now()));
      }
    }
    // The run's clock starts with the first request, after the routing table's first answers.
    const startedAt = this.now();
    this.stats.startedAt = startedAt;

    let reported = Math.floor(startedAt / 1000) * 1000 - 1000;
    const reportSeconds = (upTo: number) => {
      for (let s = reported + 1000; s <= upTo; s += 1000) {
        this.sink.second?.(this.stats.windows.series(s, 1)[0] as SecondBucket);
        reported = s;
      }
    };
    let ticker: NodeJS.Timeout | undefined;
    const tick = () => {
      const now = this.now();
      reportSeconds(Math.floor(now / 1000) * 1000 - 1000);
      ticker = setTimeout(tick, 1000 - (now % 1000) + 5);
    };
    if (this.sink.second) ticker = setTimeout(tick, 1000 - (startedAt % 1000) + 5);

    try {
      const result = await runRequestLoop(
        {
          url: settings.target.url,
          ...(settings.target.host ? { host: settings.target.host } : {}),
          rate: settings.rate,
          concurrency: settings.concurrency,
          timeoutMs: settings.timeoutMs,
          ...(settings.requests !== undefined ? { maxRequests: settings.requests } : {}),
          ...(settings.durationMs !== undefined ? { durationMs: settings.durationMs } : {}),
          signal,
          onSent: (seq) => {
            this.sent = seq;
          },
        },
        (record) => {
          if (record.upstream) {
            const instance = this.tracker?.model.instanceFor(record.upstream);
            if (instance) record.instance = instance;
            const revision = this.tracker?.model.revisionFor(record.upstream);
            if (revision) record.revision = revision;
          }
          this.stats.record(record, this.now());
          this.sink.request(record);
        },
      );
      this.stats.cancelled = result.cancelled;
    } finally {
      if (ticker) clearTimeout(ticker);
    }
    const end = this.now();
    if (this.sink.second && this.stats.total > 0) reportSeconds(Math.floor(end / 1000) * 1000);
    return this.stats.summary(end);
  }

  /** The summary of what completed so far, for a run cut short: what is in flight is cancelled. */
  summarySoFar(now = this.now()): Summary {
    this.stats.cancelled = Math.max(0, this.sent - this.stats.total);
    return this.stats.summary(now);
  }

  view(now = this.now()): WatchView {
    const windowMs = this.settings.windowMs ?? 10_000;
    return {
      now,
      settings: this.settings,
      startedAt: this.stats.startedAt,
      total: this.stats.total,
      inFlight: Math.max(0, this.sent - this.stats.total),
      failed: this.stats.failed,
      failures: { ...this.stats.failures },
      window: this.stats.windows.window(now, windowMs),
      series: this.stats.windows.series(now, SERIES_SECONDS),
      routing: this.tracker?.model.snapshot(now) ?? null,
      events: this.events,
      stopping: this.stopping,
    };
  }
}
