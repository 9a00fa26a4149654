// footprint: what drcon costs the machine. Start-up wall time of `drcon --version` and
// `drcon status` (hyperfine), the registrator container's memory (docker stats and its cgroup),
// and the CPU of `drcon watch` at 500 requests/s (from /proc/<pid>/stat while it runs).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  drcon,
  engine,
  fmtSpread,
  printTable,
  ROOT,
  round,
  run as runProgram,
  runWatch,
  sleep,
  spread,
  target,
  WORKDIR,
  withStack,
} from "./lib.js";

export const description =
  "drcon --version / status wall time, the registrator's memory, drcon watch's CPU at 500 requests/s";
export const stacks = ["bench-fp"];
export const options = {
  runs: { default: "20", help: "timed runs of each command (after 3 warm-up runs)" },
  "watch-trials": { default: "3", help: "drcon watch runs at 500 requests/s" },
  "watch-duration": { default: "10", help: "seconds per watch run (at most 60)" },
};

const STACK = "bench-fp";
const PORT = 18791;
const CONSUL_PORT = 18792;

/** @param {Record<keyof typeof options, string>} opts */
export async function run(opts) {
  const runs = Number(opts.runs);
  const watchTrials = Number(opts["watch-trials"]);
  const watchS = Math.min(Number(opts["watch-duration"]), 60);
  return withStack(
    { stack: STACK, port: PORT, consulPort: CONSUL_PORT, instances: 1 },
    async (s) => {
      const bin = join(ROOT, "bin", "run.js");
      const commands = {
        "drcon --version": [process.execPath, bin, "--version"],
        "drcon status": [process.execPath, bin, "status", ...s.flags],
      };
      const timing = await timeCommands(commands, runs);

      // The registrator's memory: idle with 1 instance, with 10, and back at 1.
      const registrator = `${STACK}-registrator`;
      const id = (await engine.inspectContainer(registrator))?.Id ?? "";
      /** @type {Record<string, { statsMiB: number[], rssMiB: number[] }>} */
      const memory = {};
      const sample = async (/** @type {string} */ phase) => {
        memory[phase] = { statsMiB: [], rssMiB: [] };
        for (let i = 0; i < 5; i++) {
          const m = await registratorMemory(registrator, id);
          if (m.statsMiB !== null) memory[phase].statsMiB.push(m.statsMiB);
          if (m.rssMiB !== null) memory[phase].rssMiB.push(m.rssMiB);
          await sleep(1000);
        }
      };
      await sample("idle, 1 instance");
      await drcon(["scale", "simple=10", ...s.flags]);
      await sleep(2000);
      await sample("10 instances");
      await drcon(["scale", "simple=1", ...s.flags]);
      await sleep(2000);
      await sample("back at 1 instance");

      // drcon watch at 500 requests/s.
      /** @type {Array<{ cpuPct: number | null, rate: number, rssMB: number | null, failed: number }>} */
      const watch = [];
      for (let i = 0; i < watchTrials; i++) {
        const w = await runWatch(s, { rate: 500, durationS: watchS });
        watch.push({
          cpuPct: w.cpu.steadyPct,
          rate: w.summary?.ratePerSec ?? Number.NaN,
          rssMB: w.cpu.peakRssMB,
          failed: w.summary?.failed ?? Number.NaN,
        });
        console.log(
          `watch 500/s run ${i + 1}/${watchTrials}: ${w.cpu.steadyPct} % of a core, ${w.summary?.ratePerSec}/s achieved, peak RSS ${w.cpu.peakRssMB} MB`,
        );
      }
      return summarise(timing, memory, watch, { runs, watchS });
    },
  );
}

/**
 * hyperfine when installed (no shell, 3 warm-up runs), else timed here the same way.
 * @param {Record<string, string[]>} commands
 * @param {number} runs
 * @returns {Promise<Record<string, { tool: string, ms: import("./lib.js").Spread, meanMs: number }>>}
 */
async function timeCommands(commands, runs) {
  /** @type {Record<string, { tool: string, ms: import("./lib.js").Spread, meanMs: number }>} */
  const out = {};
  const hyperfine = (await runProgram("hyperfine", ["--version"])).code === 0;
  for (const [name, argv] of Object.entries(commands)) {
    /** @type {number[]} */
    let times = [];
    if (hyperfine) {
      const file = join(WORKDIR, `drcon-bench-hyperfine-${process.pid}.json`);
      const res = await runProgram("hyperfine", [
        "-N",
        "--warmup",
        "3",
        "--runs",
        String(runs),
        "--export-json",
        file,
        argv.join(" "),
      ]);
      if (res.code !== 0) throw new Error(`hyperfine failed: ${res.stderr}`);
      times = JSON.parse(readFileSync(file, "utf8")).results[0].times.map(
        (/** @type {number} */ x) => x * 1000,
      );
    } else {
      for (let i = 0; i < runs + 3; i++) {
        const t = performance.now();
        const res = await runProgram(/** @type {string} */ (argv[0]), argv.slice(1));
        if (res.code !== 0) throw new Error(`${name} failed: ${res.stderr}`);
        if (i >= 3) times.push(performance.now() - t);
      }
    }
    out[name] = {
      tool: hyperfine ? "hyperfine -N" : "node timing",
      ms: spread(times, 0),
      meanMs: round(times.reduce((a, b) => a + b, 0) / times.length, 0),
    };
  }
  return out;
}

/**
 * `docker stats` memory (usage less page cache, as Docker shows it) and the cgroup's RSS.
 * @param {string} name
 * @param {string} id
 */
async function registratorMemory(name, id) {
  const res = await runProgram("docker", [
    "stats",
    "--no-stream",
    "--format",
    "{{.MemUsage}}",
    name,
  ]);
  const m = /^([\d.]+)\s*([KMG]i?B|B)/.exec(res.stdout.trim());
  const unit = {
    B: 1 / 1024 ** 2,
    KiB: 1 / 1024,
    MiB: 1,
    GiB: 1024,
    kB: 1 / 1024,
    MB: 1,
    GB: 1024,
  };
  const statsMiB = m
    ? Number(m[1]) * (unit[/** @type {keyof typeof unit} */ (m[2])] ?? Number.NaN)
    : null;
  let rssMiB = null;
  const v1 = `/sys/fs/cgroup/memory/docker/${id}/memory.stat`;
  const v2 = `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.stat`;
  const file = existsSync(v1) ? v1 : existsSync(v2) ? v2 : undefined;
  if (file) {
    const stat = readFileSync(file, "utf8");
    const bytes = /^(?:total_rss|anon) (\d+)$/m.exec(stat)?.[1];
    if (bytes) rssMiB = Number(bytes) / 1024 ** 2;
  }
  return { statsMiB, rssMiB };
}

/**
 * @param {Awaited<ReturnType<typeof timeCommands>>} timing
 * @param {Record<string, { statsMiB: number[], rssMiB: number[] }>} memory
 * @param {Array<{ cpuPct: number | null, rate: number, rssMB: number | null, failed: number }>} watch
 * @param {{ runs: number, watchS: number }} p
 */
function summarise(timing, memory, watch, p) {
  printTable(
    `Start-up wall time (ms), ${p.runs} runs after 3 warm-up runs, median (min–max)`,
    ["command", "wall time", "mean", "tool"],
    Object.entries(timing).map(([k, v]) => [k, fmtSpread(v.ms), v.meanMs, v.tool]),
  );
  const mem = Object.fromEntries(
    Object.entries(memory).map(([k, v]) => [
      k,
      { dockerStatsMiB: spread(v.statsMiB, 1), cgroupRssMiB: spread(v.rssMiB, 1) },
    ]),
  );
  printTable(
    "Registrator memory (MiB), 5 samples 1 s apart per phase, median (min–max)",
    ["phase", "docker stats", "cgroup RSS"],
    Object.entries(mem).map(([k, v]) => [
      k,
      fmtSpread(v.dockerStatsMiB),
      fmtSpread(v.cgroupRssMiB),
    ]),
  );
  const w = {
    cpuPctOfOneCore: spread(
      watch.map((x) => x.cpuPct ?? Number.NaN),
      1,
    ),
    achievedRatePerSec: spread(
      watch.map((x) => x.rate),
      1,
    ),
    peakRssMB: spread(
      watch.map((x) => x.rssMB ?? Number.NaN),
      1,
    ),
    failed: watch.reduce((a, x) => a + x.failed, 0),
  };
  printTable(
    `drcon watch --rate 500 --duration ${p.watchS}s --json, ${watch.length} runs, median (min–max)`,
    ["CPU % of one core (steady)", "achieved rate /s", "peak RSS MB", "failed requests"],
    [
      [
        fmtSpread(w.cpuPctOfOneCore),
        fmtSpread(w.achievedRatePerSec),
        fmtSpread(w.peakRssMB),
        w.failed,
      ],
    ],
  );
  const version = timing["drcon --version"]?.ms.median ?? null;
  const status = timing["drcon status"]?.ms.median ?? null;
  return {
    figures: {
      startupMs: Object.fromEntries(Object.entries(timing).map(([k, v]) => [k, v.ms])),
      registratorMemory: mem,
      watch500: w,
    },
    targets: [
      target(
        "drcon --version p50",
        version,
        300,
        "ms",
        "oclif: with no oclif.manifest.json it imports every command (and their modules: dockerode, consul, listr2, zod) before it prints the version",
      ),
      target(
        "drcon status p50",
        status,
        600,
        "ms",
        "Node start-up, module loading, and the Docker, Consul and LB calls",
      ),
    ],
  };
}
