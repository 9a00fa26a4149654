// `drcon up`'s container rule (reuse what is current, replace what is not, never touch what
// drcon did not make) and its rollback (a failed or interrupted run removes what it made, newest
// first, and says so), over a fake engine that records every call.
import type { ListrTask } from "listr2";
import { beforeEach, describe, expect, it } from "vitest";
import { InterruptedError } from "../../src/base/errors.js";
import { loadConfig } from "../../src/config/load.js";
import { LABELS } from "../../src/contract.js";
import type { ContainerDetails, ContainerSpec, DockerEngine } from "../../src/docker/engine.js";
import { consulSpec, GRACEFUL_STOP_S } from "../../src/stack/components.js";
import { volumeName } from "../../src/stack/names.js";
import { StackRuntime } from "../../src/stack/runtime.js";
import { ensureContainer, runUp, type UpContext } from "../../src/stack/up.js";

const config = loadConfig({ cwd: "/nonexistent-dir", env: {} });
const STACK = config.stack;
const spec = consulSpec(config);
const currentHash = spec.Labels?.[LABELS.spec] ?? "";

/** The engine as `up` sees it: a few containers by name, one network, one volume, and a log. */
class FakeEngine {
  readonly calls: string[] = [];
  readonly containers = new Map<string, ContainerDetails>();
  networkExists = false;
  volumeExists = false;
  startFails: Error | undefined;
  removeFails = new Set<string>();

  /** A container of this name, made by `stack` from a spec with `hash`. */
  holds(name: string, { stack = STACK, hash = currentHash, running = true } = {}): void {
    const details = {
      Id: `old-${name}`,
      Name: `/${name}`,
      Config: { Labels: stack ? { [LABELS.stack]: stack, [LABELS.spec]: hash } : {} },
      State: { Running: running },
    };
    this.containers.set(name, details as unknown as ContainerDetails);
  }

  async inspectContainer(name: string): Promise<ContainerDetails | undefined> {
    return this.containers.get(name);
  }

  async createContainer(s: ContainerSpec): Promise<string> {
    this.calls.push(`create container ${s.name}`);
    return `new-${s.name}`;
  }

  async startContainer(id: string): Promise<void> {
    this.calls.push(`start ${id}`);
    if (this.startFails) throw this.startFails;
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    this.calls.push(`stop ${id} (${timeoutSeconds} s)`);
  }

  async removeContainer(id: string): Promise<void> {
    this.removal(`remove container ${id}`);
  }

  async volumeLabels(): Promise<Record<string, string> | undefined> {
    return this.volumeExists ? {} : undefined;
  }

  async ensureNetwork(name: string): Promise<{ id: string; created: boolean }> {
    if (!this.networkExists) this.calls.push(`create network ${name}`);
    return { id: "network-id", created: !this.networkExists };
  }

  async ensureVolume(name: string): Promise<boolean> {
    if (!this.volumeExists) this.calls.push(`create volume ${name}`);
    return !this.volumeExists;
  }

  async removeNetwork(id: string): Promise<void> {
    this.removal(`remove network ${id}`);
  }

  async removeVolume(name: string): Promise<void> {
    this.removal(`remove volume ${name}`);
  }

  private removal(call: string): void {
    this.calls.push(call);
    if (this.removeFails.has(call)) throw new Error(`(HTTP code 409) conflict: ${call}`);
  }
}

/** What the engine answers when the port is taken, as dockerode hands it on. */
function engineError(message: string): Error {
  return Object.assign(new Error(`(HTTP code 500) server error - ${message}`), {
    statusCode: 500,
    json: { message },
  });
}

let engine: FakeEngine;
let ctx: UpContext;
const runtime = () => ({ name: STACK, engine });

beforeEach(() => {
  engine = new FakeEngine();
  ctx = { created: [], changed: [] };
});

describe("ensureContainer", () => {
  it("creates and starts a missing container, and records it as made by this run", async () => {
    expect(await ensureContainer(runtime(), ctx, spec)).toBe("created");
    expect(engine.calls).toEqual([`create container ${spec.name}`, `start new-${spec.name}`]);
    expect(ctx.created).toEqual([{ kind: "container", id: `new-${spec.name}`, name: spec.name }]);
    expect(ctx.changed).toEqual([`container ${spec.name}`]);
  });

  it("leaves a running container alone when its spec hash is current", async () => {
    engine.holds(spec.name);
    expect(await ensureContainer(runtime(), ctx, spec)).toBe("running");
    expect(engine.calls).toEqual([]);
    expect(ctx).toEqual({ created: [], changed: [] });
  });

  it.each([
    ["its spec hash differs", { hash: "0123456789ab" }],
    ["it is stopped", { running: false }],
  ])(
    "replaces the container when %s: stopped gracefully, removed, made anew",
    async (_why, how) => {
      engine.holds(spec.name, how);
      expect(await ensureContainer(runtime(), ctx, spec)).toBe("recreated");
      expect(engine.calls).toEqual([
        `stop old-${spec.name} (${GRACEFUL_STOP_S} s)`,
        `remove container old-${spec.name}`,
        `create container ${spec.name}`,
        `start new-${spec.name}`,
      ]);
      // The new one is this run's (a failed run removes it); the old one is gone for good.
      expect(ctx.created.map((c) => c.id)).toEqual([`new-${spec.name}`]);
    },
  );

  it.each([
    ["another stack", "other"],
    ["no drcon labels at all", ""],
  ])("refuses, in one line, a container of that name made by %s", async (_who, stack) => {
    engine.holds(spec.name, { stack });
    await expect(ensureContainer(runtime(), ctx, spec)).rejects.toThrow(
      `a container named ${spec.name} exists that drcon did not make: remove or rename it, or use another --stack`,
    );
    expect(engine.calls).toEqual([]);
  });

  it("names the taken address when the port went to someone else meanwhile", async () => {
    engine.startFails = engineError(
      "driver failed programming external connectivity on endpoint drcon-consul (1a2b): Error starting userland proxy: listen tcp4 127.0.0.1:8500: bind: address already in use",
    );
    await expect(ensureContainer(runtime(), ctx, spec)).rejects.toThrow(
      `${spec.name} could not publish 127.0.0.1:8500, taken meanwhile: free it or choose another port`,
    );
    // Made, then not started: still this run's to remove.
    expect(ctx.created.map((c) => c.id)).toEqual([`new-${spec.name}`]);
  });

  it("says which container did not start, in the engine's words", async () => {
    engine.startFails = engineError("OCI runtime create failed: no such file");
    const failure = ensureContainer(runtime(), ctx, spec);
    await expect(failure).rejects.toThrow(
      `${spec.name} did not start: OCI runtime create failed: no such file`,
    );
  });
});

describe("runUp rolls back what the run made", () => {
  const stack = () => new StackRuntime(config, engine as unknown as DockerEngine);
  /**
   * Runs `up`'s network and Consul steps in order, as listr does (the steps before them check
   * host ports and images, which this fake engine has none of); `after` runs after each.
   */
  const networkAndConsul =
    (after: () => void = () => {}) =>
    async (tasks: ListrTask<UpContext>[], runCtx: UpContext) => {
      for (const step of tasks.filter(
        (t) => t.title === `Network ${STACK}` || t.title === "Consul",
      )) {
        await step.task(runCtx, { title: step.title } as never);
        after();
      }
    };

  it("a failed run removes its container, volume and network, newest first, and fails as it failed", async () => {
    engine.startFails = engineError("OCI runtime create failed");
    await expect(runUp(stack(), networkAndConsul())).rejects.toThrow(
      `${spec.name} did not start: OCI runtime create failed`,
    );
    expect(engine.calls.filter((c) => c.startsWith("remove"))).toEqual([
      `remove container new-${spec.name}`,
      `remove volume ${volumeName(STACK)}`,
      `remove network ${STACK}`,
    ]);
  });

  it("leaves alone what was there before the run", async () => {
    engine.networkExists = true;
    engine.volumeExists = true;
    engine.startFails = engineError("OCI runtime create failed");
    await expect(runUp(stack(), networkAndConsul())).rejects.toThrow("did not start");
    expect(engine.calls.filter((c) => c.startsWith("remove"))).toEqual([
      `remove container new-${spec.name}`,
    ]);
  });

  it("an interrupted run removes what it made and names it", async () => {
    const abort = new AbortController();
    const run = networkAndConsul(() => abort.abort(new InterruptedError("SIGINT")));
    const failure = runUp(stack(), run, abort.signal);
    await expect(failure).rejects.toThrow(
      `Interrupted by SIGINT: removed what this run made (volume ${volumeName(STACK)}, network ${STACK})`,
    );
    await expect(failure).rejects.toMatchObject({ exitCode: 130 });
    // Stopped before the Consul step: no container was made.
    expect(engine.calls).toEqual([
      `create network ${STACK}`,
      `create volume ${volumeName(STACK)}`,
      `remove volume ${volumeName(STACK)}`,
      `remove network ${STACK}`,
    ]);
  });

  it("an interrupted run that made nothing says there is nothing to undo", async () => {
    engine.networkExists = true;
    engine.volumeExists = true;
    const abort = new AbortController();
    const run = networkAndConsul(() => abort.abort(new InterruptedError("SIGTERM")));
    await expect(runUp(stack(), run, abort.signal)).rejects.toThrow(
      "Interrupted by SIGTERM: nothing to undo",
    );
    expect(engine.calls.filter((c) => c.startsWith("remove"))).toEqual([]);
  });

  it("goes on removing when one removal fails, and names only what it removed", async () => {
    engine.removeFails.add(`remove volume ${volumeName(STACK)}`);
    const abort = new AbortController();
    const run = networkAndConsul(() => abort.abort(new InterruptedError("SIGINT")));
    await expect(runUp(stack(), run, abort.signal)).rejects.toThrow(
      `Interrupted by SIGINT: removed what this run made (network ${STACK})`,
    );
    expect(engine.calls.filter((c) => c.startsWith("remove"))).toEqual([
      `remove volume ${volumeName(STACK)}`,
      `remove network ${STACK}`,
    ]);
  });
});
