// clients: what different kinds of HTTP client see through the LB while instances start, stop
// and are SIGKILLed on a fixed schedule. One client of each kind runs for the whole schedule:
// a fresh connection per request (curl-like), keep-alive that re-sends a request whose reused
// connection was reset before any answer (Node's documented pattern; Go's http.Transport does
// it by itself), keep-alive without any retry (the same loop with the retry off), and wrk, which
// never retries and counts every socket error. Each counts its failures.
import { rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  drcon,
  fmtSpread,
  gathering,
  parseWrk,
  percentileOf,
  printTable,
  ROOT,
  requestLoop,
  round,
  sleep,
  spread,
  summaryOf,
  target,
  WORKDIR,
  withStack,
} from "./lib.js";
import { timelineSvg, writeSvg } from "./svg.js";

export const description =
  "fresh-connection, keep-alive with retry and keep-alive without retry clients (and wrk) through the LB while instances start, stop and are SIGKILLed on a fixed schedule; failures per client";
export const stacks = ["bench-cli"];
export const options = {
  cycles: {
    default: "10",
    help: "schedule cycles; each starts 2 instances, SIGKILLs 1 (drcon kill) and stops 1 (drcon scale)",
  },
  every: { default: "1.5", help: "seconds from one schedule event to the next (at least)" },
  rate: { default: "100", help: "requests/s of each Node client (at most 500)" },
  "wrk-connections": { default: "4", help: "wrk connections (each waits 40 ms between requests)" },
  svg: {
    default: "docs/benchmarks/clients.svg",
    help: "the timeline picture, relative to the repository (none: no picture)",
  },
};

const STACK = "bench-cli";
const PORT = 18795;
const CONSUL_PORT = 18796;
/** Instances between events; the schedule goes to one more and back. */
const BASE = 3;
/** wrk's pause between two requests on a connection (its Lua `delay`), ms. */
const WRK_DELAY_MS = 40;
const BUCKET_MS = 500;

/**
 * @typedef {{ kind: "start" | "kill" | "stop", start: number, end: number, ok: boolean, detail: string }} Event
 * @typedef {import("./lib.js").RequestRecord} RequestRecord
 * @typedef {{ records: RequestRecord[], resent: Set<number>, start: number }} ClientRun
 */

/** @param {Record<keyof typeof options, string>} opts */
export async function run(opts) {
  const cycles = Number(opts.cycles);
  const everyMs = Number(opts.every) * 1000;
  const rate = Math.min(Number(opts.rate), 500);
  const wrkConns = Number(opts["wrk-connections"]);
  return withStack(
    { stack: STACK, port: PORT, consulPort: CONSUL_PORT, instances: BASE },
    async (s) => {
      const url = `${s.lbUrl}/`;
      // Bounded by themselves too: they stop after the longest the schedule may take.
      const boundMs = cycles * 4 * (everyMs + 30_000) + 10_000;
      const loops = {
        fresh: requestLoop(url, { rate, durationMs: boundMs, connections: "fresh" }),
        "keep-alive, retry": requestLoop(url, { rate, durationMs: boundMs }),
        "keep-alive, no retry": requestLoop(url, { rate, durationMs: boundMs, retry: false }),
      };
      const wrk = startWrk(url, wrkConns, boundMs);
      const t0 = Date.now();
      /** @type {Event[]} */
      const events = [];
      /** @type {Record<string, ClientRun>} */
      let results = {};
      /** @type {Awaited<ReturnType<typeof wrk.stop>> | undefined} */
      let wrkResult;
      try {
        await sleep(2000);
        /** @type {Array<[Event["kind"], string[]]>} */
        const cycle = [
          ["start", ["scale", `simple=${BASE + 1}`]],
          ["kill", ["kill", "simple"]],
          ["start", ["scale", `simple=${BASE + 1}`]],
          ["stop", ["scale", `simple=${BASE}`]],
        ];
        let due = Date.now();
        for (let c = 0; c < cycles; c++) {
          for (const [kind, args] of cycle) {
            await sleep(Math.max(0, due - Date.now()));
            const start = Date.now();
            const res = await drcon([...args, ...s.flags], { check: false });
            const detail =
              (res.code === 0 ? res.stdout : res.stderr).trim().split("\n").at(-1) ?? "";
            events.push({ kind, start, end: Date.now(), ok: res.code === 0, detail });
            if (res.code !== 0) console.log(`${kind} failed: ${detail}`);
            due = Math.max(start + everyMs, Date.now() + 300);
          }
          console.log(`cycle ${c + 1}/${cycles} done at ${round((Date.now() - t0) / 1000, 1)} s`);
        }
        await sleep(2000);
      } finally {
        const runs = await Promise.all(
          Object.entries(loops).map(async ([name, loop]) => {
            await loop.stop();
            return [name, loop];
          }),
        );
        results = Object.fromEntries(runs);
        wrkResult = await wrk.stop();
      }
      const endS = (Date.now() - t0) / 1000;
      return summarise(results, /** @type {NonNullable<typeof wrkResult>} */ (wrkResult), events, {
        t0,
        endS,
        cycles,
        everyMs,
        rate,
        wrkConns,
        svg: opts.svg ?? "",
      });
    },
  );
}

/**
 * wrk with a pause of WRK_DELAY_MS between requests on each connection, until stopped (SIGINT:
 * wrk then prints its summary) or `boundMs`.
 * @param {string} url
 * @param {number} conns
 * @param {number} boundMs
 */
function startWrk(url, conns, boundMs) {
  const script = join(WORKDIR, `drcon-bench-wrk-delay-${process.pid}.lua`);
  writeFileSync(script, `function delay()\n  return ${WRK_DELAY_MS}\nend\n`);
  const seconds = Math.ceil(boundMs / 1000);
  const wrk = gathering(
    "wrk",
    [`-t1`, `-c${conns}`, `-d${seconds}s`, "--timeout", "5s", "--latency", "-s", script, url],
    { cwd: WORKDIR, timeoutMs: boundMs + 60_000 },
  );
  return {
    async stop() {
      wrk.child.kill("SIGINT");
      const out = await wrk.closed;
      rmSync(script, { force: true });
      return {
        ...parseWrk(out.stdout, out.stderr),
        command: `wrk -t1 -c${conns} -s <delay ${WRK_DELAY_MS} ms>`,
      };
    },
  };
}

/**
 * @param {Record<string, ClientRun>} results
 * @param {ReturnType<typeof parseWrk> & { command: string }} wrk
 * @param {Event[]} events
 * @param {{ t0: number, endS: number, cycles: number, everyMs: number, rate: number, wrkConns: number, svg: string }} p
 */
function summarise(results, wrk, events, p) {
  const rows = [];
  /** @type {Record<string, object>} */
  const clients = {};
  for (const [name, { records, resent, start }] of Object.entries(results)) {
    const failed = records.filter((r) => r.failure !== undefined);
    /** @type {Record<string, number>} */
    const kinds = {};
    for (const r of failed) {
      const k = `${r.failure} (${r.error})`;
      kinds[k] = (kinds[k] ?? 0) + 1;
    }
    // drcon watch's summary of the same records: its p99 is watch's measure.
    const summary = summaryOf(records, start);
    const p99 = summary.latencyMs.p99;
    clients[name] = {
      requests: summary.total,
      failed: summary.failed,
      failures: kinds,
      resent: resent.size,
      p99Ms: p99 === null ? null : round(p99, 1),
    };
    rows.push([
      name,
      summary.total,
      summary.failed,
      Object.entries(kinds)
        .map(([k, n]) => `${n} ${k}`)
        .join(", ") || "–",
      name === "keep-alive, retry" ? resent.size : "–",
      p99 === null ? "–" : round(p99, 1),
    ]);
  }
  const se = wrk.socketErrors;
  clients.wrk = {
    requests: wrk.requests,
    failed: wrk.errors,
    socketErrors: se,
    non2xx: wrk.non2xx,
  };
  rows.push([
    `wrk (keep-alive, no retry; ${p.wrkConns} connections)`,
    wrk.requests,
    wrk.errors,
    wrk.errors
      ? `socket errors: connect ${se.connect}, read ${se.read}, write ${se.write}, timeout ${se.timeout}; non-2xx ${wrk.non2xx}`
      : "–",
    "–",
    wrk.p99,
  ]);
  printTable(
    `Requests through the LB, each client at ${p.rate}/s (wrk: ${p.wrkConns} connections, ${WRK_DELAY_MS} ms between requests)`,
    ["client", "requests", "failed", "failures", "re-sent after a reset", "p99 ms"],
    rows,
  );

  const count = (/** @type {string} */ kind) => events.filter((e) => e.kind === kind).length;
  const wall = (/** @type {string} */ kind) =>
    spread(
      events.filter((e) => e.kind === kind).map((e) => e.end - e.start),
      0,
    );
  printTable(
    "Schedule (wall time of the drcon command, ms)",
    ["event", "command", "runs", "failed", "wall time median (min–max)"],
    [
      ["start", `drcon scale simple=${BASE + 1}`, count("start"), failedOf(events, "start")],
      ["SIGKILL", "drcon kill simple", count("kill"), failedOf(events, "kill")],
      ["stop", `drcon scale simple=${BASE}`, count("stop"), failedOf(events, "stop")],
    ].map((r) => [...r, fmtSpread(wall(String(r[0]) === "SIGKILL" ? "kill" : String(r[0])))]),
  );

  const svgPath = p.svg && p.svg !== "none" ? resolve(ROOT, p.svg) : "";
  if (svgPath) writeSvg(svgPath, timeline(results, events, p));

  const failedTotal = Object.values(results).map((r) => r.records.filter((x) => x.failure).length);
  return {
    figures: {
      cycles: p.cycles,
      everyMs: p.everyMs,
      ratePerClient: p.rate,
      wrkConnections: p.wrkConns,
      wrkDelayMs: WRK_DELAY_MS,
      durationS: round(p.endS, 1),
      events: { starts: count("start"), kills: count("kill"), stops: count("stop") },
      eventsFailed: events.filter((e) => !e.ok).length,
      clients,
      ...(svgPath ? { svg: p.svg } : {}),
    },
    targets: [
      ...Object.entries(results).map(([name, r]) =>
        target(
          `${name}: failed requests`,
          r.records.filter((x) => x.failure).length,
          0,
          "requests",
        ),
      ),
      target("wrk (keep-alive, no retry): errors", wrk.errors, 0, "requests"),
    ],
    notes: [
      `${count("start")} starts, ${count("kill")} SIGKILLs and ${count("stop")} stops in ${round(p.endS, 1)} s; ${failedTotal.reduce((a, b) => a + b, 0) + wrk.errors} failed requests over all clients`,
      ...(svgPath ? [`timeline written to ${p.svg}`] : []),
    ],
  };
}

/** @param {Event[]} events @param {string} kind */
function failedOf(events, kind) {
  return events.filter((e) => e.kind === kind && !e.ok).length;
}

/**
 * The timeline picture: requests/s and p99 latency per half second for each Node client, the
 * schedule's events, and a red tick for every failed request.
 * @param {Record<string, ClientRun>} results
 * @param {Event[]} events
 * @param {{ t0: number, endS: number }} p
 */
function timeline(results, events, { t0, endS }) {
  const buckets = Math.ceil((endS * 1000) / BUCKET_MS);
  const per = (/** @type {RequestRecord[]} */ records) => {
    /** @type {number[][]} */
    const lat = Array.from({ length: buckets }, () => []);
    for (const r of records) {
      const b = Math.floor((r.t - t0) / BUCKET_MS);
      if (b >= 0 && b < buckets) lat[b]?.push(r.latencyMs);
    }
    return lat;
  };
  const entries = Object.entries(results).map(([name, r]) => [name, per(r.records)]);
  const at = (/** @type {number} */ b) => ((b + 0.5) * BUCKET_MS) / 1000;
  const colours = { start: "#2ca02c", stop: "#1f77b4", kill: "#d62728" };
  const labels = {
    start: "start (scale +1)",
    stop: "stop (scale -1)",
    kill: "SIGKILL (drcon kill)",
  };
  return timelineSvg({
    title: "clients through the LB: requests/s, p99 latency, failed requests; schedule events",
    endS,
    panels: [
      {
        title: "requests answered per second",
        unit: "req/s",
        series: entries.map(([name, lat]) => ({
          name: String(name),
          points: /** @type {number[][]} */ (lat).map((l, b) => [
            at(b),
            (l.length * 1000) / BUCKET_MS,
          ]),
        })),
      },
      {
        title: "p99 latency per half second",
        unit: "ms",
        series: entries.map(([name, lat]) => ({
          name: String(name),
          points: /** @type {number[][]} */ (lat).map((l, b) => [at(b), percentileOf(l, 99) ?? 0]),
        })),
      },
    ],
    markers: events.map((e) => ({
      at: (e.start - t0) / 1000,
      label: labels[e.kind],
      colour: colours[e.kind],
    })),
    ticks: Object.entries(results).map(([name, { records }]) => ({
      name: `failed: ${name}`,
      at: records.filter((r) => r.failure).map((r) => (r.t - t0) / 1000),
    })),
  });
}
