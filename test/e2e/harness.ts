// Shared by the end-to-end tests: the skip rule, the stand-in images, and running the real CLI.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { waitFor } from "../../src/base/wait.js";
import { LABELS } from "../../src/contract.js";
import { DockerEngine } from "../../src/docker/engine.js";
import { get, type RequestOptions, runCli, standInEnv } from "../support/cli.ts";

export { get, type RequestOptions };

/** The environment e2e runs give the CLI: the caller's, with stand-in images unless set already. */
export const e2eEnv: Record<string, string | undefined> = {
  ...standInEnv(),
  ...process.env,
  NO_COLOR: "1",
};

let notified = false;

/**
 * The engine when e2e tests can run. Without an engine (or without the images the tests use)
 * they skip with one notice, unless DRCON_E2E=required, as in CI, where that is a failure.
 */
export async function e2eEngine(): Promise<DockerEngine | undefined> {
  const engine = new DockerEngine();
  let problem: string | undefined;
  try {
    await engine.version();
    const images = [
      "DRCON_IMAGE_CONSUL",
      "DRCON_IMAGE_CONSUL_TEMPLATE",
      "DRCON_IMAGE_NGINX",
      "DRCON_IMAGE_NODE",
      "DRCON_IMAGE_DEMO",
    ]
      .map((k) => e2eEnv[k])
      .filter((v): v is string => Boolean(v));
    const missing = [];
    for (const image of images) if (!(await engine.imageExists(image))) missing.push(image);
    if (images.length < 5 || missing.length > 0) {
      problem = `stand-in images missing (${missing.join(", ") || "DRCON_IMAGE_* not set"}): run bash test/images/build.sh`;
    }
  } catch (err) {
    problem = (err as Error).message;
  }
  if (!problem) return engine;
  if (process.env.DRCON_E2E === "required") throw new Error(`DRCON_E2E=required: ${problem}`);
  if (!notified) {
    notified = true;
    console.warn(
      `\n*** end-to-end tests skipped: ${problem}\n*** set DRCON_E2E=required to make this a failure\n`,
    );
  }
  return undefined;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real CLI (bin/run.js on the built dist/) and never throws on a non-zero exit. `via`
 * is a command that runs it (e.g. nsenter into another network namespace).
 */
export async function drcon(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 170_000,
  via: string[] = [],
): Promise<CliResult> {
  const { code, stdout, stderr } = await runCli(args, {
    env: { ...e2eEnv, ...env },
    timeoutMs,
    via,
  });
  return { code, stdout, stderr };
}

/** Everything on the engine that carries the stack's label: what a clean-up must leave empty. */
export async function leftovers(engine: DockerEngine, stack: string) {
  const selector = { [LABELS.stack]: stack };
  return {
    containers: (await engine.listContainers(selector)).map((c) => c.Names[0]),
    networks: (await engine.listNetworks(selector)).map((n) => n.Name),
    volumes: await engine.listVolumes(selector),
  };
}

/** drcon's instance containers of a stack, by their labels. */
export async function instanceContainers(engine: DockerEngine, stack: string) {
  return engine.listContainers({ [LABELS.stack]: stack, [LABELS.role]: "instance" });
}

/** Polls until `check` holds (through the product's waitFor); returns how long it took. */
export async function until(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const start = Date.now();
  await waitFor(async () => ((await check().catch(() => false)) ? true : undefined), what, {
    timeoutMs,
    intervalMs: 25,
  });
  return Date.now() - start;
}

/** The docker CLI, bounded in time; its stdout, trimmed. */
export async function docker(...args: string[]): Promise<string> {
  return (await promisify(execFile)("docker", args, { timeout: 60_000 })).stdout.trim();
}

/**
 * `docker run -d` by hand on the stack's network, as the seed does; labelled only so that the
 * test's clean-up (`drcon down`) finds it. Returns the container's id.
 */
export async function handRun(stack: string, name: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)("docker", [
    "run",
    "-d",
    "--name",
    name,
    "--network",
    stack,
    "--label",
    `io.drcon.stack=${stack}`,
    ...args,
  ]);
  return stdout.trim();
}
