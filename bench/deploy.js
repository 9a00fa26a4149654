// deploy: wall time of `drcon deploy simple --env WHOAMI_NAME=<x>` rolling 3 and 10 instances
// (surge 1, revisions alternating), beside the sum of its parts in the same run: each step's
// time, taken from the CLI's own progress lines as they arrive (one line per step when stdout is
// not a TTY): "start <new> and wait for the LB to route it" (the engine's create + start, the
// registrator, Consul, consul-template and the nginx reload: the join) and "drain and stop <old>"
// (out of the LB, requests in flight finished, SIGTERM, removed). The engine's share of a start
// step is its own create -> started time for the new container (Docker's timestamps). What is
// left is the CLI's own: Node and oclif starting, reading the stack, the plan, the revision kept
// in Consul KV.
import { drcon, engine, fmtSpread, LABELS, printTable, round, spread, withStack } from "./lib.js";

export const description =
  "wall time of drcon deploy rolling 3 and 10 instances beside the sum of its steps (start + LB join, drain + stop)";
export const stacks = ["fbdeploy"];
export const options = {
  trials: { default: "3", help: "deploys timed per instance count (revisions alternate)" },
  counts: { default: "3,10", help: "the instance counts rolled, comma-separated" },
};

const STACK = "fbdeploy";
const PORT = 19900;
const CONSUL_PORT = 19901;

/**
 * @typedef {{ wallMs: number, joinMs: number[], drainMs: number[], engineMs: number[],
 *   firstStepMs: number }} Roll
 */

/** @param {Record<keyof typeof options, string>} opts */
export async function run(opts) {
  const trials = Number(opts.trials);
  const counts = opts.counts.split(",").map(Number);
  return withStack({ stack: STACK, port: PORT, consulPort: CONSUL_PORT }, async (s) => {
    /** @type {Record<number, Roll[]>} */
    const rolls = {};
    let revision = 0;
    for (const n of counts) {
      await drcon(["scale", `simple=${n}`, ...s.flags]);
      // Warm-up, not counted: the new revision's first containers, files in the page cache.
      await roll(s.flags, `fb-${revision++ % 2}`);
      rolls[n] = [];
      for (let i = 1; i <= trials; i++) {
        const r = await roll(s.flags, `fb-${revision++ % 2}`);
        if (r.joinMs.length !== n || r.drainMs.length !== n)
          throw new Error(
            `deploy of ${n} instances showed ${r.joinMs.length} start and ${r.drainMs.length} drain steps`,
          );
        rolls[n].push(r);
        const parts = sum(r.joinMs) + sum(r.drainMs);
        console.log(
          `${n} instances, trial ${i}/${trials}: deploy ${ms(r.wallMs)}, steps ${ms(parts)} (start + join ${ms(sum(r.joinMs))}, of which engine ${ms(sum(r.engineMs))}, drain ${ms(sum(r.drainMs))}), first step after ${ms(r.firstStepMs)}`,
        );
      }
    }
    return summarise(rolls, trials);
  });
}

const sum = (/** @type {number[]} */ xs) => xs.reduce((a, b) => a + b, 0);
const ms = (/** @type {number} */ x) => `${round(x, 0)} ms`;

/**
 * One `drcon deploy simple --env WHOAMI_NAME=<name>`, its steps timed by when their lines arrive.
 * @param {string[]} flags
 * @param {string} name
 * @returns {Promise<Roll>}
 */
async function roll(flags, name) {
  const t0 = performance.now();
  const since = Date.now();
  /** @type {number[]} */
  const joinMs = [];
  /** @type {number[]} */
  const drainMs = [];
  let firstStepMs = Number.NaN;
  let stepStart = 0;
  let pending = "";
  const onLine = (/** @type {string} */ line, /** @type {number} */ t) => {
    if (/^❯ (start |drain and stop )/.test(line)) {
      stepStart = t;
      if (Number.isNaN(firstStepMs)) firstStepMs = t - t0;
    } else if (/^✔ \S+ serving/.test(line)) joinMs.push(t - stepStart);
    else if (line.startsWith("✔ drain and stop ")) drainMs.push(t - stepStart);
  };
  const result = await drcon(["deploy", "simple", "--env", `WHOAMI_NAME=${name}`, ...flags], {
    onStdout: (chunk) => {
      const t = performance.now();
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) onLine(line, t);
    },
  });
  return { wallMs: result.ms, joinMs, drainMs, engineMs: await engineStarts(since), firstStepMs };
}

/**
 * The engine's create -> started time (its own timestamps) of each instance of simple created
 * since `since` (epoch ms).
 * @param {number} since
 * @returns {Promise<number[]>}
 */
async function engineStarts(since) {
  const list = await engine.listContainers({ [LABELS.stack]: STACK, [LABELS.service]: "simple" });
  const times = [];
  for (const c of list) {
    const d = await engine.inspectContainer(c.Id);
    const created = Date.parse(d?.Created ?? "");
    const started = Date.parse(d?.State.StartedAt ?? "");
    if (created >= since - 1000 && started > created) times.push(started - created);
  }
  return times;
}

/**
 * @param {Record<number, Roll[]>} rolls
 * @param {number} trials
 */
function summarise(rolls, trials) {
  /** @type {Record<string, object>} */
  const fig = {};
  const rows = [];
  for (const [n, rs] of Object.entries(rolls)) {
    const wall = spread(
      rs.map((r) => r.wallMs),
      0,
    );
    const parts = spread(
      rs.map((r) => sum(r.joinMs) + sum(r.drainMs)),
      0,
    );
    const join = spread(
      rs.flatMap((r) => r.joinMs),
      0,
    );
    const drain = spread(
      rs.flatMap((r) => r.drainMs),
      0,
    );
    const engineStart = spread(
      rs.flatMap((r) => r.engineMs),
      0,
    );
    const first = spread(
      rs.map((r) => r.firstStepMs),
      0,
    );
    const ratio =
      wall.median !== null && parts.median ? round(wall.median / parts.median, 2) : null;
    fig[`instances${n}`] = {
      deployMs: wall,
      stepsMs: parts,
      joinPerInstanceMs: join,
      engineStartPerInstanceMs: engineStart,
      drainPerInstanceMs: drain,
      firstStepAfterMs: first,
      ratio,
    };
    rows.push([
      `deploy simple, ${n} instances`,
      fmtSpread(wall),
      fmtSpread(parts),
      fmtSpread(join),
      fmtSpread(engineStart),
      fmtSpread(drain),
      fmtSpread(first),
      ratio,
    ]);
  }
  printTable(
    `Wall time (ms), median (min–max) over ${trials} deploys each, surge 1; steps = the sum of the deploy's own steps, same run`,
    [
      "operation",
      "drcon deploy",
      "sum of steps",
      "start + LB join, per instance",
      "of which engine create -> started",
      "drain + stop, per instance",
      "first step begins after",
      "ratio (medians)",
    ],
    rows,
  );
  return {
    figures: { trials, surge: 1, ...fig },
    notes: [
      "A step's time runs from its ❯ line to its ✔ line as the benchmark reads them from the CLI's stdout (a pipe, so listr2 prints one line per step). The deploy's time beyond its steps is the CLI's own: Node and oclif starting, reading the stack and Consul, the plan, the revision recorded in Consul KV, before the first step and after the last.",
    ],
  };
}
