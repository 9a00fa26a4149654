// Shared by every benchmark: a stack up and always down again, medians and spreads, markdown
// tables, the closing JSON line, the CPU of a child process and a look at what else runs on the
// engine. The request loop, statistics, routes fetch and waits are the product's own (dist/); the
// CLI and HTTP helpers are the e2e harness's (test/support/cli.ts). Benchmarks import from here or
// from those, never copy.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../dist/config/load.js";
import { ConsulApi } from "../dist/consul/client.js";
import { LABELS } from "../dist/contract.js";
import { DockerEngine } from "../dist/docker/engine.js";
import { runRequestLoop } from "../dist/watch/request-loop.js";
import { percentile, RunStats, round } from "../dist/watch/stats.js";
import { gathering, runCli, standInEnv, startCli } from "../test/support/cli.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** drcon runs here, so that no drcon.yml of the working directory changes what is measured. */
export const WORKDIR = tmpdir();

export const engine = new DockerEngine();
export { ConsulApi, gathering, LABELS, round, sleep };

// ---------------------------------------------------------------------------------------------
// Environment: the offline stand-in images unless the caller set DRCON_IMAGE_* / DRCON_PULL.

/** Fills DRCON_* settings from test/images/ci.env where the environment does not set them. */
export function applyStandInEnv() {
  const applied = [];
  for (const [key, value] of Object.entries(standInEnv())) {
    if (process.env[key] !== undefined) continue;
    process.env[key] = value;
    applied.push(key);
  }
  process.env.NO_COLOR = "1";
  return applied;
}

/**
 * The stack's configuration as drcon itself resolves it (images, ports), for specs built here.
 * @param {string} stack
 * @param {{ lb?: number, consul?: number }} [ports]
 */
export function stackConfig(stack, ports = {}) {
  return loadConfig({ cwd: WORKDIR, overrides: { stack, ...ports } });
}

// ---------------------------------------------------------------------------------------------
// Statistics: drcon watch's nearest-rank percentiles, so that a benchmark's p99 is watch's p99.

/**
 * The p-th percentile (0..100) of `values` by drcon watch's nearest-rank method (the product's
 * `percentile`); undefined when there is no finite value.
 * @param {number[]} values
 * @param {number} p
 */
export function percentileOf(values, p) {
  return percentile(Float64Array.from(values.filter((x) => Number.isFinite(x))).sort(), p);
}

/** @param {number[]} values */
export const median = (values) => percentileOf(values, 50);

/** @typedef {{ median: number | null, min: number | null, max: number | null, n: number }} Spread */

/**
 * @param {number[]} values
 * @param {number} [digits]
 * @returns {Spread}
 */
export function spread(values, digits = 1) {
  const v = values.filter((x) => Number.isFinite(x));
  const r = (/** @type {number | undefined} */ x) => (x === undefined ? null : round(x, digits));
  return {
    median: r(median(v)),
    min: r(v.length ? Math.min(...v) : undefined),
    max: r(v.length ? Math.max(...v) : undefined),
    n: v.length,
  };
}

/** "median (min–max)" of a spread, for tables. @param {Spread} s @param {string} [unit] */
export function fmtSpread(s, unit = "") {
  if (s.median === null) return "–";
  return `${s.median}${unit} (${s.min}–${s.max})`;
}

// ---------------------------------------------------------------------------------------------
// Output: markdown tables (they paste into docs/benchmarks.md as they are) and the JSON line.

/**
 * @param {string} title
 * @param {string[]} header
 * @param {Array<Array<string | number | null | undefined>>} rows
 */
export function printTable(title, header, rows) {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? "–" : String(c))));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (/** @type {string[]} */ r) =>
    `| ${r.map((c, i) => c.padEnd(/** @type {number} */ (widths[i]))).join(" | ")} |`;
  const out = [`\n${title}\n`, line(header), line(widths.map((w) => "-".repeat(w)))];
  for (const r of cells) out.push(line(r));
  console.log(out.join("\n"));
}

/**
 * A target as one line of text and one entry of the JSON line.
 * @param {string} what
 * @param {number | null} value
 * @param {number} limit
 * @param {string} unit
 * @param {string} [bound] what bounds it when missed
 */
export function target(what, value, limit, unit, bound) {
  const met = value !== null && value <= limit;
  return { what, value, limit, unit, met, ...(met || !bound ? {} : { boundBy: bound }) };
}

/**
 * Prints the targets and notes, then ends with the one JSON line of the benchmark's figures.
 * @param {string} bench
 * @param {{ figures: object, targets?: ReturnType<typeof target>[], notes?: string[], activity?: object }} result
 */
export function finish(bench, { figures, targets = [], notes = [], activity }) {
  if (targets.length) {
    console.log("\nTargets");
    for (const t of targets) {
      const verdict = t.met ? "met" : "MISSED";
      console.log(
        `  ${t.what}: ${t.value ?? "–"} ${t.unit} (target <= ${t.limit} ${t.unit}): ${verdict}${t.boundBy ? `; bound by ${t.boundBy}` : ""}`,
      );
    }
  }
  for (const n of notes) console.log(`\nNote: ${n}`);
  console.log(
    JSON.stringify({
      bench,
      date: new Date().toISOString(),
      ...figures,
      ...(targets.length ? { targets } : {}),
      ...(activity ? { activity } : {}),
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Child processes: the real CLI (the e2e harness's runner), and programs where the engine module
// has no call for it.

/**
 * Runs `node bin/run.js ...args` in WORKDIR; rejects on a non-zero exit unless `check` is false.
 * `onStdout` sees each chunk of stdout as it arrives (to time the CLI's progress lines).
 * @param {string[]} args
 * @param {{ check?: boolean, timeoutMs?: number, onStdout?: (chunk: string) => void }} [options]
 */
export async function drcon(args, { check = true, timeoutMs = 180_000, onStdout } = {}) {
  const result = await runCli(args, { cwd: WORKDIR, timeoutMs, ...(onStdout ? { onStdout } : {}) });
  if (check && result.code !== 0) {
    const why = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-3).join(" / ");
    throw new Error(`drcon ${args.join(" ")} exited ${result.code}: ${why}`);
  }
  return result;
}

/**
 * Runs a program (no shell) and resolves with its output, whatever its exit code.
 * @param {string} file
 * @param {string[]} args
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
export function run(file, args, timeoutMs = 120_000) {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: WORKDIR, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/**
 * wrk's summary: requests/s, latency, and its errors (socket errors by kind, non-2xx answers).
 * @typedef {{ rps: number, p50: number, p99: number, requests: number, errors: number,
 *   socketErrors: { connect: number, read: number, write: number, timeout: number },
 *   non2xx: number }} WrkResult
 * @param {string} out
 * @param {string} err
 * @returns {WrkResult}
 */
export function parseWrk(out, err) {
  const ms = (/** @type {string | undefined} */ v) => {
    const m = /^([\d.]+)(us|ms|s|m)$/.exec(v ?? "");
    if (!m) return Number.NaN;
    const n = Number(m[1]);
    return round(
      m[2] === "us" ? n / 1000 : m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : n * 60_000,
      3,
    );
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`wrk gave no result: ${out}${err}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    rps,
    p50: ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
    p99: ms(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
    errors: non2xx + (socket ? socket.slice(1).reduce((a, x) => a + Number(x), 0) : 0),
    socketErrors: {
      connect: Number(socket?.[1] ?? 0),
      read: Number(socket?.[2] ?? 0),
      write: Number(socket?.[3] ?? 0),
      timeout: Number(socket?.[4] ?? 0),
    },
    non2xx,
  };
}

/**
 * A container's log lines since `sinceMs` (epoch ms), stdout and stderr together.
 * @param {string} container
 * @param {number} sinceMs
 */
export async function containerLogs(container, sinceMs) {
  const since = (Math.floor(sinceMs / 1000) - 1).toString();
  const res = await run("docker", ["logs", "--since", since, container]);
  return `${res.stdout}${res.stderr}`.split("\n").filter(Boolean);
}

/**
 * The registrator's JSON log lines (registered / deregistered ...) since `sinceMs`.
 * @param {string} stack
 * @param {number} sinceMs
 * @returns {Promise<Array<{ time: string, t: number, msg: string, id?: string, status?: string }>>}
 */
export async function registratorLog(stack, sinceMs) {
  const out = [];
  for (const line of await containerLogs(`${stack}-registrator`, sinceMs)) {
    try {
      const entry = JSON.parse(line);
      out.push({ ...entry, t: Date.parse(entry.time) });
    } catch {
      // not one of the agent's JSON lines
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Stacks: each benchmark brings up its own and always takes it down with --volumes.

/** Stacks to take down when the run is interrupted. */
const active = new Set();

/** Takes down every stack a benchmark still holds (Ctrl-C, a crash). */
export async function downAll() {
  await Promise.all([...active].map((s) => downStack(s)));
}

/** @param {string} stack */
export async function downStack(stack) {
  const res = await drcon(["down", "--stack", stack, "--volumes"], { check: false });
  if (res.code !== 0) console.error(`drcon down --stack ${stack} --volumes failed: ${res.stderr}`);
  return res;
}

/**
 * Runs `fn` while `stack` is guarded: anything left of it is taken down first, and it is taken
 * down (with --volumes) afterwards, also when `fn` throws or the run is interrupted.
 * @template T
 * @param {string} stack
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function guardStack(stack, fn) {
  const left = await engine.listContainers({ [LABELS.stack]: stack });
  const nets = await engine.listNetworks({ [LABELS.stack]: stack });
  if (left.length || nets.length) await downStack(stack);
  active.add(stack);
  try {
    return await fn();
  } finally {
    await downStack(stack);
    active.delete(stack);
  }
}

/**
 * @typedef {{ stack: string, port: number, consulPort: number, flags: string[],
 *   lbUrl: string, consulUrl: string, consul: ConsulApi }} Stack
 */

/**
 * Brings up `stack` (drcon up), scales simple to `instances`, runs `fn`, takes it down.
 * @template T
 * @param {{ stack: string, port: number, consulPort: number, instances?: number }} opts
 * @param {(s: Stack) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export function withStack(opts, fn) {
  const { stack, port, consulPort, instances = 0 } = opts;
  return guardStack(stack, async () => {
    const flags = ["--stack", stack];
    await drcon(["up", ...flags, "--port", String(port), "--consul-port", String(consulPort)]);
    if (instances > 0) await drcon(["scale", `simple=${instances}`, ...flags]);
    return fn({
      stack,
      port,
      consulPort,
      flags,
      lbUrl: `http://127.0.0.1:${port}`,
      consulUrl: `http://127.0.0.1:${consulPort}`,
      consul: new ConsulApi("127.0.0.1", consulPort),
    });
  });
}

/**
 * @typedef {import("../dist/watch/stats.js").RequestRecord} RequestRecord
 * @typedef {{ records: RequestRecord[], resent: Set<number>, start: number,
 *   done: Promise<RequestRecord[]>, stop: () => Promise<RequestRecord[]> }} Loop
 */

/**
 * GET requests at a fixed rate through drcon watch's own request loop (dist/watch/request-loop.js),
 * every record kept, in the order the answers came. `connections`: "keep-alive" (at most
 * `concurrency` in flight; a request whose reused connection is reset before any answer, as
 * nginx does to idle connections when it reloads, is re-sent once on a fresh connection unless
 * `retry` is false: a client that does not retry) or "fresh" (a connection per request; the
 * concurrency then bounds nothing that the timeout does not). `tag` names each request in the
 * query string (`?b=<tag>-<seq>`) so that the LB's error log names it. Stops by itself after
 * `durationMs`, or at `stop()`, which lets every request in flight have its answer.
 * @param {string} url
 * @param {{ rate: number, durationMs?: number, connections?: "keep-alive" | "fresh",
 *   retry?: boolean, concurrency?: number, tag?: string, timeoutMs?: number }} options
 * @returns {Loop}
 */
export function requestLoop(url, options) {
  const { rate, durationMs, connections = "keep-alive", retry = true, tag } = options;
  const { timeoutMs = 5000 } = options;
  const concurrency =
    options.concurrency ??
    (connections === "fresh" ? Math.ceil((rate * timeoutMs) / 1000) + 1 : 50);
  /** @type {RequestRecord[]} */
  const records = [];
  /** @type {Set<number>} */
  const resent = new Set();
  const abort = new AbortController();
  const start = Date.now();
  const done = runRequestLoop(
    {
      url,
      rate,
      concurrency,
      timeoutMs,
      ...(durationMs === undefined ? {} : { durationMs }),
      signal: abort.signal,
      // Every request in flight at stop() ends by itself (answer or timeout) before it is cut.
      drainMs: timeoutMs + 1000,
      connections,
      retryReset: retry,
      onRetry: (seq) => resent.add(seq),
      ...(tag ? { query: (/** @type {number} */ seq) => `b=${tag}-${seq}` } : {}),
    },
    (r) => records.push(r),
  ).then(() => records);
  return {
    records,
    resent,
    start,
    done,
    async stop() {
      abort.abort();
      return done;
    },
  };
}

/**
 * drcon watch's statistics over a set of records: the summary `drcon watch` prints.
 * @param {RequestRecord[]} records
 * @param {number} startedAt
 */
export function summaryOf(records, startedAt) {
  const stats = new RunStats(startedAt);
  for (const r of records) stats.record(r);
  return stats.summary(Date.now());
}

// ---------------------------------------------------------------------------------------------
// CPU and memory of a child process, from /proc.

let clkTck = 0;
/** Kernel clock ticks per second (utime/stime unit in /proc/<pid>/stat). */
async function ticksPerSecond() {
  if (!clkTck) clkTck = Number((await run("getconf", ["CLK_TCK"])).stdout.trim()) || 100;
  return clkTck;
}

/**
 * CPU seconds (user + system) and memory of a live process; undefined once it has gone.
 * @param {number} pid
 */
export async function procSample(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
    const hz = await ticksPerSecond();
    const cpuS = (Number(fields[11]) + Number(fields[12])) / hz;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (/** @type {string} */ key) =>
      Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? Number.NaN);
    return { t: Date.now(), cpuS, rssMB: kb("VmRSS") / 1024, hwmMB: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

/** @typedef {{ type: string, [key: string]: any }} WatchLine */
/**
 * @typedef {{ summary: any, requests: WatchLine[], events: WatchLine[], startAt: number,
 *   cpu: { steadyPct: number | null, steadyWindowS: number, totalS: number | null, peakRssMB: number | null },
 *   code: number, stderr: string }} WatchRun
 */

/**
 * Runs `drcon watch --json` against a stack and samples its CPU every 250 ms. The steady CPU
 * leaves out Node's start-up and the routing table's first answers: it is taken from 1 s after
 * the first request to 0.5 s before the end of the requested duration.
 * @param {Stack} s
 * @param {{ rate: number, durationS: number, keepRequests?: boolean, onStart?: (t: number) => void }} options
 * @returns {Promise<WatchRun>}
 */
export async function runWatch(s, { rate, durationS, keepRequests = false, onStart }) {
  /** @type {WatchLine[]} */
  const requests = [];
  /** @type {WatchLine[]} */
  const events = [];
  /** @type {any} */
  let summary;
  let startAt = 0;
  let buf = "";
  /** @param {string} line */
  const onLine = (line) => {
    /** @type {WatchLine} */
    let obj;
    try {
      obj = JSON.parse(line);
    } catch {
      return;
    }
    if (obj.type === "request") {
      if (!startAt) {
        startAt = Date.now();
        onStart?.(startAt);
      }
      if (keepRequests) requests.push(obj);
    } else if (obj.type === "summary") summary = obj;
    else if (obj.type === "event") events.push(obj);
  };
  const watch = startCli(
    ["watch", ...s.flags, "--rate", String(rate), "--duration", `${durationS}s`, "--json"],
    {
      cwd: WORKDIR,
      timeoutMs: (durationS + 60) * 1000,
      onStdout: (chunk) => {
        const lines = (buf + chunk).split("\n");
        buf = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) onLine(line);
      },
    },
  );
  const pid = /** @type {number} */ (watch.child.pid);
  /** @type {NonNullable<Awaited<ReturnType<typeof procSample>>>[]} */
  const samples = [];
  const sampler = setInterval(async () => {
    const x = await procSample(pid);
    if (x) samples.push(x);
  }, 250);
  const { code, stderr } = await watch.closed.finally(() => clearInterval(sampler));
  const from = startAt + 1000;
  const to = startAt + durationS * 1000 - 500;
  const steady = samples.filter((x) => x.t >= from && x.t <= to);
  const first = steady[0];
  const last = steady.at(-1);
  const windowS = first && last ? (last.t - first.t) / 1000 : 0;
  const tail = samples.at(-1);
  return {
    summary,
    requests,
    events,
    startAt,
    code,
    stderr,
    cpu: {
      steadyPct:
        first && last && windowS > 0 ? round(((last.cpuS - first.cpuS) / windowS) * 100, 1) : null,
      steadyWindowS: round(windowS, 2),
      totalS: tail ? round(tail.cpuS, 2) : null,
      peakRssMB: tail ? round(tail.hwmMB, 1) : null,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The machine, and what else runs on the engine while a benchmark does.

export async function machine() {
  const v = await engine.version().catch(() => undefined);
  const mem = totalmem() / 1024 ** 3;
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: round(mem, 1),
    kernel: release(),
    docker: v ? `${v.version} (API ${v.apiVersion})` : "unreachable",
    node: process.version,
  };
}

/** Other drcon stacks' containers and whether vitest runs, right now. */
async function othersNow(/** @type {Set<string>} */ own) {
  const [vitest, ps] = await Promise.all([
    run("pgrep", ["-f", "vitest"]),
    run("docker", [
      "ps",
      "-a",
      "--filter",
      `label=${LABELS.stack}`,
      "--format",
      `{{.Label "${LABELS.stack}"}} {{.Names}} {{.State}}`,
    ]),
  ]);
  /** @type {Map<string, string[]>} */
  const stacks = new Map();
  for (const line of ps.stdout.split("\n").filter(Boolean)) {
    const [stack = "", ...rest] = line.split(" ");
    if (own.has(stack)) continue;
    stacks.set(stack, [...(stacks.get(stack) ?? []), rest.join(" ")]);
  }
  return { vitest: vitest.stdout.trim() !== "", stacks };
}

/**
 * Waits (up to `maxWaitS`) until no vitest runs and no other drcon stack changes for 5 s.
 * @param {string[]} own this benchmark's stacks
 * @param {number} maxWaitS
 */
export async function waitQuiet(own, maxWaitS) {
  const ownSet = new Set(own);
  const deadline = Date.now() + maxWaitS * 1000;
  let told = false;
  for (;;) {
    const a = await othersNow(ownSet);
    await sleep(5000);
    const b = await othersNow(ownSet);
    const same = JSON.stringify([...a.stacks]) === JSON.stringify([...b.stacks]);
    if (!a.vitest && !b.vitest && same) return true;
    if (Date.now() > deadline) {
      console.log(`machine still busy after ${maxWaitS} s; running anyway (see activity)`);
      return false;
    }
    if (!told) {
      told = true;
      const others = [...b.stacks.keys()].join(", ") || "none";
      console.log(`waiting for a quiet machine (vitest: ${b.vitest}, other stacks: ${others})`);
    }
  }
}

/**
 * Samples, every 3 s until stopped, whether vitest ran and which other drcon stacks existed or
 * changed (containers made or removed): what a benchmark's figures may have overlapped with.
 * @param {string[]} own
 */
export function activityMonitor(own) {
  const ownSet = new Set(own);
  let vitestSamples = 0;
  let samples = 0;
  /** @type {Map<string, Set<string>>} */
  const seen = new Map();
  /** @type {Set<string>} */
  const changed = new Set();
  /** @type {Map<string, string> | undefined} */
  let previous;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const now = await othersNow(ownSet);
      samples++;
      if (now.vitest) vitestSamples++;
      /** @type {Map<string, string>} */
      const snapshot = new Map();
      for (const [stack, containers] of now.stacks) {
        const set = seen.get(stack) ?? new Set();
        for (const c of containers) set.add(c.split(" ")[0] ?? c);
        seen.set(stack, set);
        snapshot.set(stack, containers.join(","));
      }
      if (previous) {
        for (const stack of new Set([...snapshot.keys(), ...previous.keys()])) {
          if (snapshot.get(stack) !== previous.get(stack)) changed.add(stack);
        }
      }
      previous = snapshot;
      for (let i = 0; i < 30 && !stopped; i++) await sleep(100);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const otherStacks = [...seen.keys()].sort();
      return {
        quiet: vitestSamples === 0 && changed.size === 0,
        samples,
        vitestSamples,
        otherStacks,
        otherStacksChanging: [...changed].sort(),
      };
    },
  };
}
