// watch-loop: the CPU `drcon watch` uses at 100 and 500 requests/s, and how far the rate it
// achieves (its summary's ratePerSec) is from the one asked, side by side, runs alternating.
import { fmtSpread, printTable, round, runWatch, spread, withStack } from "./lib.js";

export const description =
  "drcon watch at 100 and 500 requests/s: CPU and achieved vs asked rate, side by side";
export const stacks = ["bench-wl"];
export const options = {
  rates: { default: "100,500", help: "rates to compare (comma-separated, each at most 2000)" },
  "watch-trials": { default: "3", help: "runs per rate (alternating)" },
  "watch-duration": { default: "10", help: "seconds per run (at most 60)" },
};

const STACK = "bench-wl";
const PORT = 18793;
const CONSUL_PORT = 18794;

/** @param {Record<keyof typeof options, string>} opts */
export async function run(opts) {
  const rates = opts.rates.split(",").map((r) => Math.min(Number(r), 2000));
  const trials = Number(opts["watch-trials"]);
  const durationS = Math.min(Number(opts["watch-duration"]), 60);
  return withStack(
    { stack: STACK, port: PORT, consulPort: CONSUL_PORT, instances: 2 },
    async (s) => {
      /** @type {Record<number, Array<{ cpuPct: number, achieved: number, total: number, failed: number, p99: number, cpuS: number }>>} */
      const res = Object.fromEntries(rates.map((r) => [r, []]));
      for (let i = 0; i < trials; i++) {
        for (const rate of i % 2 === 0 ? rates : [...rates].reverse()) {
          const w = await runWatch(s, { rate, durationS });
          if (!w.summary)
            throw new Error(`drcon watch gave no summary (exit ${w.code}): ${w.stderr}`);
          const r = {
            cpuPct: w.cpu.steadyPct ?? Number.NaN,
            achieved: w.summary.ratePerSec,
            total: w.summary.total,
            failed: w.summary.failed,
            p99: w.summary.latencyMs.p99 ?? Number.NaN,
            cpuS: w.cpu.totalS ?? Number.NaN,
          };
          res[rate]?.push(r);
          console.log(
            `run ${i + 1}/${trials} at ${rate}/s: ${r.cpuPct} % of a core, achieved ${r.achieved}/s, ${r.total} requests, ${r.failed} failed`,
          );
        }
      }
      /** @type {Record<string, object>} */
      const fig = {};
      const rows = [];
      for (const rate of rates) {
        const runs = res[rate] ?? [];
        const f = {
          cpuPctOfOneCore: spread(
            runs.map((x) => x.cpuPct),
            1,
          ),
          cpuMsPer1000Requests: spread(
            runs.map((x) => ((x.cpuPct / 100) * 1000 * 1000) / rate),
            0,
          ),
          achievedRatePerSec: spread(
            runs.map((x) => x.achieved),
            1,
          ),
          shortfallPct: spread(
            runs.map((x) => ((rate - x.achieved) / rate) * 100),
            2,
          ),
          requests: spread(
            runs.map((x) => x.total),
            0,
          ),
          expectedRequests: rate * durationS,
          failed: runs.reduce((a, x) => a + x.failed, 0),
          p99Ms: spread(
            runs.map((x) => x.p99),
            1,
          ),
          processCpuS: spread(
            runs.map((x) => x.cpuS),
            2,
          ),
        };
        fig[String(rate)] = f;
        rows.push([
          `${rate}/s`,
          fmtSpread(f.cpuPctOfOneCore),
          fmtSpread(f.cpuMsPer1000Requests),
          fmtSpread(f.achievedRatePerSec),
          fmtSpread(f.shortfallPct, " %"),
          `${fmtSpread(f.requests)} of ${f.expectedRequests}`,
          f.failed,
          fmtSpread(f.p99Ms),
        ]);
      }
      printTable(
        `drcon watch --rate R --duration ${durationS}s --json, ${trials} runs per rate (alternating), median (min–max)`,
        [
          "asked",
          "CPU % of one core (steady)",
          "CPU ms per 1000 requests",
          "achieved rate /s",
          "shortfall",
          "requests",
          "failed",
          "p99 ms",
        ],
        rows,
      );
      const [lo, hi] = rates;
      const cpuRatio =
        lo !== undefined && hi !== undefined
          ? round(
              /** @type {any} */ (fig[String(hi)]).cpuPctOfOneCore.median /
                /** @type {any} */ (fig[String(lo)]).cpuPctOfOneCore.median,
              2,
            )
          : null;
      return {
        figures: { durationS, trials, rates: fig, cpuRatioHighOverLow: cpuRatio },
        notes: [
          `CPU at ${hi}/s is ${cpuRatio}× the CPU at ${lo}/s (${round((hi ?? 0) / (lo ?? 1), 1)}× the rate); steady CPU leaves out start-up (1 s after the first request to 0.5 s before the end), from /proc/<pid>/stat every 250 ms`,
        ],
      };
    },
  );
}
