import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { DrconError } from "../base/errors.js";
import { type Endpoint, type EngineSocket, engineSocket, resolveEndpoint } from "./connection.js";

export type ContainerSpec = Docker.ContainerCreateOptions & { name: string };
export type ContainerSummary = Docker.ContainerInfo;
export type ContainerDetails = Docker.ContainerInspectInfo;

/** One line of progress from a pull or a build. */
export type Progress = (line: string) => void;

const UNREACHABLE = new Set(["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET", "EHOSTUNREACH"]);

/**
 * How long an engine call may go without a byte from the engine. Creating, starting and
 * removing containers take well under a second, several under load: an engine silent for this
 * long is stuck, and a command waiting on it would hang for good.
 */
export const ENGINE_TIMEOUT_MS = 30_000;

/** The one door to the Docker engine: every engine call drcon makes goes through here. */
export class DockerEngine {
  readonly endpoint: Endpoint;
  /** Every call but the streams below: each one times out when the engine goes silent. */
  private readonly api: Docker;
  /**
   * Event streams stay quiet as long as nothing happens, and a build step or a pull can print
   * nothing for minutes: these only get a deadline for the engine's first answer.
   */
  private readonly streams: Docker;

  constructor(
    endpoint: Endpoint = resolveEndpoint(),
    readonly timeoutMs = ENGINE_TIMEOUT_MS,
  ) {
    this.endpoint = endpoint;
    this.api = new Docker({ ...endpoint.options, timeout: timeoutMs });
    // docker-modem reads `connectionTimeout` (until the response starts); dockerode's typings
    // leave it out.
    const untilAnswered = { ...endpoint.options, connectionTimeout: timeoutMs };
    this.streams = new Docker(untilAnswered);
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
    const stream = await this.call(() => this.streams.pull(ref));
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
        this.streams.buildImage(
          { context: dir, src: ["."] },
          { t: options.tag, buildargs: options.buildargs, labels: options.labels, rm: true },
        ),
      );
      await this.follow(stream, options.progress);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The network's id, creating it when missing; `created` tells which. */
  async ensureNetwork(
    name: string,
    labels: Record<string, string>,
  ): Promise<{ id: string; created: boolean }> {
    const existing = await this.call(() => this.api.listNetworks({ filters: { name: [name] } }));
    const found = existing.find((n) => n.Name === name);
    if (found) return { id: found.Id, created: false };
    const network = await this.call(() =>
      this.api.createNetwork({
        Name: name,
        Driver: "bridge",
        Labels: labels,
        CheckDuplicate: true,
      }),
    );
    return { id: network.id, created: true };
  }

  async ensureVolume(name: string, labels: Record<string, string>): Promise<boolean> {
    if (await this.inspectOrUndefined(() => this.api.getVolume(name).inspect())) return false;
    await this.call(() => this.api.createVolume({ Name: name, Labels: labels }));
    return true;
  }

  /** The labels of a volume, or undefined when there is no such volume. */
  async volumeLabels(name: string): Promise<Record<string, string> | undefined> {
    const volume = await this.inspectOrUndefined(() => this.api.getVolume(name).inspect());
    return volume ? (volume.Labels ?? {}) : undefined;
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

  /**
   * The container's processes as the engine's host lists them (`docker top`), one record per
   * process keyed by `ps`'s column titles (e.g. PID, COMMAND). `psArgs` must keep the PID column.
   */
  async processes(
    id: string,
    psArgs: string,
    timeoutMs: number,
  ): Promise<Array<Record<string, string>>> {
    const top = (await this.call(() =>
      this.api
        .getContainer(id)
        .top({ ps_args: psArgs, abortSignal: AbortSignal.timeout(timeoutMs) }),
    )) as { Titles: string[]; Processes: string[][] | null };
    return (top.Processes ?? []).map((row) =>
      Object.fromEntries(top.Titles.map((title, i) => [title, row[i] ?? ""])),
    );
  }

  /** The container's last non-empty line of output (stdout or stderr), or undefined. */
  async lastLogLine(id: string): Promise<string | undefined> {
    const raw = (await this.call(() =>
      this.api.getContainer(id).logs({ stdout: true, stderr: true, tail: 5, follow: false }),
    )) as unknown as Buffer;
    return demultiplexed(Buffer.from(raw))
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1);
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    const api = this.waitingForStop(timeoutSeconds);
    await this.ignoreGone(() => api.getContainer(id).stop({ t: timeoutSeconds }));
  }

  async restartContainer(id: string, timeoutSeconds: number): Promise<void> {
    const api = this.waitingForStop(timeoutSeconds);
    await this.call(() => api.getContainer(id).restart({ t: timeoutSeconds }));
  }

  /** A stop answers once the container exits, up to `timeoutSeconds` later: a longer deadline. */
  private waitingForStop(timeoutSeconds: number): Docker {
    return new Docker({
      ...this.endpoint.options,
      timeout: timeoutSeconds * 1000 + this.timeoutMs,
    });
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

  /** Every container attached to a network, whoever made it. */
  async networkContainers(id: string): Promise<Array<{ id: string; name: string }>> {
    const info = await this.call(() => this.api.getNetwork(id).inspect());
    return Object.entries(info.Containers ?? {}).map(([cid, c]) => ({ id: cid, name: c.Name }));
  }

  /** Detaches a container from a network; it keeps running. */
  async disconnectContainer(networkId: string, containerId: string): Promise<void> {
    await this.ignoreGone(() =>
      this.api.getNetwork(networkId).disconnect({ Container: containerId, Force: true }),
    );
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
      this.streams.getEvents({ filters, ...(since !== undefined ? { since } : {}) }),
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
    const started = Date.now();
    try {
      return await fn();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // docker-modem ends a silent call by destroying its socket: a reset after the timeout.
      if (code === "ECONNRESET" && Date.now() - started >= this.timeoutMs) {
        throw new DrconError(
          `the Docker engine at ${this.endpoint.url} did not answer within ${this.timeoutMs / 1000} s: is it overloaded or stuck? see \`docker info\``,
          { kind: "engine-unanswered", cause: err },
        );
      }
      if (code && UNREACHABLE.has(code)) {
        throw new DrconError(
          `Cannot reach the Docker engine at ${this.endpoint.url} (${this.endpoint.source}: ${code}): start Docker, or set DOCKER_HOST to your engine's socket`,
          { kind: "engine-unreachable", cause: err },
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

/**
 * A container's log as text: without a TTY the engine frames each chunk with an 8-byte header
 * (stream, 0, 0, 0, size as uint32 big-endian); with one the bytes come as they are.
 */
export function demultiplexed(raw: Buffer): string {
  if (raw.length < 8 || (raw[0] ?? 9) > 2 || raw[1] !== 0) return raw.toString("utf8");
  const parts: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}

export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

/** The engine's message for a failed call, without dockerode's "(HTTP code 500) ..." prefix. */
export function engineMessage(err: unknown): string {
  const json = (err as { json?: { message?: string } }).json;
  return (json?.message ?? (err as Error).message ?? String(err)).trim();
}

/** A container's name as the user sees it: Docker reports names with a leading slash. */
export function nameOf(c: ContainerSummary | ContainerDetails): string {
  const name = "Names" in c ? c.Names[0] : c.Name;
  return name?.replace(/^\//, "") ?? c.Id.slice(0, 12);
}
