// lb-overhead: throughput and latency through the LB (nginx in front of exactly one instance)
// versus straight to one instance of the same image, with the same wrk settings, alternating
// within one run. Both paths cross the same published-port proxy on 127.0.0.1.

import { waitFor } from "../dist/base/wait.js";
import { fetchRoutes } from "../dist/stack/lb-routes.js";
import { get } from "../test/support/cli.ts";
import {
  engine,
  fmtSpread,
  LABELS,
  parseWrk,
  printTable,
  round,
  run as runProgram,
  spread,
  stackConfig,
  withStack,
} from "./lib.js";

/** @typedef {import("./lib.js").WrkResult} WrkResult */

export const description =
  "wrk through the LB (1 instance) vs straight to one instance: requests/s, p50, p99, ratio";
export const stacks = ["bench-lbo"];
export const options = {
  trials: { default: "3", help: "wrk runs per path (alternating LB / direct)" },
  "wrk-duration": { default: "10", help: "seconds per wrk run (at most 60)" },
  connections: { default: "16", help: "wrk connections" },
  threads: { default: "2", help: "wrk threads" },
};

const STACK = "bench-lbo";
const PORT = 18784;
const CONSUL_PORT = 18785;
const DIRECT_PORT = 18786;

/** @param {Record<keyof typeof options, string>} opts */
export async function run(opts) {
  const trials = Number(opts.trials);
  const seconds = Math.min(Number(opts["wrk-duration"]), 60);
  const conns = Number(opts.connections);
  const threads = Number(opts.threads);
  return withStack(
    { stack: STACK, port: PORT, consulPort: CONSUL_PORT, instances: 1 },
    async (s) => {
      const config = stackConfig(STACK, { lb: PORT, consul: CONSUL_PORT });
      const svc = config.services.simple;
      if (!svc) throw new Error("the configuration has no service simple");
      // One more instance of the demo image, published on 127.0.0.1 and not registered (no
      // SERVICE_NAME); the stack label makes `drcon down` remove it.
      const id = await engine.createContainer({
        name: `${STACK}-direct`,
        Image: svc.image,
        Labels: { [LABELS.stack]: STACK, [LABELS.role]: "bench" },
        ExposedPorts: { [`${svc.port}/tcp`]: {} },
        HostConfig: {
          NetworkMode: STACK,
          PortBindings: {
            [`${svc.port}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: String(DIRECT_PORT) }],
          },
        },
      });
      await engine.startContainer(id);
      const directUrl = `http://127.0.0.1:${DIRECT_PORT}/`;
      await waitFor(
        async () => ((await get(directUrl)).status === 200 ? true : undefined),
        "the direct instance",
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      const routed = (await fetchRoutes(s.lbUrl)).services.simple ?? [];
      if (routed.length !== 1)
        throw new Error(`the LB routes to ${routed.length} instances, not 1`);

      const wrk = (/** @type {string} */ url, /** @type {number} */ d) =>
        runProgram(
          "wrk",
          [`-t${threads}`, `-c${conns}`, `-d${d}s`, "--latency", url],
          (d + 30) * 1000,
        ).then((r) => parseWrk(r.stdout, r.stderr));
      // Warm-up: connections, nginx's upstream keepalive, caches.
      await wrk(`${s.lbUrl}/`, 2);
      await wrk(directUrl, 2);

      /** @type {{ lb: WrkResult[], direct: WrkResult[] }} */
      const res = { lb: [], direct: [] };
      for (let i = 0; i < trials; i++) {
        const order = i % 2 === 0 ? ["lb", "direct"] : ["direct", "lb"];
        for (const which of order) {
          const r = await wrk(which === "lb" ? `${s.lbUrl}/` : directUrl, seconds);
          res[/** @type {"lb" | "direct"} */ (which)].push(r);
          console.log(
            `trial ${i + 1}/${trials} ${which}: ${round(r.rps, 0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, errors ${r.errors}`,
          );
        }
      }
      return summarise(res, { trials, seconds, conns, threads });
    },
  );
}

/**
 * @param {{ lb: WrkResult[], direct: WrkResult[] }} res
 * @param {{ trials: number, seconds: number, conns: number, threads: number }} p
 */
function summarise(res, p) {
  /** @typedef {"rps" | "p50" | "p99"} Figure */
  const f = (/** @type {WrkResult[]} */ v, /** @type {Figure} */ k, d = 2) =>
    spread(
      v.map((x) => x[k]),
      d,
    );
  const pairs = res.lb.map((lb, i) => ({ lb, direct: /** @type {WrkResult} */ (res.direct[i]) }));
  const ratio = (/** @type {Figure} */ k) =>
    spread(
      pairs.map((x) => x.lb[k] / x.direct[k]),
      2,
    );
  const fig = {
    wrk: { threads: p.threads, connections: p.conns, seconds: p.seconds, trials: p.trials },
    lb: {
      rps: f(res.lb, "rps", 0),
      p50Ms: f(res.lb, "p50"),
      p99Ms: f(res.lb, "p99"),
      errors: res.lb.reduce((a, x) => a + x.errors, 0),
    },
    direct: {
      rps: f(res.direct, "rps", 0),
      p50Ms: f(res.direct, "p50"),
      p99Ms: f(res.direct, "p99"),
      errors: res.direct.reduce((a, x) => a + x.errors, 0),
    },
    ratioLbOverDirect: { rps: ratio("rps"), p50: ratio("p50"), p99: ratio("p99") },
  };
  printTable(
    `wrk -t${p.threads} -c${p.conns} -d${p.seconds}s --latency, ${p.trials} runs per path, median (min–max)`,
    ["path", "requests/s", "p50 ms", "p99 ms", "errors"],
    [
      [
        "through the LB (1 instance)",
        fmtSpread(fig.lb.rps),
        fmtSpread(fig.lb.p50Ms),
        fmtSpread(fig.lb.p99Ms),
        fig.lb.errors,
      ],
      [
        "straight to one instance",
        fmtSpread(fig.direct.rps),
        fmtSpread(fig.direct.p50Ms),
        fmtSpread(fig.direct.p99Ms),
        fig.direct.errors,
      ],
      [
        "ratio LB / direct (per run pair)",
        fmtSpread(fig.ratioLbOverDirect.rps),
        fmtSpread(fig.ratioLbOverDirect.p50),
        fmtSpread(fig.ratioLbOverDirect.p99),
        "",
      ],
    ],
  );
  return {
    figures: fig,
    notes: [
      "wrk, nginx and the instance share the machine's cores, so these are the LB's cost on this machine, not nginx's ceiling",
    ],
  };
}
