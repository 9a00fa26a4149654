import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import type { z } from "zod";
import { DrconError } from "../base/errors.js";
import { DEFAULT_IMAGES, ENV_OVERRIDES } from "./defaults.js";
import { type Config, configSchema } from "./schema.js";

export const CONFIG_FILE = "drcon.yml";

export interface LoadOptions {
  /** Path given with --config; without it drcon.yml in cwd is used when present. */
  configPath?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from flags, which win over the environment and the file. */
  overrides?: Overrides;
}

type Overrides = { stack?: string; pull?: string; hostIp?: string; lb?: number; consul?: number };

type Raw = Record<string, unknown>;

/** Reads, merges (defaults < file < environment < flags) and validates the configuration. */
export function loadConfig(options: LoadOptions = {}): Config & { source: string } {
  const env = options.env ?? process.env;
  const { raw, source } = readRaw(options.configPath, options.cwd ?? process.cwd());
  applyEnv(raw, env);
  applyFlags(raw, options.overrides ?? {});
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new DrconError(describe(parsed.error, source, options.overrides ?? {}));
  }
  return { ...parsed.data, source };
}

function readRaw(configPath: string | undefined, cwd: string): { raw: Raw; source: string } {
  const path = configPath ? resolve(cwd, configPath) : resolve(cwd, CONFIG_FILE);
  if (!existsSync(path)) {
    if (configPath) throw new DrconError(`config file ${path} does not exist: check --config`);
    return { raw: {}, source: "embedded default" };
  }
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, "utf8"));
  } catch (err) {
    const first = (err as Error).message.split("\n")[0];
    throw new DrconError(`${path} is not valid YAML: ${first}`);
  }
  if (doc == null) return { raw: {}, source: path };
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new DrconError(`${path} must hold a mapping of settings (stack, services, ...)`);
  }
  return { raw: doc as Raw, source: path };
}

function section(raw: Raw, key: string): Raw {
  const value = raw[key];
  if (value && typeof value === "object" && !Array.isArray(value)) return value as Raw;
  const fresh: Raw = {};
  raw[key] = fresh;
  return fresh;
}

function applyEnv(raw: Raw, env: NodeJS.ProcessEnv): void {
  for (const [name, key] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value) section(raw, "images")[key] = value;
  }
  if (env.DRCON_PULL) raw.pull = env.DRCON_PULL;
  // DRCON_IMAGE_DEMO replaces the demo image wherever a service uses it (or names no image).
  const demo = env.DRCON_IMAGE_DEMO;
  if (!demo) return;
  if (raw.services === undefined) {
    raw.services = { simple: { image: demo } };
    return;
  }
  for (const service of Object.values(section(raw, "services"))) {
    if (!service || typeof service !== "object") continue;
    const s = service as Raw;
    if (s.image === undefined || s.image === DEFAULT_IMAGES.demo) s.image = demo;
  }
}

function applyFlags(raw: Raw, flags: Overrides): void {
  if (flags.stack !== undefined) raw.stack = flags.stack;
  if (flags.pull !== undefined) raw.pull = flags.pull;
  if (flags.hostIp !== undefined) raw.hostIp = flags.hostIp;
  if (flags.lb !== undefined) section(raw, "ports").lb = flags.lb;
  if (flags.consul !== undefined) section(raw, "ports").consul = flags.consul;
}

/** The flag that sets each overridable key, so that an error names what the user typed. */
const FLAGS: Record<string, { flag: string; from: keyof Overrides }> = {
  stack: { flag: "--stack", from: "stack" },
  pull: { flag: "--pull", from: "pull" },
  hostIp: { flag: "--host-ip", from: "hostIp" },
  "ports.lb": { flag: "--port", from: "lb" },
  "ports.consul": { flag: "--consul-port", from: "consul" },
};

/**
 * One line naming the offending key, e.g. `drcon.yml: services.web.port: ...`, or the flag when
 * a flag gave the value: `--host-ip foo: ...`.
 */
function describe(error: z.ZodError, source: string, overrides: Overrides): string {
  const issue = error.issues[0];
  if (!issue) return `${source}: invalid configuration`;
  const key = issue.path.join(".") || "(top level)";
  const byFlag = FLAGS[key];
  const value = byFlag ? overrides[byFlag.from] : undefined;
  if (byFlag && value !== undefined) return `${byFlag.flag} ${value}: ${issue.message}`;
  return `${source}: ${key}: ${issue.message}`;
}
