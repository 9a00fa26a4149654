// Shared by every benchmark: the real CLI as a child process, a stack up and always down again,
// medians and percentiles, markdown tables, the closing JSON line, the CPU of a child process
// and a look at what else runs on the engine. Benchmarks import from here, never copy.
import { execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../dist/config/load.js";
import { ConsulApi } from "../dist/consul/client.js";
import { LABELS } from "../dist/contract.js";
import { DockerEngine } from "../dist/docker/engine.js";
import { classifyError, classifyResponse, FAILURE_KINDS } from "../dist/watch/stats.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "run.js");
const CI_ENV = join(ROOT, "test", "images", "ci.env");
/** drcon runs here, so that no drcon.yml of the working directory changes what is measured. */
export const WORKDIR = tmpdir();

export const engine = new DockerEngine();
export { ConsulApi, FAILURE_KINDS, LABELS };

// ---------------------------------------------------------------------------------------------
// Environment: the offline stand-in images unless the caller set DRCON_IMAGE_* / DRCON_PULL.

/** Fills DRCON_* settings from test/images/ci.env where the environment does not set them. */
export function applyStandInEnv() {
  const applied = [];
  if (existsSync(CI_ENV)) {
    for (const line of readFileSync(CI_ENV, "utf8").split("\n")) {
      const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
      if (!m || m[1] === undefined || process.env[m[1]] !== undefined) continue;
      process.env[m[1]] = m[2];
      applied.push(m[1]);
    }
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
// Time, statistics

export const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Quantile by linear interpolation between closest ranks (q in 0..1); undefined when empty.
 * @param {number[]} values
 * @param {number} q
 */
export function percentile(values, q) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const pos = (v.length - 1) * q;
  const lo = v[Math.floor(pos)] ?? 0;
  const hi = v[Math.ceil(pos)] ?? 0;
  return lo + (hi - lo) * (pos - Math.floor(pos));
}

/** @param {number[]} values */
export const median = (values) => percentile(values, 0.5);

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

/** @param {number} x @param {number} [digits] */
export function round(x, digits = 1) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
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
// Child processes: the real CLI, and the docker CLI where the engine module has no call for it.

/** @typedef {{ code: number, stdout: string, stderr: string, ms: number }} CliResult */

/**
 * Runs `node bin/run.js ...args`; rejects on a non-zero exit unless `check` is false. `onStdout`
 * sees each chunk of stdout as it arrives (to time the CLI's progress lines).
 * @param {string[]} args
 * @param {{ check?: boolean, timeoutMs?: number, onStdout?: (chunk: string) => void }} [options]
 * @returns {Promise<CliResult>}
 */
export async function drcon(args, { check = true, timeoutMs = 180_000, onStdout } = {}) {
  const t0 = performance.now();
  const run = gathering(process.execPath, [BIN, ...args]);
  if (onStdout) run.child.stdout.on("data", onStdout);
  const timer = setTimeout(() => run.child.kill("SIGTERM"), timeoutMs);
  const code = await run.closed.finally(() => clearTimeout(timer));
  const { stdout, stderr } = run.output;
  const result = { code, stdout, stderr, ms: performance.now() - t0 };
  if (check && code !== 0) {
    const why = (stderr.trim() || stdout.trim()).split("\n").slice(-3).join(" / ");
    throw new Error(`drcon ${args.join(" ")} exited ${code}: ${why}`);
  }
  return result;
}

/**
 * Starts a program (no shell, in WORKDIR) and gathers what it writes; `closed` resolves with its
 * exit code once it has ended.
 * @param {string} file
 * @param {string[]} args
 */
export function gathering(file, args) {
  const child = spawn(file, args, {
    cwd: WORKDIR,
    env: process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  child.stdout.setEncoding("utf8").on("data", (d) => {
    output.stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d) => {
    output.stderr += d;
  });
  /** @type {Promise<number>} */
  const closed = new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
  return { child, output, closed };
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
 * One GET on a fresh connection.
 * @param {string} url
 * @param {{ host?: string, timeoutMs?: number }} [options]
 * @returns {Promise<{ status: number, upstream: string | undefined, body: string }>}
 */
export function get(url, { host, timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: host ? { Host: host } : {}, timeout: timeoutMs, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => {
          const upstream = res.headers["x-drcon-upstream"];
          resolve({
            status: res.statusCode ?? 0,
            upstream: typeof upstream === "string" ? upstream : undefined,
            body,
          });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/**
 * @typedef {{ seq: number, sentAt: number, doneAt?: number, status?: number, upstream?: string,
 *   failure?: string, error?: string, retried?: boolean }} LoopRecord
 */

/**
 * GET requests at a fixed rate, open loop (request n is due at start + n / rate, so slow answers
 * do not slow the rate), each recorded with drcon watch's failure kinds (dist/watch/stats.js).
 * With `keepAlive`, requests share connections, at most `concurrency` in flight, and a request
 * whose reused connection is reset before any answer (nginx closes idle connections when it
 * reloads) is sent once more on a fresh connection, as Node's documentation advises (unless
 * `retry` is false: a client that does not retry); without it, every request has its own
 * connection. `tag` goes into the query string (`?b=<tag>-<n>`) so
 * that the LB's error log names the request. Stops by itself after `durationMs`, or at `stop()`.
 * @param {string} url
 * @param {{ rate: number, durationMs?: number, keepAlive?: boolean, retry?: boolean,
 *   concurrency?: number, tag?: string, timeoutMs?: number }} options
 */
export function openLoop(url, options) {
  const { rate, durationMs, keepAlive = false, retry = true, concurrency = 50, tag } = options;
  const { timeoutMs = 5000 } = options;
  const agent = keepAlive
    ? new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency })
    : false;
  /** @type {LoopRecord[]} */
  const records = [];
  /** @type {Set<Promise<void>>} */
  const inflight = new Set();
  const interval = 1000 / rate;
  const limit =
    durationMs === undefined ? Number.POSITIVE_INFINITY : Math.ceil(durationMs / interval);
  const start = Date.now();
  let seq = 0;
  let stopped = false;
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  /** @type {(v?: unknown) => void} */
  let ended = () => {};
  const done = new Promise((r) => {
    ended = r;
  });

  /** @param {LoopRecord} rec @param {boolean} fresh @param {() => void} finish */
  const attempt = (rec, fresh, finish) => {
    const target = tag ? `${url}${url.includes("?") ? "&" : "?"}b=${tag}-${rec.seq}` : url;
    const req = request(target, { agent: fresh ? false : agent, timeout: timeoutMs }, (res) => {
      const status = res.statusCode ?? 0;
      const upstream = res.headers["x-drcon-upstream"];
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        if (status >= 500 && body.length < 4096) body += c;
      });
      res.on("error", (/** @type {Error & { code?: string }} */ err) => {
        rec.failure = classifyError(err);
        rec.error = err.code ?? err.message;
        finish();
      });
      res.on("end", () => {
        rec.status = status;
        if (typeof upstream === "string") rec.upstream = upstream.split(/\s*,\s*/).pop();
        const failure = classifyResponse(status, body);
        if (failure) {
          rec.failure = failure;
          rec.error = `HTTP ${status}`;
        }
        finish();
      });
    });
    req.on("timeout", () =>
      req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })),
    );
    req.on("error", (/** @type {Error & { code?: string }} */ err) => {
      if (rec.doneAt !== undefined || rec.failure !== undefined) return;
      if (retry && !fresh && keepAlive && req.reusedSocket && err.code === "ECONNRESET") {
        rec.retried = true;
        attempt(rec, true, finish);
        return;
      }
      rec.failure = classifyError(err);
      rec.error = err.code ?? err.message;
      finish();
    });
    req.end();
  };

  const fire = () => {
    /** @type {LoopRecord} */
    const rec = { seq: ++seq, sentAt: Date.now() };
    records.push(rec);
    const p = new Promise((resolve) => {
      attempt(rec, false, () => {
        if (rec.doneAt === undefined) rec.doneAt = Date.now();
        resolve(undefined);
      });
    }).then(() => {
      inflight.delete(p);
      pump();
      if ((stopped || seq >= limit) && inflight.size === 0) ended();
    });
    inflight.add(p);
  };

  const pump = () => {
    if (stopped || seq >= limit) return;
    const due = Math.min(limit, Math.floor((Date.now() - start) / interval) + 1);
    while (seq < due && (!keepAlive || inflight.size < concurrency)) fire();
    clearTimeout(timer);
    if (seq >= limit) return;
    if (seq < due) return; // at the concurrency limit: the next answer pumps again
    timer = setTimeout(pump, Math.max(0, start + seq * interval - Date.now()));
  };
  pump();

  return {
    records,
    start,
    /** Resolves when the last request of the duration has its answer. */
    done: done.then(() => {
      if (agent) agent.destroy();
      return records;
    }),
    /** Stops sending; resolves once every request in flight has its answer. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.all([...inflight]);
      if (agent) agent.destroy();
      return records;
    },
  };
}

/**
 * What the LB's loaded configuration routes to (`GET /routes`, `Host: _drcon`), asked on a fresh
 * connection: a kept-alive one may sit on an old nginx worker that still serves the config from
 * before a reload (drcon's own fetchRoutes keeps connections alive).
 * @param {string} lbUrl
 * @returns {Promise<{ rendered: string, default: string, services: Record<string, string[]> }>}
 */
export async function routesNow(lbUrl, timeoutMs = 2000) {
  const r = await get(`${lbUrl}/routes`, { host: "_drcon", timeoutMs });
  if (r.status !== 200) throw new Error(`LB answered ${r.status} for its routes`);
  return JSON.parse(r.body);
}

/**
 * Polls `check` every `intervalMs` until it gives a value other than undefined.
 * @template T
 * @param {() => Promise<T | undefined> | T | undefined} check
 * @param {string} what
 * @returns {Promise<T>}
 */
export async function until(check, what, { timeoutMs = 30_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = ` (last error: ${/** @type {Error} */ (err).message})`;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last}`);
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
export function runWatch(s, { rate, durationS, keepRequests = false, onStart }) {
  return new Promise((resolve, reject) => {
    const args = [
      BIN,
      "watch",
      ...s.flags,
      "--rate",
      String(rate),
      "--duration",
      `${durationS}s`,
      "--json",
    ];
    const child = spawn(process.execPath, args, {
      cwd: WORKDIR,
      env: process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pid = /** @type {number} */ (child.pid);
    /** @type {NonNullable<Awaited<ReturnType<typeof procSample>>>[]} */
    const samples = [];
    const sampler = setInterval(async () => {
      const x = await procSample(pid);
      if (x) samples.push(x);
    }, 250);
    /** @type {WatchLine[]} */
    const requests = [];
    /** @type {WatchLine[]} */
    const events = [];
    /** @type {any} */
    let summary;
    let startAt = 0;
    let buf = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d) => {
      stderr += d;
    });
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      buf += chunk;
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
        if (!line.trim()) continue;
        /** @type {WatchLine} */
        let obj;
        try {
          obj = JSON.parse(line);
        } catch {
          continue;
        }
        if (obj.type === "request") {
          if (!startAt) {
            startAt = Date.now();
            onStart?.(startAt);
          }
          if (keepRequests) requests.push(obj);
        } else if (obj.type === "summary") summary = obj;
        else if (obj.type === "event") events.push(obj);
      }
    });
    const killer = setTimeout(() => child.kill("SIGINT"), (durationS + 60) * 1000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(sampler);
      clearTimeout(killer);
      const from = startAt + 1000;
      const to = startAt + durationS * 1000 - 500;
      const steady = samples.filter((x) => x.t >= from && x.t <= to);
      const first = steady[0];
      const last = steady.at(-1);
      const windowS = first && last ? (last.t - first.t) / 1000 : 0;
      const tail = samples.at(-1);
      resolve({
        summary,
        requests,
        events,
        startAt,
        code: code ?? 1,
        stderr,
        cpu: {
          steadyPct:
            first && last && windowS > 0
              ? round(((last.cpuS - first.cpuS) / windowS) * 100, 1)
              : null,
          steadyWindowS: round(windowS, 2),
          totalS: tail ? round(tail.cpuS, 2) : null,
          peakRssMB: tail ? round(tail.hwmMB, 1) : null,
        },
      });
    });
  });
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
