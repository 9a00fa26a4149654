import { DrconError, InterruptedError, interruption } from "../base/errors.js";
import { READY_TIMEOUT_MS, untilAborted, waitFor } from "../base/wait.js";
import type { ConsulApi } from "../consul/client.js";
import { LABELS, parseSyncRecord, SYNC_KEY, type SyncRecord } from "../contract.js";
import { type ContainerSpec, type DockerEngine, engineMessage } from "../docker/engine.js";
import {
  type BuiltImages,
  consulSpec,
  consulVolumeLabels,
  consulVolumeProblem,
  GRACEFUL_STOP_S,
  lbSpec,
  registratorSpec,
} from "../stack/components.js";
import { listInstances } from "../stack/instances.js";
import { fetchRoutes } from "../stack/lb-routes.js";
import { notMadeByDrcon, stackLabels, volumeName } from "../stack/names.js";
import { hostPort } from "../stack/ports.js";
import type { StackRuntime } from "../stack/runtime.js";
import { DRAIN_REASON, restoreDrained, withScaleLock } from "./drain.js";
import { builtImageTags, ensureBuilt, ensureImage } from "./images.js";
import { checkPorts } from "./port-check.js";
import { restartStaleRegistrator, startStoppedInstances } from "./repair.js";
import type { Step, StepIo } from "./steps.js";

export interface UpResult {
  stack: string;
  changed: string[];
  lbUrl: string;
  consulUrl: string;
}

/** What one run of `up` learnt and did, shared by its steps. */
interface UpContext {
  images?: BuiltImages;
  /** The stack network's id: the key the registrator signs registrations with (routeKeyOf). */
  routeKey?: string;
  /** What this run made, newest last: removed again if the run fails. */
  created: Array<{ kind: "container" | "network" | "volume"; id: string; name: string }>;
  changed: string[];
}

/**
 * The steps of `drcon up`, each idempotent: a running, current component is left alone. Every
 * wait ends when the step's signal is aborted (Ctrl-C).
 */
function upSteps(runtime: StackRuntime, ctx: UpContext): Step[] {
  const { config, engine } = runtime;
  const stack = config.stack;
  const { consul, lbUrl } = runtime.configuredEndpoints();

  return [
    {
      title: "Docker engine",
      run: async (step) => {
        const v = await engine.version();
        step.setTitle(`Docker engine ${v.version} (API ${v.apiVersion}) at ${engine.endpoint.url}`);
      },
    },
    {
      title: "Ports",
      run: async (step) => {
        await checkPorts(runtime);
        step.setTitle(
          `Ports ${hostPort(config.hostIp, config.ports.lb)} and :${config.ports.consul}`,
        );
      },
    },
    {
      title: "Images",
      run: (step) => {
        ctx.images = builtImageTags(config);
        const images = ctx.images;
        const pull = (ref: string): Step => ({
          title: ref,
          run: async (sub) => {
            const did = await untilAborted(
              ensureImage(engine, ref, config.pull, (l) => sub.progress(l)),
              sub.signal,
            );
            sub.setTitle(`${ref} (${did})`);
          },
        });
        const build = (name: keyof BuiltImages, bases: string[]): Step => ({
          title: images[name],
          run: (sub) =>
            sub.substeps([
              ...bases.map(pull),
              {
                title: `build ${images[name]}`,
                run: async (built) => {
                  const did = await untilAborted(
                    ensureBuilt(engine, config, name, images[name], (l) => built.progress(l)),
                    built.signal,
                  );
                  built.setTitle(`${images[name]} (${did})`);
                },
              },
            ]),
        });
        return step.substeps(
          [
            pull(config.images.consul),
            build("registrator", [config.images.node]),
            build("lb", [config.images.consulTemplate, config.images.nginx]),
          ],
          { concurrent: true },
        );
      },
    },
    {
      title: `Network ${stack}`,
      run: async (step) => {
        const volume = volumeName(stack);
        const volumeProblem = consulVolumeProblem(config, await engine.volumeLabels(volume));
        if (volumeProblem) throw new DrconError(volumeProblem);
        const network = await engine.ensureNetwork(stack, stackLabels(stack, "consul"));
        ctx.routeKey = network.id;
        if (network.created) {
          ctx.created.push({ kind: "network", id: stack, name: stack });
          ctx.changed.push(`network ${stack}`);
        } else step.setTitle(`Network ${stack} (present)`);
        if (await engine.ensureVolume(volume, consulVolumeLabels(config))) {
          ctx.created.push({ kind: "volume", id: volume, name: volume });
          ctx.changed.push(`volume ${volume}`);
        }
      },
    },
    {
      title: "Consul",
      run: async (step) => {
        const did = await ensureContainer(runtime, ctx, consulSpec(config));
        const leader = await consul.waitForLeader(READY_TIMEOUT_MS, step.signal);
        step.setTitle(`Consul at ${consul.url} (${did}, leader ${leader})`);
      },
    },
    {
      title: "Registrator",
      run: async (step) => {
        const socket = await engine.socketForContainers();
        const spec = registratorSpec(
          config,
          requireImages(ctx).registrator,
          socket.path,
          requireRouteKey(ctx),
        );
        let did: string = await ensureContainer(runtime, ctx, spec);
        if (did === "running" && (await restartStaleRegistrator(runtime, consul, spec.name))) {
          did = "restarted: its sync was stale";
          ctx.changed.push(`container ${spec.name} (restarted)`);
        }
        const synced = await waitForSync(runtime, consul, spec.name, step.signal).catch(
          (err: Error) => {
            if (err instanceof InterruptedError) throw err;
            // The usual cause: the mounted socket is not the engine's (a VM-based engine).
            throw new DrconError(
              `${err.message}; it mounts ${socket.path} (${socket.why}): if the engine's own socket is another, set DRCON_DOCKER_SOCKET to it (see \`docker logs ${spec.name}\`)`,
              { cause: err },
            );
          },
        );
        step.setTitle(`Registrator (${did}, synced ${synced.registered} instance(s))`);
      },
    },
    {
      title: "Load balancer",
      run: async (step) => {
        const spec = lbSpec(config, requireImages(ctx).lb, requireRouteKey(ctx));
        const did = await ensureContainer(runtime, ctx, spec);
        await waitFor(
          async () => {
            try {
              return await fetchRoutes(lbUrl);
            } catch (err) {
              throw (await stoppedContainer(runtime, spec.name)) ?? err;
            }
          },
          "the load balancer to answer",
          { signal: step.signal },
        );
        step.setTitle(`Load balancer at ${lbUrl} (${did})`);
      },
    },
    {
      title: "Instances",
      run: async (step) => {
        // What an engine crash or a `drcon kill` left stopped is started again.
        const started = await startStoppedInstances(runtime, lbUrl);
        ctx.changed.push(...started.map((name) => `container ${name} (started again)`));
        // What an interrupted `drcon scale` left in maintenance is put back in service.
        const restored = await restoreAllDrained(runtime, consul, step.signal);
        if (restored.length > 0) ctx.changed.push(`put ${restored.join(", ")} back in service`);
        const done = [
          started.length ? `started again ${started.join(", ")}` : "",
          restored.length ? `put ${restored.join(", ")} back in service` : "",
        ].filter(Boolean);
        step.setTitle(done.length ? `Instances: ${done.join("; ")}` : "Instances (all running)");
      },
    },
  ];
}

/**
 * A definite error when the container stopped (or keeps restarting) instead of answering, with
 * its last log line: its entrypoint refused to run (an nginx image too old, a missing route).
 */
async function stoppedContainer(
  runtime: StackRuntime,
  name: string,
): Promise<DrconError | undefined> {
  const state = (await runtime.engine.inspectContainer(name))?.State;
  if (state?.Running && !state.Restarting) return undefined;
  const line = await runtime.engine.lastLogLine(name).catch(() => undefined);
  return new DrconError(
    `${name} stopped instead of answering${line ? `: ${line.slice(0, 300)}` : ""} (see \`docker logs ${name}\`)`,
  );
}

/**
 * Puts back in service every running instance that an interrupted or killed `drcon scale` left
 * in maintenance, under each service's scale lock, so a drain in progress is never undone.
 */
async function restoreAllDrained(
  runtime: StackRuntime,
  consul: ConsulApi,
  signal?: AbortSignal,
): Promise<string[]> {
  const running = (await listInstances(runtime)).filter((i) => i.running);
  const services = [...new Set(running.map((i) => i.service))].sort();
  const restored: string[] = [];
  for (const service of services) {
    const left = (await consul.health(service)).some((h) => h.maintenance === DRAIN_REASON);
    if (!left) continue;
    const ids = new Set(running.filter((i) => i.service === service).map((i) => i.id));
    restored.push(
      ...(await withScaleLock(
        consul,
        service,
        () => restoreDrained(consul, service, (id) => ids.has(id)),
        signal,
      )),
    );
  }
  return restored;
}

/**
 * Runs the steps, each only once the run is not interrupted; a failed or interrupted run removes
 * what it made, newest first.
 */
export async function runUp(runtime: StackRuntime, io: StepIo): Promise<UpResult> {
  const { signal } = io;
  const ctx: UpContext = { created: [], changed: [] };
  try {
    await io.runSteps(upSteps(runtime, ctx), { signal });
  } catch (err) {
    const removed = await rollback(runtime, ctx);
    const interrupted = interruption(signal);
    if (!interrupted) throw err;
    throw interrupted.after(
      removed.length > 0 ? `removed what this run made (${removed.join(", ")})` : "nothing to undo",
    );
  }
  const { lbUrl, consulUrl } = runtime.configuredEndpoints();
  return { stack: runtime.name, changed: ctx.changed, lbUrl, consulUrl };
}

/**
 * Removes what a failed run made, newest first, so a failed `up` leaves nothing half made.
 * Returns what it removed, as "container drcon-consul".
 */
async function rollback(runtime: StackRuntime, ctx: UpContext): Promise<string[]> {
  const removed: string[] = [];
  for (const item of ctx.created.reverse()) {
    try {
      if (item.kind === "container") await runtime.engine.removeContainer(item.id);
      if (item.kind === "network") await runtime.engine.removeNetwork(item.id);
      if (item.kind === "volume") await runtime.engine.removeVolume(item.id);
      removed.push(`${item.kind} ${item.name}`);
    } catch {
      // Best effort: the original error is what the user needs to see.
    }
  }
  return removed;
}

/** What ensureContainer uses of the runtime: the stack's name and the engine's container calls. */
type ContainerRuntime = Pick<StackRuntime, "name"> & {
  engine: Pick<
    DockerEngine,
    "inspectContainer" | "stopContainer" | "removeContainer" | "createContainer" | "startContainer"
  >;
};

/**
 * Leaves a running container whose spec is current alone; otherwise (missing, stopped, stale)
 * replaces it. A container of that name that drcon did not make is never touched.
 */
export async function ensureContainer(
  runtime: ContainerRuntime,
  ctx: UpContext,
  spec: ContainerSpec,
): Promise<"running" | "created" | "recreated"> {
  const { engine } = runtime;
  const existing = await engine.inspectContainer(spec.name);
  if (existing) {
    if (existing.Config.Labels?.[LABELS.stack] !== runtime.name) {
      throw notMadeByDrcon(spec.name);
    }
    const current = existing.Config.Labels?.[LABELS.spec] === spec.Labels?.[LABELS.spec];
    if (current && existing.State.Running) return "running";
    // Stopped first, so that a replaced LB finishes the requests it holds (graceful stop).
    await engine.stopContainer(existing.Id, GRACEFUL_STOP_S);
    await engine.removeContainer(existing.Id);
  }
  const id = await engine.createContainer(spec);
  ctx.created.push({ kind: "container", id, name: spec.name });
  ctx.changed.push(`container ${spec.name}`);
  try {
    await engine.startContainer(id);
  } catch (err) {
    const message = engineMessage(err);
    if (/port is already allocated|address already in use/i.test(message)) {
      // The engine's message runs to 300 characters; the address is what the user needs.
      const address = /listen \S+ (\S+): bind/.exec(message)?.[1] ?? "its port";
      throw new DrconError(
        `${spec.name} could not publish ${address}, taken meanwhile: free it or choose another port`,
      );
    }
    throw new DrconError(`${spec.name} did not start: ${message}`, { cause: err });
  }
  return existing ? "recreated" : "created";
}

function requireImages(ctx: UpContext): BuiltImages {
  if (!ctx.images) throw new Error("images step did not run");
  return ctx.images;
}

function requireRouteKey(ctx: UpContext): string {
  if (!ctx.routeKey) throw new Error("network step did not run");
  return ctx.routeKey;
}

/** Waits until the registrator reports a full sync made after its container started. */
async function waitForSync(
  runtime: StackRuntime,
  consul: ConsulApi,
  name: string,
  signal?: AbortSignal,
): Promise<SyncRecord> {
  const started = Date.parse((await runtime.engine.inspectContainer(name))?.State.StartedAt ?? "");
  return waitFor(
    async () => {
      // An unreadable record counts as no sync yet: the registrator's next one replaces it.
      const synced = parseSyncRecord(await consul.kvGet(SYNC_KEY));
      // A second of slack: the two clocks are the same host's, but timestamps are rounded.
      return synced && Date.parse(synced.at) >= started - 1000 ? synced : undefined;
    },
    "the registrator's first sync",
    { signal },
  );
}

export type { UpContext };
