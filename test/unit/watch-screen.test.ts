import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { renderScreen } from "../../src/ui/watch-screen.js";
import { RoutingModel, type WatchEvent } from "../../src/watch/routing-model.js";
import { SERIES_SECONDS, type WatchView } from "../../src/watch/session.js";
import { RunStats } from "../../src/watch/stats.js";

const T0 = new Date(2026, 0, 1, 12, 0, 0).getTime();
const addr = (n: number) => `172.18.0.${n + 10}:80`;
const health = (n: number, status = "passing") => ({
  id: `drcon-simple-${n}:80`,
  service: "simple",
  address: `172.18.0.${n + 10}`,
  port: 80,
  meta: { drcon_instance: `drcon-simple-${n}` },
  status,
});

/** 30 s of 50 requests/s over three instances, then one killed: deregistered, LB not yet reloaded. */
function view(events = 3): WatchView {
  const model = new RoutingModel(["simple"]);
  model.applyHealth("simple", [health(1), health(2), health(3)], T0);
  model.applyRoutes(
    { rendered: "r1", default: "simple", services: { simple: [addr(1), addr(2), addr(3)] } },
    T0,
  );
  const evs: WatchEvent[] = model.applyHealth("simple", [health(1), health(3)], T0 + 29_800);
  for (let i = evs.length; i < events; i++) {
    evs.push({
      t: T0 + i,
      kind: "lb-reloaded",
      message: `LB reloaded its config (rendered r${i})`,
    });
  }
  const stats = new RunStats(T0);
  let seq = 0;
  for (let s = 0; s < 30; s++) {
    for (let i = 0; i < 50; i++) {
      const t = T0 + s * 1000 + i * 20;
      const failed = s === 29 && i < 5;
      stats.record(
        failed
          ? { seq: ++seq, t, latencyMs: 0.3, failure: "refused", error: "ECONNREFUSED" }
          : { seq: ++seq, t, latencyMs: 2, status: 200, instance: `drcon-simple-${(i % 3) + 1}` },
        t + 2,
      );
    }
  }
  const now = T0 + 30_000;
  return {
    now,
    settings: {
      target: {
        url: "http://127.0.0.1:8080/",
        service: "simple",
        label: "http://127.0.0.1:8080/ (default service simple)",
      },
      rate: 50,
      concurrency: 50,
      timeoutMs: 5000,
      requests: 3000,
    },
    startedAt: T0,
    total: stats.total,
    inFlight: 0,
    failed: stats.failed,
    failures: { ...stats.failures },
    window: stats.windows.window(now, 10_000),
    series: stats.windows.series(now, SERIES_SECONDS),
    routing: model.snapshot(now),
    events: evs,
    stopping: false,
  };
}

const plain = (text: string) => stripVTControlCharacters(text).split("\n");

describe("renderScreen", () => {
  it("shows the routing table, the traffic and the events", () => {
    const lines = plain(renderScreen(view(), { columns: 160, rows: 50 }));
    const text = lines.join("\n");
    expect(lines[0]).toMatch(
      /^drcon watch {2}http:\/\/127\.0\.0\.1:8080\/ \(default service simple\) {2}50\/s {2}1500\/3000 requests/,
    );
    expect(text).toContain(
      "simple (default): Consul 2 passing, LB routes 3  out of sync for 200 ms",
    );
    expect(text).toMatch(/INSTANCE\s+ADDRESS\s+CONSUL\s+LB\s+AGE\s+SHARE 10s/);
    expect(text).toMatch(
      /drcon-simple-1\s+172\.18\.0\.11:80\s+passing\s+routed\s+30s\+\s+█+░*\s+34%/,
    );
    expect(text).toMatch(/drcon-simple-2\s+172\.18\.0\.12:80\s+deregistered\s+routed\s+29s\+/);
    expect(text).toContain("total 1500  ok 1495 (99.7%)  failed 5 (connection refused 5)");
    expect(text).toContain("last 10 s: 450 requests, 5 failed, p50 2.0 ms");
    // The window holds the second under way (empty here): 9 full seconds of 50.
    // Requests per second over the completed seconds, the errors of the last one below.
    const req = lines.find((l) => l.trimStart().startsWith("req/s")) ?? "";
    expect(req).toMatch(/█{30} 50\/s$/);
    const errors = lines.find((l) => l.trimStart().startsWith("errors")) ?? "";
    expect(errors).toMatch(/ ▁ 5\/s$/);
    expect(text).toContain("drcon-simple-2 deregistered (172.18.0.12:80)");
    expect(text).toContain("simple: LB and Consul disagree (still routed: drcon-simple-2)");
  });

  it("fits the terminal: never more rows, never a line as wide as it, newest events kept", () => {
    for (const size of [
      { columns: 160, rows: 50 },
      { columns: 80, rows: 24 },
      { columns: 60, rows: 20 },
    ]) {
      const lines = plain(renderScreen(view(40), size));
      expect(lines.length).toBeLessThanOrEqual(size.rows);
      for (const l of lines) expect(l.length).toBeLessThan(size.columns);
    }
    const small = plain(renderScreen(view(40), { columns: 80, rows: 24 }));
    expect(small[small.length - 1]).toContain("rendered r39");
  });

  it("marks the table as last known while the LB or Consul does not answer", () => {
    const v = view();
    const routing = v.routing as NonNullable<WatchView["routing"]>;
    const down = {
      ...v,
      routing: {
        ...routing,
        lb: { ...routing.lb, reachable: false },
        consul: { reachable: false },
      },
    };
    const text = plain(renderScreen(down, { columns: 160, rows: 50 })).join("\n");
    expect(text).toContain("LB: not answering  Consul: not answering");
    expect(text).toContain("Consul 2 passing (last known), LB routes 3 (last known)");
  });

  it("says so when there is no stack to ask, and when stopping", () => {
    const v = { ...view(), routing: null, stopping: true };
    const text = plain(renderScreen(v, { columns: 120, rows: 40 })).join("\n");
    expect(text).toContain("Routing: not known (no stack to ask)");
    expect(text).toContain("stopping...");
  });
});
