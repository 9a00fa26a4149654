import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Where the engine is and how drcon found it, in the order the docker CLI looks. */
export interface Endpoint {
  /** As a user would write it: unix:///var/run/docker.sock, tcp://host:2375 */
  url: string;
  /** DOCKER_HOST, docker context "name", or default socket. */
  source: string;
  options: { socketPath: string } | { host: string; port: number; protocol: "http" | "https" };
}

export const DEFAULT_SOCKET = "/var/run/docker.sock";

export function resolveEndpoint(env: NodeJS.ProcessEnv = process.env, home = homedir()): Endpoint {
  if (env.DOCKER_HOST) return fromUrl(env.DOCKER_HOST, "DOCKER_HOST");
  const context = contextHost(env, home);
  if (context) return fromUrl(context.host, `docker context "${context.name}"`);
  return fromUrl(`unix://${DEFAULT_SOCKET}`, "default socket");
}

export function fromUrl(url: string, source: string): Endpoint {
  if (url.startsWith("unix://")) {
    return { url, source, options: { socketPath: url.slice("unix://".length) } };
  }
  const parsed = new URL(url.replace(/^tcp:/, "http:"));
  const secure = parsed.protocol === "https:" || parsed.port === "2376";
  return {
    url,
    source,
    options: {
      host: parsed.hostname,
      port: Number(parsed.port || (secure ? 2376 : 2375)),
      protocol: secure ? "https" : "http",
    },
  };
}

// The docker CLI keeps the current context in config.json and each context's endpoint in
// contexts/meta/<sha256 of its name>/meta.json.
function contextHost(
  env: NodeJS.ProcessEnv,
  home: string,
): { name: string; host: string } | undefined {
  const configDir = env.DOCKER_CONFIG ?? join(home, ".docker");
  let name = env.DOCKER_CONTEXT;
  if (!name) {
    const configFile = join(configDir, "config.json");
    if (!existsSync(configFile)) return undefined;
    name = readJson(configFile)?.currentContext as string | undefined;
  }
  if (!name || name === "default") return undefined;
  const digest = createHash("sha256").update(name).digest("hex");
  const meta = readJson(join(configDir, "contexts", "meta", digest, "meta.json"));
  const endpoints = meta?.Endpoints as Record<string, { Host?: string }> | undefined;
  const host = endpoints?.docker?.Host;
  return host ? { name, host } : undefined;
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
