import type { ListrTask } from "listr2";
import { ConsulApi } from "../consul/client.js";
import { type ContainerSpec, engineMessage } from "../docker/engine.js";
import { DrconError } from "../ui/errors.js";
import {
  type BuiltImages,
  consulSpec,
  lbSpec,
  registratorSpec,
  SPEC_LABEL,
  SYNC_KEY,
} from "./components.js";
import { builtImageTags, ensureBuilt, ensureImage } from "./images.js";
import { fetchRoutes } from "./lb-routes.js";
import { LABELS, stackLabels, volumeName } from "./names.js";
import { isPortFree, reachableHost } from "./ports.js";
import {
  parseSync,
  restartStaleRegistrator,
  type SyncRecord,
  startStoppedInstances,
} from "./repair.js";
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
  /** What this run made, newest last: removed again if the run fails. */
  created: Array<{ kind: "container" | "network" | "volume"; id: string }>;
  changed: string[];
}

/** The steps of `drcon up`, each idempotent: a running, current component is left alone. */
export function upTasks(runtime: StackRuntime): ListrTask<UpContext>[] {
  const { config, engine } = runtime;
  const stack = config.stack;
  const host = reachableHost(config.hostIp);
  const consul = new ConsulApi(host, config.ports.consul);
  const lbUrl = `http://${host}:${config.ports.lb}`;

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
        const running = await runningSpecs(runtime);
        const wanted = [
          { name: "load balancer", port: config.ports.lb, spec: lbSpec(config, "") },
          { name: "consul", port: config.ports.consul, spec: consulSpec(config) },
        ];
        for (const w of wanted) {
          // Our own running container holds the port: nothing to check.
          if (running.has(w.spec.name)) continue;
          if (!(await isPortFree(config.hostIp, w.port))) {
            const flag = w.name === "consul" ? "--consul-port" : "--port";
            throw new DrconError(
              `${config.hostIp}:${w.port} (${w.name}) is already in use: free it, or choose another port with ${flag}`,
            );
          }
        }
        task.title = `Ports ${config.hostIp}:${config.ports.lb} and :${config.ports.consul}`;
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
        if (await engine.ensureNetwork(stack, stackLabels(stack, "consul"))) {
          ctx.created.push({ kind: "network", id: stack });
          ctx.changed.push(`network ${stack}`);
        } else task.title = `Network ${stack} (present)`;
        const volume = volumeName(stack);
        if (await engine.ensureVolume(volume, stackLabels(stack, "consul"))) {
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
        const spec = registratorSpec(config, requireImages(ctx).registrator, socket.path);
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
        const did = await ensureContainer(runtime, ctx, lbSpec(config, requireImages(ctx).lb));
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
  const host = reachableHost(runtime.config.hostIp);
  return {
    stack: runtime.name,
    changed: ctx.changed,
    lbUrl: `http://${host}:${runtime.config.ports.lb}`,
    consulUrl: `http://${host}:${runtime.config.ports.consul}`,
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

async function runningSpecs(runtime: StackRuntime): Promise<Map<string, string>> {
  const running = (await runtime.containers()).filter((c) => c.State === "running");
  return new Map(
    running.map((c) => [c.Names[0]?.replace(/^\//, "") ?? "", c.Labels[SPEC_LABEL] ?? ""]),
  );
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
      throw new DrconError(
        `a container named ${spec.name} exists that drcon did not make: remove or rename it, or use another --stack`,
      );
    }
    const current = existing.Config.Labels?.[SPEC_LABEL] === spec.Labels?.[SPEC_LABEL];
    if (current && existing.State.Running) return "running";
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
      throw new DrconError(
        `${spec.name} could not publish its port (${message}): free the port or choose another`,
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

/** Waits until the registrator reports a full sync made after its container started. */
async function waitForSync(
  runtime: StackRuntime,
  consul: ConsulApi,
  name: string,
): Promise<SyncRecord> {
  const started = Date.parse((await runtime.engine.inspectContainer(name))?.State.StartedAt ?? "");
  return waitFor(async () => {
    const synced = parseSync(await consul.kvGet(SYNC_KEY));
    // A second of slack: the two clocks are the same host's, but timestamps are rounded.
    return synced && Date.parse(synced.at) >= started - 1000 ? synced : undefined;
  }, "the registrator's first sync");
}

export type { UpContext };
