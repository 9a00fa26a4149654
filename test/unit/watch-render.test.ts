import { describe, expect, it } from "vitest";
import {
  clock,
  failureList,
  millis,
  percent,
  shareBar,
  sparkline,
} from "../../src/watch/format.js";
import {
  jsonEvent,
  jsonRequest,
  jsonRouting,
  jsonStart,
  jsonSummary,
} from "../../src/watch/render-json.js";
import {
  plainEvent,
  plainRequest,
  plainRouting,
  plainSecond,
  plainStart,
  plainSummary,
} from "../../src/watch/render-plain.js";
import type { RoutingSnapshot, WatchEvent } from "../../src/watch/routing-model.js";
import type { StartInfo } from "../../src/watch/session.js";
import { RunStats, type Summary } from "../../src/watch/stats.js";

// Local time, so that clock() reads the same wherever the tests run.
const T0 = new Date(2026, 0, 1, 12, 0, 1, 234).getTime();

const summary: Summary = (() => {
  const s = new RunStats(T0);
  s.record({
    seq: 1,
    t: T0,
    latencyMs: 1.5,
    status: 200,
    instance: "drcon-simple-1",
    revision: "1.11.0-aaaaaaa",
  });
  s.record({ seq: 2, t: T0 + 10, latencyMs: 2.5, status: 200, instance: "drcon-simple-2" });
  s.record({ seq: 3, t: T0 + 20, latencyMs: 0.4, failure: "refused", error: "ECONNREFUSED" });
  s.record({
    seq: 4,
    t: T0 + 30,
    latencyMs: 3,
    status: 503,
    failure: "no-instance",
    error: "HTTP 503",
  });
  return s.summary(T0 + 2000);
})();

const snapshot: RoutingSnapshot = {
  t: T0,
  services: [
    {
      name: "simple",
      passing: 1,
      lb: ["172.18.0.5:80", "172.18.0.6:80"],
      inSync: false,
      outOfSyncSince: T0 - 200,
      instances: [
        {
          id: "s1:80",
          name: "drcon-simple-1",
          address: "172.18.0.5:80",
          health: "passing",
          routed: true,
          ageSeconds: 61,
          ageFrom: "seen",
          revision: "1.11.0-aaaaaaa",
        },
        {
          id: "s2:80",
          name: "drcon-simple-2",
          address: "172.18.0.6:80",
          health: "deregistered",
          routed: true,
          ageSeconds: 12,
          ageFrom: "seen",
          revision: null,
        },
      ],
    },
  ],
  lb: {
    reachable: true,
    rendered: "2026-01-01T12:00:00Z",
    defaultService: "simple",
    reloads: 2,
    lastReloadAt: T0 - 1000,
  },
  consul: { reachable: true },
};

const event: WatchEvent = {
  t: T0,
  kind: "deregistered",
  service: "simple",
  instance: "drcon-simple-2",
  address: "172.18.0.6:80",
  message: "drcon-simple-2 deregistered (172.18.0.6:80)",
};

const start: StartInfo = {
  t: T0,
  target: {
    url: "http://127.0.0.1:8080/",
    service: "simple",
    label: "http://127.0.0.1:8080/ (default service simple)",
  },
  rate: 50,
  concurrency: 50,
  requests: 60,
  durationMs: null,
};

describe("format helpers", () => {
  it("formats times, latencies and durations", () => {
    expect(clock(T0)).toBe("12:00:01.234");
    expect(clock(T0, false)).toBe("12:00:01");
    expect(millis(0.123)).toBe("0.12 ms");
    expect(millis(3.14)).toBe("3.1 ms");
    expect(millis(250.4)).toBe("250 ms");
    expect(millis(1250)).toBe("1.25 s");
    expect(millis(null)).toBe("-");
  });

  it("draws sparklines that show any non-zero value and nothing for zero", () => {
    expect(sparkline([0, 1, 4, 8])).toBe(" ▁▄█");
    expect(sparkline([1, 1000])).toBe("▁█");
    expect(sparkline([0, 0])).toBe("  ");
    expect(sparkline([5], 10)).toBe("▄");
    expect(sparkline([])).toBe("");
  });

  it("draws shares and percentages", () => {
    expect(shareBar(1, 3)).toBe("███░░░░░░░  33%");
    expect(shareBar(0, 0)).toBe("░░░░░░░░░░   0%");
    expect(percent(999, 1000)).toBe("99.9%");
    expect(percent(9999, 10000)).toBe("99.9%");
    expect(percent(10, 10)).toBe("100%");
    expect(percent(0, 0)).toBe("-");
    expect(failureList({ refused: 2, "no-instance": 1, timeout: 0 })).toBe(
      "connection refused 2, 503 no instance 1",
    );
  });
});

describe("plain renderer", () => {
  it("says where requests go and until when", () => {
    expect(plainStart(start)).toBe(
      "watching http://127.0.0.1:8080/ (default service simple) at 50/s (concurrency 50) until 60 requests",
    );
    expect(plainStart({ ...start, requests: null, durationMs: 90_000 })).toContain("until 1m30s");
    expect(plainStart({ ...start, requests: null })).toContain("until Ctrl-C");
  });

  it("prints a request per line: time, number, status, latency, instance", () => {
    expect(
      plainRequest({
        seq: 17,
        t: T0,
        latencyMs: 3.21,
        status: 200,
        upstream: "172.18.0.5:80",
        instance: "drcon-simple-1",
      }),
    ).toBe("12:00:01.234  #17  200  3.2 ms  drcon-simple-1");
    expect(
      plainRequest({ seq: 18, t: T0, latencyMs: 0.5, failure: "refused", error: "ECONNREFUSED" }),
    ).toBe("12:00:01.234  #18  FAIL connection refused (ECONNREFUSED)  0.50 ms  -");
    expect(
      plainRequest({
        seq: 19,
        t: T0,
        latencyMs: 2,
        status: 503,
        failure: "no-instance",
        error: "HTTP 503",
      }),
    ).toBe("12:00:01.234  #19  FAIL 503 no instance (503)  2.0 ms  -");
  });

  it("prints a second per line at high rates", () => {
    const line = plainSecond({
      second: new Date(2026, 0, 1, 12, 0, 1).getTime(),
      total: 500,
      failed: 2,
      failures: { refused: 2 },
      perInstance: { "drcon-simple-2": 249, "drcon-simple-1": 249 },
      latencies: [1, 2, 3, 4],
    });
    expect(line).toBe(
      "12:00:01  500 req  2 failed (connection refused 2)  p50 2.0 ms  p99 4.0 ms  drcon-simple-1 249, drcon-simple-2 249",
    );
  });

  it("prints events and the routing table", () => {
    expect(plainEvent(event)).toBe(
      "12:00:01.234  event  deregistered  drcon-simple-2 deregistered (172.18.0.6:80)",
    );
    expect(plainRouting(snapshot)).toBe(
      "12:00:01.234  routing  simple: 1 passing, 2 routed, LB and Consul disagree | drcon-simple-1 172.18.0.5:80 passing routed 1.11.0-aaaaaaa; drcon-simple-2 172.18.0.6:80 deregistered routed",
    );
  });

  it("ends with a summary of totals, failures, latency and instances", () => {
    const text = plainSummary(summary);
    expect(text).toContain("Summary: 4 requests in 2.0 s (100/s), 2 ok, 2 failed, 50% success");
    expect(text).toContain("failed by kind: connection refused 1, 503 no instance 1");
    expect(text).toContain("latency: p50 1.5 ms, p95 3.0 ms, p99 3.0 ms, max 3.0 ms");
    expect(text).toMatch(/drcon-simple-1\s+1\s+25%/);
    expect(text).toMatch(/drcon-simple-2\s+1\s+25%/);
  });
});

describe("JSON renderer", () => {
  const parse = (line: string) => {
    expect(line).not.toContain("\n");
    return JSON.parse(line);
  };

  it("writes one object per line, each with its type", () => {
    expect(parse(jsonStart(start, "drcon"))).toEqual({
      type: "start",
      t: new Date(T0).toISOString(),
      stack: "drcon",
      url: "http://127.0.0.1:8080/",
      host: null,
      service: "simple",
      rate: 50,
      concurrency: 50,
      requests: 60,
      durationMs: null,
    });
    expect(
      parse(
        jsonRequest({
          seq: 1,
          t: T0,
          latencyMs: 1.23456,
          status: 200,
          upstream: "172.18.0.5:80",
          instance: "drcon-simple-1",
          revision: "1.11.0-aaaaaaa",
        }),
      ),
    ).toEqual({
      type: "request",
      seq: 1,
      t: new Date(T0).toISOString(),
      status: 200,
      ok: true,
      latencyMs: 1.23,
      instance: "drcon-simple-1",
      revision: "1.11.0-aaaaaaa",
      upstream: "172.18.0.5:80",
      failure: null,
      error: null,
    });
    expect(
      parse(jsonRequest({ seq: 2, t: T0, latencyMs: 1, failure: "timeout", error: "ETIMEDOUT" })),
    ).toMatchObject({
      status: null,
      ok: false,
      instance: null,
      failure: "timeout",
      error: "ETIMEDOUT",
    });
    expect(parse(jsonEvent(event))).toEqual({
      type: "event",
      t: new Date(T0).toISOString(),
      kind: "deregistered",
      service: "simple",
      instance: "drcon-simple-2",
      address: "172.18.0.6:80",
      afterMs: null,
      message: "drcon-simple-2 deregistered (172.18.0.6:80)",
    });
  });

  it("writes the routing table and the summary", () => {
    const routing = parse(jsonRouting(snapshot));
    expect(routing).toMatchObject({
      type: "routing",
      lb: {
        reachable: true,
        rendered: "2026-01-01T12:00:00Z",
        defaultService: "simple",
        reloads: 2,
      },
      consul: { reachable: true },
      services: [
        {
          name: "simple",
          passing: 1,
          routed: ["172.18.0.5:80", "172.18.0.6:80"],
          inSync: false,
          instances: [
            {
              name: "drcon-simple-1",
              id: "s1:80",
              address: "172.18.0.5:80",
              health: "passing",
              routed: true,
              ageSeconds: 61,
              revision: "1.11.0-aaaaaaa",
            },
            { name: "drcon-simple-2", health: "deregistered" },
          ],
        },
      ],
    });
    const s = parse(jsonSummary(summary));
    expect(s).toMatchObject({ type: "summary", total: 4, ok: 2, failed: 2, successPct: 50 });
    expect(s.failures).toMatchObject({ refused: 1, "no-instance": 1, timeout: 0 });
    expect(s.perInstance).toEqual({ "drcon-simple-1": 1, "drcon-simple-2": 1 });
    expect(s.perRevision).toEqual({ "1.11.0-aaaaaaa": 1 });
  });
});
