// zero-drop: steady load through the LB while the stack is scaled 1 -> 10 -> 1 three times and
// a random instance is killed every 3 s. Counts failed requests by kind, and compares p99
// latency while something happens (a scale or a kill runs, and the second after it) with quiet
// time. The load is drcon's own request loop (`drcon watch --json`), or with --load loop the
// same loop in the benchmark's process (lib.requestLoop) as a cross-check: both record every
// request with watch's failure kinds and its latency, and summarise them with watch's statistics.
import { fetchRoutes } from "../dist/stack/lb-routes.js";
import {
  drcon,
  fmtSpread,
  percentileOf,
  printTable,
  requestLoop,
  round,
  runWatch,
  sleep,
  spread,
  summaryOf,
  target,
  withStack,
} from "./lib.js";

export const description =
  "steady load through the LB while scaling 1 -> 10 -> 1 three times and killing an instance every 3 s; failed requests by kind";
export const stacks = ["bench-zd"];
export const options = {
  rate: { default: "200", help: "requests/s of the load (at most 1000)" },
  duration: { default: "60", help: "seconds of load (at most 300)" },
  cycles: { default: "3", help: "scale 1 -> 10 -> 1 cycles within the duration" },
  "kill-every": { default: "3", help: "seconds between kills" },
  "scale-to": { default: "10", help: "the high count of each cycle" },
  load: {
    default: "watch",
    help: "watch (drcon watch --json) or loop (keep-alive; a request whose idle connection nginx closed is re-sent on a fresh one)",
  },
};

const STACK = "bench-zd";
const PORT = 18782;
const CONSUL_PORT = 18783;
/** A request sent this long after a scale or kill ended still counts as during the event. */
const AFTER_MS = 1000;

/**
 * @typedef {{ t: number, latencyMs: number, ok: boolean, failure: string | null, error: string | null }} Req
 * @typedef {{ requests: Req[], startAt: number, resent: number | null, cpuPct: number | null,
 *   summary: { total: number, ok: number, failed: number, failures: Record<string, number>,
 *     ratePerSec: number, latencyMs: Record<string, number | null> } }} LoadResult
 * @typedef {{ kind: string, start: number, end: number, ok: boolean, detail: string }} Action
 */

/** @param {Record<keyof typeof options, string>} opts */
export async function run(opts) {
  const rate = Math.min(Number(opts.rate), 1000);
  const durationS = Math.min(Number(opts.duration), 300);
  const cycles = Number(opts.cycles);
  const killEveryMs = Number(opts["kill-every"]) * 1000;
  const high = Number(opts["scale-to"]);
  const loadKind = opts.load ?? "watch";
  const p = { rate, durationS, cycles, killEveryMs, high, load: loadKind };
  return withStack(
    { stack: STACK, port: PORT, consulPort: CONSUL_PORT, instances: 1 },
    async (s) => {
      /** @type {Action[]} */
      const actions = [];
      /** @type {Array<{ at: number, why: string }>} */
      const skipped = [];
      let scaling = false;

      /** @param {string} kind @param {string[]} args */
      const act = async (kind, args) => {
        const start = Date.now();
        const res = await drcon([...args, ...s.flags], { check: false });
        const detail = (res.code === 0 ? res.stdout : res.stderr).trim().split("\n").at(-1) ?? "";
        actions.push({ kind, start, end: Date.now(), ok: res.code === 0, detail });
        if (res.code !== 0) console.log(`${kind} failed: ${detail}`);
      };

      const load = startLoad(loadKind, s, rate, durationS);
      const t0 = await load.started;
      const end = t0 + durationS * 1000;
      const cycleMs = (durationS * 1000) / cycles;

      const scaler = (async () => {
        for (let c = 0; c < cycles; c++) {
          await sleep(Math.max(0, t0 + c * cycleMs + 1000 - Date.now()));
          scaling = true;
          await act(`scale ${high}`, ["scale", `simple=${high}`]);
          scaling = false;
          await sleep(Math.max(0, t0 + c * cycleMs + cycleMs / 2 + 1000 - Date.now()));
          scaling = true;
          await act("scale 1", ["scale", "simple=1"]);
          scaling = false;
        }
      })();

      // A kill never takes the last routed instance and never runs beside a scale: a scale waits
      // for the instances it starts to join the LB, and keeps the lowest-numbered one when scaling
      // down, so killing one of those would fail the scale or leave nothing to serve.
      const killer = (async () => {
        for (let k = 1; t0 + k * killEveryMs < end - 1000; k++) {
          await sleep(Math.max(0, t0 + k * killEveryMs - Date.now()));
          if (scaling) {
            skipped.push({ at: Date.now() - t0, why: "a scale runs" });
            continue;
          }
          const routed = (await fetchRoutes(s.lbUrl).catch(() => undefined))?.services.simple ?? [];
          if (routed.length < 2) {
            skipped.push({ at: Date.now() - t0, why: `${routed.length} routed instance(s)` });
            continue;
          }
          await act("kill", ["kill", "simple"]);
        }
      })();

      await Promise.all([scaler, killer]);
      return summarise(await load.result, actions, skipped, p);
    },
  );
}

/**
 * The load through the LB; `started` resolves with the time of the first request.
 * @param {string} kind
 * @param {import("./lib.js").Stack} s
 * @param {number} rate
 * @param {number} durationS
 * @returns {{ started: Promise<number>, result: Promise<LoadResult> }}
 */
function startLoad(kind, s, rate, durationS) {
  if (kind === "watch") {
    /** @type {(t: number) => void} */
    let onStart = () => {};
    /** @type {Promise<number>} */
    const first = new Promise((r) => {
      onStart = r;
    });
    const result = runWatch(s, { rate, durationS, keepRequests: true, onStart }).then((w) => {
      if (!w.summary) throw new Error(`drcon watch gave no summary (exit ${w.code}): ${w.stderr}`);
      return {
        requests: w.requests.map((r) => ({
          t: Date.parse(r.t),
          latencyMs: r.latencyMs,
          ok: r.ok,
          failure: r.failure,
          error: r.error,
        })),
        startAt: w.startAt,
        resent: null,
        cpuPct: w.cpu.steadyPct,
        summary: w.summary,
      };
    });
    const ended = result.then(() => {
      throw new Error("drcon watch ended before its first request");
    });
    return { started: Promise.race([first, ended]), result };
  }
  if (kind !== "loop") throw new Error(`--load ${kind}: use loop or watch`);
  const loop = requestLoop(`${s.lbUrl}/`, { rate, durationMs: durationS * 1000 });
  const result = loop.done.then((records) => ({
    requests: records.map((r) => ({
      t: r.t,
      latencyMs: r.latencyMs,
      ok: r.failure === undefined,
      failure: r.failure ?? null,
      error: r.error ?? null,
    })),
    startAt: loop.start,
    resent: loop.resent.size,
    cpuPct: null,
    summary: summaryOf(records, loop.start),
  }));
  return { started: Promise.resolve(loop.start), result };
}

/**
 * A percentile (0..100) of `v`, by watch's nearest-rank method, to 0.1 ms; null when empty.
 * @param {number[]} v
 * @param {number} p
 */
function pct(v, p) {
  const r = percentileOf(v, p);
  return r === undefined ? null : round(r, 1);
}

/**
 * @param {LoadResult} w
 * @param {Action[]} actions
 * @param {Array<{ at: number, why: string }>} skipped
 * @param {{ rate: number, durationS: number, cycles: number, killEveryMs: number, high: number, load: string }} p
 */
function summarise(w, actions, skipped, p) {
  const sm = w.summary;
  /** The last action that started before `t` and had not ended a second before it. */
  const actionAt = (/** @type {number} */ t) =>
    actions.filter((a) => a.start <= t && t <= a.end + AFTER_MS).at(-1);
  /** @type {number[]} */
  const during = [];
  /** @type {number[]} */
  const quiet = [];
  let failedDuring = 0;
  let failedQuiet = 0;
  /** @type {Map<string, Record<string, number>>} */
  const failedBy = new Map();
  /** @type {Array<{ atMs: number, failure: string, error: string, during: string }>} */
  const failedList = [];
  /** @type {Map<string, number[]>} */
  const byKind = new Map();
  for (const r of w.requests) {
    const a = actionAt(r.t);
    (a ? during : quiet).push(r.latencyMs);
    if (a) {
      const list = byKind.get(a.kind) ?? [];
      list.push(r.latencyMs);
      byKind.set(a.kind, list);
    }
    if (r.ok) continue;
    if (a) failedDuring++;
    else failedQuiet++;
    const key = a ? a.kind : "quiet";
    const kinds = failedBy.get(key) ?? {};
    const what = `${r.failure} (${r.error})`;
    kinds[what] = (kinds[what] ?? 0) + 1;
    failedBy.set(key, kinds);
    failedList.push({
      atMs: r.t - w.startAt,
      failure: String(r.failure),
      error: String(r.error),
      during: key,
    });
  }
  const p99During = pct(during, 99);
  const p99Quiet = pct(quiet, 99);
  const ratio = p99During !== null && p99Quiet ? round(p99During / p99Quiet, 2) : null;

  const loadName =
    p.load === "watch"
      ? `drcon watch --rate ${p.rate} --duration ${p.durationS}s --json`
      : `bench loop (keep-alive), ${p.rate}/s for ${p.durationS} s`;
  printTable(
    `Requests through the LB: ${loadName}`,
    ["total", "ok", "failed", ...Object.keys(sm.failures), "rate /s", "re-sent after idle reset"],
    [[sm.total, sm.ok, sm.failed, ...Object.values(sm.failures), sm.ratePerSec, w.resent ?? "–"]],
  );
  printTable(
    `Latency (ms): during events (a scale or kill running, and ${AFTER_MS} ms after) vs quiet time`,
    ["window", "requests", "failed", "p50", "p99", "max"],
    [
      ["during events", during.length, failedDuring, pct(during, 50), p99During, pct(during, 100)],
      ...[...byKind].map(([k, v]) => [
        `of which during ${k}`,
        v.length,
        "",
        pct(v, 50),
        pct(v, 99),
        pct(v, 100),
      ]),
      ["quiet", quiet.length, failedQuiet, pct(quiet, 50), p99Quiet, pct(quiet, 100)],
      ["p99 ratio during / quiet", "", "", "", ratio, ""],
    ],
  );
  const kinds = [`scale ${p.high}`, "scale 1", "kill"];
  const actionFigures = Object.fromEntries(
    kinds.map((k) => {
      const a = actions.filter((x) => x.kind === k);
      return [
        k,
        {
          runs: a.length,
          failed: a.filter((x) => !x.ok).length,
          wallMs: spread(
            a.map((x) => x.end - x.start),
            0,
          ),
        },
      ];
    }),
  );
  printTable(
    "Actions (wall time of the drcon command, ms)",
    ["action", "runs", "failed", "wall time median (min–max)"],
    Object.entries(actionFigures).map(([k, v]) => [k, v.runs, v.failed, fmtSpread(v.wallMs)]),
  );
  if (failedBy.size) {
    printTable(
      "Failed requests by the action they were sent during",
      ["during", "failed", "kinds (error)"],
      [...failedBy].map(([k, v]) => [
        k,
        Object.values(v).reduce((x, y) => x + y, 0),
        Object.entries(v)
          .map(([e, n]) => `${n} ${e}`)
          .join(", "),
      ]),
    );
  }
  const failedActions = actions.filter((a) => !a.ok);
  return {
    figures: {
      load: p.load,
      requests: {
        total: sm.total,
        ok: sm.ok,
        failed: sm.failed,
        failures: sm.failures,
        ratePerSec: sm.ratePerSec,
        latencyMs: sm.latencyMs,
        resentAfterIdleReset: w.resent,
      },
      failed: sm.failed,
      duringEvents: {
        requests: during.length,
        failed: failedDuring,
        p50: pct(during, 50),
        p99: p99During,
        max: pct(during, 100),
      },
      quiet: {
        requests: quiet.length,
        failed: failedQuiet,
        p50: pct(quiet, 50),
        p99: p99Quiet,
        max: pct(quiet, 100),
      },
      p99RatioDuringVsQuiet: ratio,
      duringByAction: Object.fromEntries(
        [...byKind].map(([k, v]) => [k, { requests: v.length, p50: pct(v, 50), p99: pct(v, 99) }]),
      ),
      actions: actionFigures,
      failedByAction: Object.fromEntries(failedBy),
      failedRequests: failedList.slice(0, 50),
      killsSkipped: skipped.length,
      ...(w.cpuPct !== null ? { watchCpuPct: w.cpuPct } : {}),
    },
    targets: [
      target(
        "failed requests",
        sm.failed,
        0,
        "requests",
        "the failure kinds: no-instance = nothing routed; refused/timeout/5xx = nginx tried a dead instance past its retries; reset = the connection closed before an answer (nginx closes idle keep-alive connections when it reloads: a client must re-send such a request on a fresh connection, see --load loop)",
      ),
    ],
    notes: [
      `${skipped.length} kill tick(s) skipped (${[...new Set(skipped.map((x) => x.why))].join(", ") || "none"}): a kill runs only when no scale runs and at least 2 instances are routed`,
      ...(failedActions.length
        ? [`failed actions: ${failedActions.map((a) => `${a.kind}: ${a.detail}`).join("; ")}`]
        : []),
    ],
  };
}
