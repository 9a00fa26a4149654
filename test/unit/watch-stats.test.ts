import { describe, expect, it } from "vitest";
import {
  classifyError,
  classifyResponse,
  LatencyReservoir,
  percentile,
  percentiles,
  type RequestRecord,
  RunStats,
  SecondWindows,
  servedBy,
} from "../../src/watch/stats.js";

describe("percentile (nearest rank)", () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  it("is undefined for no values", () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentiles([])).toEqual({ p50: undefined, p95: undefined, p99: undefined });
  });

  it("is the value itself for one value, at any p", () => {
    for (const p of [0, 1, 50, 99, 100]) expect(percentile([7], p)).toBe(7);
  });

  it("takes the smallest value that p% of values are at or below", () => {
    expect(percentile(ten, 50)).toBe(5);
    expect(percentile(ten, 51)).toBe(6);
    expect(percentile(ten, 90)).toBe(9);
    expect(percentile(ten, 95)).toBe(10);
    expect(percentile(ten, 99)).toBe(10);
    expect(percentile([1, 2], 50)).toBe(1);
    expect(percentile([1, 2, 3], 50)).toBe(2);
  });

  it("clamps p to the minimum and the maximum", () => {
    expect(percentile(ten, 0)).toBe(1);
    expect(percentile(ten, -5)).toBe(1);
    expect(percentile(ten, 100)).toBe(10);
    expect(percentile(ten, 250)).toBe(10);
  });

  it("percentiles() sorts numerically, not as strings", () => {
    const values = [100, 9, 20, 3, 1000, 1, 50, 7, 2, 10];
    expect(percentiles(values)).toEqual({ p50: 9, p95: 1000, p99: 1000 });
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(hundred)).toEqual({ p50: 50, p95: 95, p99: 99 });
  });
});

describe("LatencyReservoir", () => {
  it("is exact below its capacity", () => {
    const r = new LatencyReservoir(1000);
    for (let i = 1; i <= 200; i++) r.add(i);
    expect(r.max).toBe(200);
    expect(r.percentiles()).toEqual({ p50: 100, p95: 190, p99: 198 });
  });

  it("keeps a bounded uniform sample beyond it; max stays exact", () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const r = new LatencyReservoir(1000, random);
    for (let i = 1; i <= 100_000; i++) r.add(i);
    expect(r.max).toBe(100_000);
    const p = r.percentiles();
    // A 1000-value sample of 1..100000: within a few percent of the true percentiles.
    expect(Math.abs((p.p50 ?? 0) - 50_000)).toBeLessThan(5_000);
    expect(Math.abs((p.p95 ?? 0) - 95_000)).toBeLessThan(3_000);
  });

  it("reports nothing when empty", () => {
    const r = new LatencyReservoir();
    expect(r.max).toBeUndefined();
    expect(r.percentiles().p50).toBeUndefined();
  });
});

describe("failure classification", () => {
  it("tells the LB's 503 for a service without instances from other 5xx", () => {
    expect(classifyResponse(503, 'no healthy instance of service "simple"\n')).toBe("no-instance");
    expect(classifyResponse(503, "Service Unavailable")).toBe("5xx");
    expect(classifyResponse(502)).toBe("5xx");
    expect(classifyResponse(504)).toBe("5xx");
    expect(classifyResponse(404)).toBe("4xx");
    expect(classifyResponse(200)).toBeUndefined();
    expect(classifyResponse(301)).toBeUndefined();
  });

  it("names connection errors by their code", () => {
    expect(classifyError({ code: "ECONNREFUSED", message: "connect ECONNREFUSED" })).toBe(
      "refused",
    );
    expect(classifyError({ code: "ECONNRESET", message: "read ECONNRESET" })).toBe("reset");
    expect(classifyError({ code: "EPIPE" })).toBe("reset");
    expect(classifyError({ message: "socket hang up" })).toBe("reset");
    expect(classifyError({ code: "ETIMEDOUT" })).toBe("timeout");
    expect(classifyError({ message: "request timed out" })).toBe("timeout");
    expect(classifyError({ code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND x" })).toBe("other");
    expect(classifyError({})).toBe("other");
  });
});

describe("servedBy", () => {
  it("takes the last instance nginx tried", () => {
    expect(servedBy("172.18.0.5:80")).toBe("172.18.0.5:80");
    expect(servedBy("172.18.0.5:80, 172.18.0.6:80")).toBe("172.18.0.6:80");
    expect(servedBy("172.18.0.5:80 : 172.18.0.7:80")).toBe("172.18.0.7:80");
    expect(servedBy(["a:1", "b:2"])).toBe("b:2");
  });

  it("is undefined without an upstream", () => {
    expect(servedBy(undefined)).toBeUndefined();
    expect(servedBy("")).toBeUndefined();
    expect(servedBy("-")).toBeUndefined();
  });
});

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const rec = (seq: number, t: number, extra: Partial<RequestRecord> = {}): RequestRecord => ({
  seq,
  t,
  latencyMs: 2,
  status: 200,
  ...extra,
});

describe("SecondWindows", () => {
  it("buckets requests by the second they completed in", () => {
    const w = new SecondWindows();
    w.record(T0 + 100, rec(1, T0, { instance: "a" }));
    w.record(T0 + 900, rec(2, T0, { instance: "b" }));
    w.record(T0 + 1500, rec(3, T0, { instance: "a", failure: "5xx", status: 502 }));
    const series = w.series(T0 + 2500, 3);
    expect(series.map((b) => [b.second - T0, b.total, b.failed])).toEqual([
      [0, 2, 0],
      [1000, 1, 1],
      [2000, 0, 0],
    ]);
  });

  it("sums a window of whole seconds, per instance and per failure kind", () => {
    const w = new SecondWindows();
    for (let s = 0; s < 20; s++) {
      w.record(T0 + s * 1000, rec(s, T0, { instance: s % 2 ? "a" : "b", latencyMs: s }));
    }
    w.record(T0 + 19_500, rec(99, T0, { failure: "refused", status: undefined }));
    const win = w.window(T0 + 19_999, 10_000);
    expect(win.seconds).toBe(10);
    expect(win.total).toBe(11);
    expect(win.failed).toBe(1);
    expect(win.failures).toEqual({ refused: 1 });
    expect(win.perInstance).toEqual({ a: 5, b: 5 });
    expect(win.latency.p50).toBe(14);
  });

  it("forgets seconds older than it keeps", () => {
    const w = new SecondWindows(5);
    for (let s = 0; s < 10; s++) w.record(T0 + s * 1000, rec(s, T0));
    expect(w.window(T0 + 9000, 10_000).total).toBe(5);
  });

  it("counts by upstream address when the instance has no name", () => {
    const w = new SecondWindows();
    w.record(T0, rec(1, T0, { upstream: "10.0.0.1:80" }));
    expect(w.window(T0, 1000).perInstance).toEqual({ "10.0.0.1:80": 1 });
  });
});

describe("RunStats", () => {
  it("summarises totals, failures by kind, latency and requests per instance", () => {
    const stats = new RunStats(T0);
    let seq = 0;
    for (let i = 0; i < 90; i++) {
      stats.record(
        rec(++seq, T0 + i * 10, { instance: `simple-${(i % 3) + 1}`, latencyMs: i + 1 }),
      );
    }
    for (let i = 0; i < 10; i++) {
      stats.record(
        rec(++seq, T0 + 900 + i * 10, {
          status: undefined,
          failure: i < 7 ? "refused" : "no-instance",
          latencyMs: 100,
        }),
      );
    }
    const s = stats.summary(T0 + 1000);
    expect(s.total).toBe(100);
    expect(s.ok).toBe(90);
    expect(s.failed).toBe(10);
    expect(s.successPct).toBe(90);
    expect(s.failures).toEqual({
      refused: 7,
      reset: 0,
      timeout: 0,
      "no-instance": 3,
      "5xx": 0,
      "4xx": 0,
      other: 0,
    });
    expect(s.perInstance).toEqual({ "simple-1": 30, "simple-2": 30, "simple-3": 30 });
    expect(s.latencyMs).toEqual({ p50: 50, p95: 100, p99: 100, max: 100 });
    expect(s.durationMs).toBe(1000);
    // 100 requests sent 10 ms apart: 99 intervals in 990 ms.
    expect(s.ratePerSec).toBe(100);
  });

  it("orders instances naturally and reports an empty run sensibly", () => {
    const stats = new RunStats(T0);
    expect(stats.summary(T0)).toMatchObject({
      total: 0,
      successPct: 100,
      ratePerSec: 0,
      latencyMs: { p50: null, p95: null, p99: null, max: null },
      perInstance: {},
    });
    stats.record(rec(1, T0, { instance: "s-10" }));
    stats.record(rec(2, T0, { instance: "s-2" }));
    expect(Object.keys(stats.summary(T0).perInstance)).toEqual(["s-2", "s-10"]);
  });
});
