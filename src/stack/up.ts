import type { ListrTask } from "listr2";
import { ConsulApi } from "../consul/client.js";
import { type ContainerSpec, engineMessage } from "../docker/engine.js";
import { DrconError } from "../ui/errors.js";
import {
  type BuiltImages,
  consulSpec,
  consulVolumeLabels,
  consulVolumeProblem,
  GRACEFUL_STOP_S,
  lbSpec,
  parseSyncRecord,
  registratorSpec,
  SPEC_LABEL,
  SYNC_KEY,
  type SyncRecord,
} from "./components.js";
import { builtImageTags, ensureBuilt, ensureImage } from "./images.js";
import { fetchRoutes } from "./lb-routes.js";
import { LABELS, notMadeByDrcon, stackLabels, volumeName } from "./names.js";
import { checkPorts } from "./port-check.js";
import { hostPort, httpUrl, urlHost } from "./ports.js";
import { restartStaleRegistrator, startStoppedInstances } from "./repair.js";
import type { StackRuntime } from "./runtime.js";
import { READY_TIMEOUT_MS, waitFor } from "./wait.js";

export interface UpResult {
  stack: string;
  changed: string[];
  lbUrl: string;
  consulUrl: string;
}

interface UpContext {
  images?: BuiltImages;
  /** The stack network's id: the key the registrator signs registrations with (routeKeyOf). */
  routeKey?: string;
  /** What this run made, newest last: removed again if the run fails. */
  created: Array<{ kind: "container" | "network" | "volume"; id: string }>;
  changed: string[];
}

/** The steps of `drcon up`, each idempotent: a running, current component is left alone. */
export function upTasks(runtime: StackRuntime): ListrTask<UpContext>[] {
  const { config, engine } = runtime;
  const stack = config.stack;
  const consul = new ConsulApi(urlHost(config.hostIp), config.ports.consul);
  const lbUrl = httpUrl(config.hostIp, config.ports.lb);

  return [
    {
      title: "Docker engine",
      task: async (_ctx, task) => {
        const v = await engine.version();
        task.title = `Docker engine ${v.version} (API ${v.apiVersion}) at ${engine.endpoint.url}`;
      },
    },
    {
      title: "Ports",
      task: async (_ctx, task) => {
        await checkPorts(runtime);
        task.title = `Ports ${hostPort(config.hostIp, config.ports.lb)} and :${config.ports.consul}`;
      },
    },
    {
      title: "Images",
      task: (ctx, task) => {
        ctx.images = builtImageTags(config);
        const images = ctx.images;
        const pull = (ref: string): ListrTask<UpContext> => ({
          title: ref,
          task: async (_c, sub) => {
            const did = await ensureImage(engine, ref, config.pull, (l) => {
              sub.output = l;
            });
            sub.title = `${ref} (${did})`;
          },
        });
        const build = (name: keyof BuiltImages, bases: string[]): ListrTask<UpContext> => ({
          title: images[name],
          task: (_c, sub) =>
            sub.newListr(
              [
                ...bases.map(pull),
                {
                  title: `build ${images[name]}`,
                  task: async (_c2, step) => {
                    const did = await ensureBuilt(engine, config, name, images[name], (l) => {
                      step.output = l;
                    });
                    step.title = `${images[name]} (${did})`;
                  },
                },
              ],
              { concurrent: false },
            ),
        });
        return task.newListr(
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
      task: async (ctx, task) => {
        const volume = volumeName(stack);
        const volumeProblem = consulVolumeProblem(config, await engine.volumeLabels(volume));
        if (volumeProblem) throw new DrconError(volumeProblem);
        const network = await engine.ensureNetwork(stack, stackLabels(stack, "consul"));
        ctx.routeKey = network.id;
        if (network.created) {
          ctx.created.push({ kind: "network", id: stack });
          ctx.changed.push(`network ${stack}`);
        } else task.title = `Network ${stack} (present)`;
        if (await engine.ensureVolume(volume, consulVolumeLabels(config))) {
          ctx.created.push({ kind: "volume", id: volume });
          ctx.changed.push(`volume ${volume}`);
        }
      },
    },
    {
      title: "Consul",
      task: async (ctx, task) => {
        const did = await ensureContainer(runtime, ctx, consulSpec(config));
        const leader = await consul.waitForLeader(READY_TIMEOUT_MS);
        task.title = `Consul at ${consul.url} (${did}, leader ${leader})`;
      },
    },
    {
      title: "Registrator",
      task: async (ctx, task) => {
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
        const synced = await waitForSync(runtime, consul, spec.name).catch((err: Error) => {
          // The usual cause: the mounted socket is not the engine's (a VM-based engine).
          throw new DrconError(
            `${err.message}; it mounts ${socket.path} (${socket.why}): if the engine's own socket is another, set DRCON_DOCKER_SOCKET to it (see \`docker logs ${spec.name}\`)`,
            { cause: err },
          );
        });
        task.title = `Registrator (${did}, synced ${synced.registered} instance(s))`;
      },
    },
    {
      title: "Load balancer",
      task: async (ctx, task) => {
        const did = await ensureContainer(
          runtime,
          ctx,
          lbSpec(config, requireImages(ctx).lb, requireRouteKey(ctx)),
        );
        await waitFor(() => fetchRoutes(lbUrl), "the load balancer to answer");
        task.title = `Load balancer at ${lbUrl} (${did})`;
      },
    },
    {
      title: "Instances",
      task: async (ctx, task) => {
        // What an engine crash or a `drcon kill` left stopped is started again.
        const started = await startStoppedInstances(runtime, lbUrl);
        ctx.changed.push(...started.map((name) => `container ${name} (started again)`));
        task.title = started.length
          ? `Instances: started again ${started.join(", ")}`
          : "Instances (all running)";
      },
    },
  ];
}

export async function runUp(
  runtime: StackRuntime,
  run: (tasks: ListrTask<UpContext>[], ctx: UpContext) => Promise<unknown>,
): Promise<UpResult> {
  const ctx: UpContext = { created: [], changed: [] };
  try {
    await run(upTasks(runtime), ctx);
  } catch (err) {
    await rollback(runtime, ctx);
    throw err;
  }
  const { hostIp, ports } = runtime.config;
  return {
    stack: runtime.name,
    changed: ctx.changed,
    lbUrl: httpUrl(hostIp, ports.lb),
    consulUrl: httpUrl(hostIp, ports.consul),
  };
}

/** Removes what a failed run made, newest first, so a failed `up` leaves nothing half made. */
async function rollback(runtime: StackRuntime, ctx: UpContext): Promise<void> {
  for (const item of ctx.created.reverse()) {
    try {
      if (item.kind === "container") await runtime.engine.removeContainer(item.id);
      if (item.kind === "network") await runtime.engine.removeNetwork(item.id);
      if (item.kind === "volume") await runtime.engine.removeVolume(item.id);
    } catch {
      // Best effort: the original error is what the user needs to see.
    }
  }
}

/**
 * Leaves a running container whose spec is current alone; otherwise (missing, stopped, stale)
 * replaces it. A container of that name that drcon did not make is never touched.
 */
async function ensureContainer(
  runtime: StackRuntime,
  ctx: UpContext,
  spec: ContainerSpec,
): Promise<"running" | "created" | "recreated"> {
  const { engine } = runtime;
  const existing = await engine.inspectContainer(spec.name);
  if (existing) {
    if (existing.Config.Labels?.[LABELS.stack] !== runtime.name) {
      throw notMadeByDrcon(spec.name);
    }
    const current = existing.Config.Labels?.[SPEC_LABEL] === spec.Labels?.[SPEC_LABEL];
    if (current && existing.State.Running) return "running";
    // Stopped first, so that a replaced LB finishes the requests it holds (graceful stop).
    await engine.stopContainer(existing.Id, GRACEFUL_STOP_S);
    await engine.removeContainer(existing.Id);
  }
  const id = await engine.createContainer(spec);
  ctx.created.push({ kind: "container", id });
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
): Promise<SyncRecord> {
  const started = Date.parse((await runtime.engine.inspectContainer(name))?.State.StartedAt ?? "");
  return waitFor(async () => {
    // An unreadable record counts as no sync yet: the registrator's next one replaces it.
    const synced = parseSyncRecord(await consul.kvGet(SYNC_KEY));
    // A second of slack: the two clocks are the same host's, but timestamps are rounded.
    return synced && Date.parse(synced.at) >= started - 1000 ? synced : undefined;
  }, "the registrator's first sync");
}

export type { UpContext };
