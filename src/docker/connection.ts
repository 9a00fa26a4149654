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

/** The engine's socket as the engine itself sees it: what a container that talks to it mounts. */
export interface EngineSocket {
  path: string;
  /** Why this path, in a few words (shown by `drcon doctor`). */
  why: string;
}

/**
 * The socket to bind-mount into the registrator, decided as testcontainers does
 * (remote-container-runtime-socket-path.ts): an explicit override first; then, when the client
 * reaches the engine through a socket forwarded from a VM (Docker Desktop, colima, OrbStack) or
 * not through a socket at all (tcp://, ssh://), the engine's own /var/run/docker.sock; otherwise
 * (a local engine, rootless included) the same socket the client uses, which the engine sees at
 * the same path.
 */
export function engineSocket(
  endpoint: Endpoint,
  engineOs: string,
  env: NodeJS.ProcessEnv = process.env,
  home = homedir(),
): EngineSocket {
  if (env.DRCON_DOCKER_SOCKET) return { path: env.DRCON_DOCKER_SOCKET, why: "DRCON_DOCKER_SOCKET" };
  if (!("socketPath" in endpoint.options)) {
    return {
      path: DEFAULT_SOCKET,
      why: `the engine's own socket (reached over ${scheme(endpoint)})`,
    };
  }
  if (engineOs === "Docker Desktop") {
    return { path: DEFAULT_SOCKET, why: "the engine's own socket inside Docker Desktop's VM" };
  }
  const vm = forwardedFrom(endpoint.options.socketPath, home);
  if (vm) return { path: DEFAULT_SOCKET, why: `the engine's own socket inside ${vm}'s VM` };
  return { path: endpoint.options.socketPath, why: "the socket drcon uses (a local engine)" };
}

// Sockets that VM-based engines forward to the user's side; the engine inside listens on
// /var/run/docker.sock.
function forwardedFrom(socketPath: string, home: string): string | undefined {
  const under = (...parts: string[]) => socketPath.startsWith(`${join(home, ...parts)}/`);
  if (under(".docker", "run") || under(".docker", "desktop")) return "Docker Desktop";
  if (under(".colima")) return "colima";
  if (under(".orbstack")) return "OrbStack";
  if (under(".lima")) return "Lima";
  return undefined;
}

function scheme(endpoint: Endpoint): string {
  return endpoint.url.split("://")[0] ?? endpoint.url;
}
