// lifecycle: wall time of `drcon up`, `drcon scale simple=10` (from 1) and `drcon down`, each
// beside its floor: the time the Docker API alone (dockerode through dist/docker/engine.js)
// takes to create and start, or remove, the same containers (same specs, images and network)
// on a second stack, measured in the same run, trials alternating.

import { builtImageTags } from "../dist/services/images.js";
import { consulSpec, instanceSpec, lbSpec, registratorSpec } from "../dist/stack/components.js";
import { stackLabels, volumeName } from "../dist/stack/names.js";
import {
  drcon,
  engine,
  fmtSpread,
  guardStack,
  LABELS,
  printTable,
  round,
  spread,
  stackConfig,
} from "./lib.js";

export const description =
  "wall time of drcon up / scale simple=10 (from 1) / down beside the Docker API floor for the same containers";
export const stacks = ["bench-life", "bench-lifef"];
export const options = {
  trials: { default: "5", help: "trials of each (drcon and floor alternate)" },
  "scale-to": { default: "10", help: "the count scaled to from 1" },
};

const STACK = "bench-life";
const PORT = 18787;
const CONSUL_PORT = 18788;
const FLOOR = "bench-lifef";
const FLOOR_PORT = 18789;
const FLOOR_CONSUL_PORT = 18790;

/** @param {Record<keyof typeof options, string>} opts */
export async function run(opts) {
  const trials = Number(opts.trials);
  const high = Number(opts["scale-to"]);
  return guardStack(STACK, () =>
    guardStack(FLOOR, async () => {
      // Warm-up, not counted: images built if missing, files in the page cache.
      await drconTrial(high);
      await floorTrial(high);
      /** @type {Array<Record<"up" | "scale" | "down", number>>} */
      const cli = [];
      /** @type {Array<Record<"up" | "scale" | "down", number>>} */
      const floor = [];
      for (let i = 1; i <= trials; i++) {
        cli.push(await drconTrial(high));
        floor.push(await floorTrial(high));
        const c = /** @type {Record<string, number>} */ (cli.at(-1));
        const f = /** @type {Record<string, number>} */ (floor.at(-1));
        console.log(
          `trial ${i}/${trials}: drcon up ${ms(c.up)} scale ${ms(c.scale)} down ${ms(c.down)} | floor up ${ms(f.up)} scale ${ms(f.scale)} down ${ms(f.down)}`,
        );
      }
      return summarise(cli, floor, trials, high);
    }),
  );
}

const ms = (/** @type {number | undefined} */ x) => `${round(x ?? Number.NaN, 0)} ms`;

/** drcon up, scale simple=1 (not timed), scale simple=N, down --volumes. @param {number} high */
async function drconTrial(high) {
  const flags = ["--stack", STACK];
  const up = await drcon([
    "up",
    ...flags,
    "--port",
    String(PORT),
    "--consul-port",
    String(CONSUL_PORT),
  ]);
  await drcon(["scale", "simple=1", ...flags]);
  const scale = await drcon(["scale", `simple=${high}`, ...flags]);
  const down = await drcon(["down", ...flags, "--volumes"]);
  return { up: up.ms, scale: scale.ms, down: down.ms };
}

/**
 * The same containers through the Docker API alone: network, volume and the three components
 * created and started one after another (as up must: each needs the one before); instance 1 (not
 * timed), then instances 2..N created and started at once (as scale does); then everything
 * removed, as down does.
 * @param {number} high
 */
async function floorTrial(high) {
  const config = stackConfig(FLOOR, { lb: FLOOR_PORT, consul: FLOOR_CONSUL_PORT });
  const images = builtImageTags(config);
  const socket =
    "socketPath" in engine.endpoint.options
      ? engine.endpoint.options.socketPath
      : "/var/run/docker.sock";
  const svc = config.services.simple;
  if (!svc) throw new Error("the configuration has no service simple");
  const createStart = async (/** @type {any} */ spec) => {
    const id = await engine.createContainer(spec);
    await engine.startContainer(id);
  };

  let t = performance.now();
  // The network's id is the key the registrator signs registrations with, as `up` passes it.
  const network = await engine.ensureNetwork(FLOOR, stackLabels(FLOOR, "consul"));
  await engine.ensureVolume(volumeName(FLOOR), stackLabels(FLOOR, "consul"));
  await createStart(consulSpec(config));
  await createStart(registratorSpec(config, images.registrator, socket, network.id));
  await createStart(lbSpec(config, images.lb, network.id));
  const up = performance.now() - t;

  await createStart(instanceSpec(config, "simple", svc, 1));
  t = performance.now();
  await Promise.all(
    Array.from({ length: high - 1 }, (_, i) =>
      createStart(instanceSpec(config, "simple", svc, i + 2)),
    ),
  );
  const scale = performance.now() - t;

  t = performance.now();
  const selector = { [LABELS.stack]: FLOOR };
  const containers = await engine.listContainers(selector);
  await Promise.all(containers.map((/** @type {any} */ c) => engine.removeContainer(c.Id)));
  for (const n of await engine.listNetworks(selector)) await engine.removeNetwork(n.Id);
  for (const v of await engine.listVolumes(selector)) await engine.removeVolume(v);
  const down = performance.now() - t;
  return { up, scale, down };
}

/**
 * @param {Array<Record<"up" | "scale" | "down", number>>} cli
 * @param {Array<Record<"up" | "scale" | "down", number>>} floor
 * @param {number} trials
 * @param {number} high
 */
function summarise(cli, floor, trials, high) {
  const ops = /** @type {const} */ (["up", "scale", "down"]);
  const labels = {
    up: "drcon up (images present)",
    scale: `drcon scale simple=${high} (from 1)`,
    down: "drcon down --volumes",
  };
  const floors = {
    up: "network, volume, 3 containers created + started",
    scale: `${high - 1} containers created + started at once`,
    down: `${high + 3} containers, network, volume removed`,
  };
  /** @type {Record<string, object>} */
  const fig = {};
  const rows = [];
  for (const op of ops) {
    const c = spread(
      cli.map((x) => x[op]),
      0,
    );
    const f = spread(
      floor.map((x) => x[op]),
      0,
    );
    const ratio = c.median !== null && f.median ? round(c.median / f.median, 1) : null;
    fig[op] = { drconMs: c, floorMs: f, ratio };
    rows.push([labels[op], fmtSpread(c), fmtSpread(f), floors[op], ratio]);
  }
  printTable(
    `Wall time (ms), median (min–max) over ${trials} trials; floor = Docker API alone, same run`,
    ["operation", "drcon", "floor", "floor does", "ratio (medians)"],
    rows,
  );
  return {
    figures: { trials, scaleTo: high, ...fig },
    notes: [
      "drcon's time includes Node and oclif starting (see footprint: drcon --version) and waiting until the stack works: up waits for Consul's leader, the registrator's first sync and the LB's first answer; scale waits until the LB routes every new instance. The floor waits for none of it.",
    ],
  };
}
