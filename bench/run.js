// `npm run bench` runs every benchmark, `npm run bench -- NAME [NAME...]` the named ones, each on
// its own stack, one after another. Options (e.g. `-- convergence --trials 30`) go to every
// benchmark that has them; `npm run bench -- --help` lists them.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const NAMES = [
  "convergence",
  "zero-drop",
  "clients",
  "lb-overhead",
  "lifecycle",
  "footprint",
  "watch-loop",
  "deploy",
];
const ROOT = join(import.meta.dirname, "..");

if (!existsSync(join(ROOT, "dist", "commands"))) {
  console.error("dist/ is missing: run `npm run build` first (`npm run bench` does).");
  process.exit(2);
}

const lib = await import("./lib.js");

/**
 * @typedef {{ default: string, help: string }} Option
 * @typedef {{ description: string, stacks: string[], options: Record<string, Option>,
 *   run: (opts: Record<string, string>) => Promise<{ figures: object, targets?: any[], notes?: string[] }> }} Bench
 * @type {Map<string, Bench>}
 */
const benches = new Map();
for (const name of NAMES) benches.set(name, await import(`./${name}.js`));

/** @type {Record<string, Option>} */
const common = {
  "wait-quiet": {
    default: "600",
    help: "wait up to this many seconds for a quiet machine (no vitest, no other stack changing)",
  },
};

/** @type {Record<string, { type: "string" | "boolean" }>} */
const spec = { help: { type: "boolean" } };
for (const name of Object.keys(common)) spec[name] = { type: "string" };
for (const b of benches.values())
  for (const name of Object.keys(b.options)) spec[name] = { type: "string" };

const { values, positionals } = parseArgs({ options: spec, allowPositionals: true });

if (values.help) {
  console.log("npm run bench [-- NAME...] [--option value ...]\n");
  for (const [name, b] of benches) {
    console.log(`${name}: ${b.description}`);
    for (const [opt, o] of Object.entries(b.options)) {
      console.log(`    --${opt} (default ${o.default}): ${o.help}`);
    }
  }
  console.log("\nevery benchmark:");
  for (const [opt, o] of Object.entries(common)) {
    console.log(`    --${opt} (default ${o.default}): ${o.help}`);
  }
  process.exit(0);
}

const unknown = positionals.filter((p) => !benches.has(p));
if (unknown.length) {
  console.error(`no benchmark named ${unknown.join(", ")} (there are: ${NAMES.join(", ")})`);
  process.exit(2);
}
const selected = positionals.length ? positionals : NAMES;

let interrupted = false;
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, async () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: taking the benchmark stacks down`);
    await lib.downAll();
    process.exit(130);
  });
}

const applied = lib.applyStandInEnv();
const m = await lib.machine();
console.log(
  `machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, kernel ${m.kernel}, Docker ${m.docker}, Node ${m.node}`,
);
if (applied.length) console.log(`stand-in images from test/images/ci.env: ${applied.join(", ")}`);

let failed = 0;
for (const name of selected) {
  const bench = /** @type {Bench} */ (benches.get(name));
  /** @type {Record<string, string>} */
  const opts = {};
  for (const [opt, o] of Object.entries({ ...common, ...bench.options })) {
    const v = values[opt];
    opts[opt] = typeof v === "string" ? v : o.default;
  }
  console.log(`\n=== ${name}: ${bench.description}`);
  console.log(`started ${new Date().toISOString()}; options ${JSON.stringify(opts)}`);
  await lib.waitQuiet(bench.stacks, Number(opts["wait-quiet"]));
  const monitor = lib.activityMonitor(bench.stacks);
  try {
    const result = await bench.run(opts);
    const activity = await monitor.stop();
    if (!activity.quiet) {
      const parts = [];
      if (activity.vitestSamples)
        parts.push(`vitest ran (${activity.vitestSamples}/${activity.samples} samples)`);
      if (activity.otherStacksChanging.length)
        parts.push(`other stacks changed: ${activity.otherStacksChanging.join(", ")}`);
      result.notes = [
        ...(result.notes ?? []),
        `this run overlapped other work on the engine: ${parts.join("; ")}`,
      ];
    }
    lib.finish(name, { ...result, figures: { options: opts, ...result.figures }, activity });
  } catch (err) {
    failed++;
    const activity = await monitor.stop();
    console.error(`\n${name} failed: ${/** @type {Error} */ (err).stack ?? err}`);
    console.log(
      JSON.stringify({ bench: name, date: new Date().toISOString(), error: String(err), activity }),
    );
  }
}
process.exit(failed ? 1 : 0);
