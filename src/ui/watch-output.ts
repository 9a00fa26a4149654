// Where `drcon watch` output goes when it is not the live screen: plain lines or NDJSON.
import {
  jsonEvent,
  jsonRequest,
  jsonRouting,
  jsonStart,
  jsonSummary,
} from "../watch/render-json.js";
import {
  plainEvent,
  plainRequest,
  plainRouting,
  plainSecond,
  plainStart,
  plainSummary,
} from "../watch/render-plain.js";
import type { WatchSink } from "../watch/session.js";
import type { SecondBucket, Summary } from "../watch/stats.js";

export interface OutputSink extends WatchSink {
  summary(summary: Summary): void;
}

/** One line per request, or per second when `perRequest` is false (high rates), and events. */
export function plainSink(write: (line: string) => void, perRequest: boolean): OutputSink {
  return {
    start: (info) => write(plainStart(info)),
    request: (r) => {
      if (perRequest) write(plainRequest(r));
    },
    ...(perRequest ? {} : { second: (b: SecondBucket) => write(plainSecond(b)) }),
    event: (e) => write(plainEvent(e)),
    routing: (s) => write(plainRouting(s)),
    summary: (s) => write(plainSummary(s)),
  };
}

/** NDJSON: every line one object with a `type`; nothing else on stdout. */
export function jsonSink(write: (line: string) => void, stack: string | null): OutputSink {
  return {
    start: (info) => write(jsonStart(info, stack)),
    request: (r) => write(jsonRequest(r)),
    event: (e) => write(jsonEvent(e)),
    routing: (s) => write(jsonRouting(s)),
    summary: (s) => write(jsonSummary(s)),
  };
}
