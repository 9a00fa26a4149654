import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { DrconError } from "../ui/errors.js";
import { type Endpoint, type EngineSocket, engineSocket, resolveEndpoint } from "./connection.js";

export type ContainerSpec = Docker.ContainerCreateOptions & { name: string };
export type ContainerSummary = Docker.ContainerInfo;
export type ContainerDetails = Docker.ContainerInspectInfo;

/** One line of progress from a pull or a build. */
export type Progress = (line: string) => void;

const UNREACHABLE = new Set(["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET", "EHOSTUNREACH"]);

/** The one door to the Docker engine: every engine call drcon makes goes through here. */
export class DockerEngine {
  readonly endpoint: Endpoint;
  private readonly api: Docker;

  constructor(endpoint: Endpoint = resolveEndpoint()) {
    this.endpoint = endpoint;
    this.api = new Docker(endpoint.options);
  }

  async version(): Promise<{ version: string; apiVersion: string; os: string }> {
    const v = await this.call(() => this.api.version());
    return { version: v.Version, apiVersion: v.ApiVersion, os: `${v.Os}/${v.Arch}` };
  }

  /** The engine's socket as a container on it mounts it (engineSocket: override, VM, local). */
  async socketForContainers(): Promise<EngineSocket> {
    // "Docker Desktop" in `docker info`'s OperatingSystem tells its VM apart.
    const info = await this.call(() => this.api.info());
    return engineSocket(this.endpoint, String(info.OperatingSystem ?? ""));
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.inspectOrUndefined(() => this.api.getImage(ref).inspect())) !== undefined;
  }

  async pullImage(ref: string, progress: Progress): Promise<void> {
    const stream = await this.call(() => this.api.pull(ref));
    await this.follow(stream, progress);
  }

  /** Builds `tag` from a folder; `extra` files (absolute paths) are copied into the context. */
  async buildImage(options: {
    contextDir: string;
    extra?: Record<string, string>;
    tag: string;
    buildargs: Record<string, string>;
    labels: Record<string, string>;
    progress: Progress;
  }): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "drcon-build-"));
    try {
      await cp(options.contextDir, dir, { recursive: true });
      for (const [name, source] of Object.entries(options.extra ?? {})) {
        await cp(source, join(dir, name));
      }
      const stream = await this.call(() =>
        this.api.buildImage(
          { context: dir, src: ["."] },
          { t: options.tag, buildargs: options.buildargs, labels: options.labels, rm: true },
        ),
      );
      await this.follow(stream, options.progress);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async ensureNetwork(name: string, labels: Record<string, string>): Promise<boolean> {
    const existing = await this.call(() => this.api.listNetworks({ filters: { name: [name] } }));
    if (existing.some((n) => n.Name === name)) return false;
    await this.call(() =>
      this.api.createNetwork({
        Name: name,
        Driver: "bridge",
        Labels: labels,
        CheckDuplicate: true,
      }),
    );
    return true;
  }

  async ensureVolume(name: string, labels: Record<string, string>): Promise<boolean> {
    if (await this.inspectOrUndefined(() => this.api.getVolume(name).inspect())) return false;
    await this.call(() => this.api.createVolume({ Name: name, Labels: labels }));
    return true;
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerSummary[]> {
    return this.call(() =>
      this.api.listContainers({ all: true, filters: { label: selector(labels) } }),
    );
  }

  /** Running containers attached to `network`, whoever made them (the registrator's view). */
  async runningOnNetwork(network: string): Promise<ContainerSummary[]> {
    return this.call(() =>
      this.api.listContainers({ filters: { network: [network], status: ["running"] } }),
    );
  }

  async listNetworks(labels: Record<string, string>): Promise<Docker.NetworkInspectInfo[]> {
    return this.call(() => this.api.listNetworks({ filters: { label: selector(labels) } }));
  }

  async listVolumes(labels: Record<string, string>): Promise<string[]> {
    const res = await this.call(() =>
      this.api.listVolumes({ filters: { label: selector(labels) } }),
    );
    return (res.Volumes ?? []).map((v) => v.Name);
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const container = await this.call(() => this.api.createContainer(spec));
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call(() => this.api.getContainer(id).start());
  }

  async inspectContainer(id: string): Promise<ContainerDetails | undefined> {
    return this.inspectOrUndefined(() => this.api.getContainer(id).inspect());
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await this.ignoreGone(() => this.api.getContainer(id).stop({ t: timeoutSeconds }));
  }

  async restartContainer(id: string, timeoutSeconds: number): Promise<void> {
    await this.call(() => this.api.getContainer(id).restart({ t: timeoutSeconds }));
  }

  async killContainer(id: string, signal: string): Promise<void> {
    await this.ignoreGone(() => this.api.getContainer(id).kill({ signal }));
  }

  /** Removes a container and its anonymous volumes; named volumes (Consul's data) stay. */
  async removeContainer(id: string): Promise<void> {
    await this.ignoreGone(() => this.api.getContainer(id).remove({ force: true, v: true }));
  }

  async removeNetwork(id: string): Promise<void> {
    await this.ignoreGone(() => this.api.getNetwork(id).remove());
  }

  async removeVolume(name: string): Promise<void> {
    await this.ignoreGone(() => this.api.getVolume(name).remove());
  }

  /**
   * A live stream of engine events from `since` (seconds, so that nothing is missed across a
   * reconnect), decoded one JSON object per event. Ends when the engine closes it.
   */
  async *events(filters: Record<string, string[]>, since?: number): AsyncGenerator<EngineEvent> {
    const stream = (await this.call(() =>
      this.api.getEvents({ filters, ...(since !== undefined ? { since } : {}) }),
    )) as NodeJS.ReadableStream;
    let buffer = "";
    for await (const chunk of stream) {
      buffer += chunk.toString();
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) yield JSON.parse(line) as EngineEvent;
        newline = buffer.indexOf("\n");
      }
    }
  }

  private follow(stream: NodeJS.ReadableStream, progress: Progress): Promise<void> {
    return new Promise((resolve, reject) => {
      this.api.modem.followProgress(
        stream,
        (err: Error | null, output: Array<{ error?: string }>) => {
          const failed = output?.find((o) => o.error);
          if (err || failed) reject(new DrconError(String(err?.message ?? failed?.error).trim()));
          else resolve();
        },
        (event: { status?: string; progress?: string; stream?: string; id?: string }) => {
          const text =
            event.stream ?? [event.id, event.status, event.progress].filter(Boolean).join(" ");
          if (text.trim()) progress(text.trim());
        },
      );
    });
  }

  private async inspectOrUndefined<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(fn);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  private async ignoreGone(fn: () => Promise<unknown>): Promise<void> {
    try {
      await this.call(fn);
    } catch (err) {
      // Already gone (404) or already stopped (304): the caller's goal is reached.
      if (statusOf(err) === 404 || statusOf(err) === 304) return;
      if (/is not running|removal of container .* is already in progress/i.test(String(err)))
        return;
      throw err;
    }
  }

  /** Runs an engine call, turning "no engine there" into one line that says how to fix it. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code && UNREACHABLE.has(code)) {
        throw new DrconError(
          `Cannot reach the Docker engine at ${this.endpoint.url} (${this.endpoint.source}: ${code}): start Docker, or set DOCKER_HOST to your engine's socket`,
          { cause: err },
        );
      }
      throw err;
    }
  }
}

export interface EngineEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
}

function selector(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}

export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

/** The engine's message for a failed call, without dockerode's "(HTTP code 500) ..." prefix. */
export function engineMessage(err: unknown): string {
  const json = (err as { json?: { message?: string } }).json;
  return (json?.message ?? (err as Error).message ?? String(err)).trim();
}
