import type { ListrTask } from "listr2";
import type { ConsulApi } from "../consul/client.js";
import { sleep } from "../consul/client.js";
import { engineMessage, statusOf } from "../docker/engine.js";
import { DrconError } from "../ui/errors.js";
import { instanceSpec } from "./components.js";
import { ensureImage } from "./images.js";
import { type Instance, listInstances, refuseForeignHolder } from "./instances.js";
import { fetchRoutes } from "./lb-routes.js";
import { instanceName } from "./names.js";
import type { StackEndpoints, StackRuntime } from "./runtime.js";
import { planScale, type ScaleRequest } from "./scale-plan.js";
import { waitFor } from "./wait.js";

/** Time for requests that nginx's old workers still have in flight, after the LB let go. */
const DRAIN_GRACE_MS = 300;
const STOP_TIMEOUT_S = 10;
const LOCK_TIMEOUT_MS = 120_000;

export interface ServiceScaleResult {
  service: string;
  replicas: number;
  started: string[];
  stopped: string[];
  removed: string[];
}

export interface ScaleOptions {
  /** Return once containers start, without waiting for health and the LB. */
  noWait: boolean;
}

type Ctx = { results: ServiceScaleResult[] };

/** One task per service; each reconciles under a Consul lock, so concurrent scales never overshoot. */
export function scaleTasks(
  runtime: StackRuntime,
  endpoints: StackEndpoints,
  requests: ScaleRequest[],
  options: ScaleOptions,
): ListrTask<Ctx>[] {
  return requests.map((req) => ({
    title: `${req.service} → ${req.replicas}`,
    task: (ctx, task) =>
      endpoints.consul.withLock(`drcon/locks/scale/${req.service}`, LOCK_TIMEOUT_MS, async () => {
        const existing = await listInstances(runtime, req.service);
        const plan = planScale(existing, req.replicas);
        const result: ServiceScaleResult = {
          service: req.service,
          replicas: req.replicas,
          started: [],
          stopped: plan.stop,
          removed: plan.remove,
        };
        // Before anything changes: a name held by a container drcon did not make is refused.
        for (const index of plan.start) {
          await refuseForeignHolder(
            runtime,
            instanceName(runtime.name, req.service, index),
            req.service,
          );
        }
        ctx.results.push(result);
        const byName = new Map(existing.map((i) => [i.name, i]));
        for (const name of plan.remove) {
          const dead = byName.get(name);
          if (dead) await runtime.engine.removeContainer(dead.id);
        }
        const svc = runtime.config.services[req.service];
        if (!svc) throw new DrconError(`no service named ${req.service}`);
        if (plan.start.length > 0) {
          await ensureImage(runtime.engine, svc.image, runtime.config.pull, (line) => {
            task.output = line;
          });
        }
        const subtasks: ListrTask<Ctx>[] = [
          ...plan.start.map((index) => ({
            title: `start ${instanceSpec(runtime.config, req.service, svc, index).name}`,
            task: async (_c: Ctx, sub: { title: string }) => {
              const spec = instanceSpec(runtime.config, req.service, svc, index);
              const started = await startInstance(runtime, req.service, spec);
              if (!started) {
                sub.title = `${spec.name} (already made by another drcon)`;
                return;
              }
              result.started.push(spec.name);
              if (options.noWait) return;
              const address = `${started}:${svc.port}`;
              await waitFor(async () => {
                if (await routed(endpoints, req.service, address, true)) return true;
                await failIfStopped(runtime, spec.name);
                return undefined;
              }, `${spec.name} to join the LB`);
              sub.title = `${spec.name} serving at ${address}`;
            },
          })),
          ...plan.stop.map((name) => ({
            title: `drain and stop ${name}`,
            task: async () => {
              const instance = byName.get(name);
              if (instance) await drainAndStop(runtime, endpoints, req.service, instance);
            },
          })),
        ];
        if (subtasks.length === 0)
          task.title = `${req.service}: ${req.replicas} running, nothing to do`;
        await task.newListr(subtasks, { concurrent: true, exitOnError: true }).run(ctx);
        result.started.sort();
      }),
  }));
}

/** Creates and starts one instance; undefined when another drcon made it first (name taken). */
async function startInstance(
  runtime: StackRuntime,
  service: string,
  spec: ReturnType<typeof instanceSpec>,
): Promise<string | undefined> {
  let id: string;
  try {
    id = await runtime.engine.createContainer(spec);
  } catch (err) {
    if (statusOf(err) === 409) {
      // Taken since the plan was made: by a concurrent drcon, or refused.
      await refuseForeignHolder(runtime, spec.name, service);
      return undefined;
    }
    throw new DrconError(`could not create ${spec.name}: ${engineMessage(err)}`, { cause: err });
  }
  try {
    await runtime.engine.startContainer(id);
  } catch (err) {
    await runtime.engine.removeContainer(id);
    throw new DrconError(`${spec.name} did not start: ${engineMessage(err)}`, { cause: err });
  }
  const details = await runtime.engine.inspectContainer(id);
  const ip = details?.NetworkSettings.Networks[runtime.name]?.IPAddress;
  if (!ip) throw new DrconError(`${spec.name} has no address on network ${runtime.name}`);
  return ip;
}

/** An instance that stopped (crashed, or killed by `drcon kill`) will never join: say so now. */
async function failIfStopped(runtime: StackRuntime, name: string): Promise<void> {
  const details = await runtime.engine.inspectContainer(name);
  const state = details?.State;
  // Under its restart policy a crashing instance shows Running (and Restarting between runs):
  // a restart since `scale` started it is a stop too.
  if (state?.Running && !state.Restarting && details?.RestartCount === 0) return;
  const how = state ? `exit code ${state.ExitCode}` : "removed";
  throw new DrconError(
    `${name} stopped before it joined the LB (${how}): see \`docker logs ${name}\`, then run drcon scale again`,
  );
}

/**
 * Takes the instance out of rotation before it stops: Consul maintenance mode makes its check
 * critical, consul-template drops it from nginx, and only once the LB no longer routes to it
 * does it get SIGTERM. Requests in flight finish on nginx's old workers during the grace time.
 */
async function drainAndStop(
  runtime: StackRuntime,
  endpoints: StackEndpoints,
  service: string,
  instance: Instance,
): Promise<void> {
  const registrations = await registrationsOf(endpoints.consul, instance.id);
  await Promise.all(
    registrations.map((r) => endpoints.consul.maintenance(r.id, true, "drcon scale: draining")),
  );
  for (const r of registrations) {
    await waitFor(
      () => routed(endpoints, service, r.address, false),
      `the LB to let go of ${instance.name}`,
      {
        timeoutMs: 15_000,
        intervalMs: 50,
      },
    );
  }
  if (registrations.length > 0) await sleep(DRAIN_GRACE_MS);
  await runtime.engine.stopContainer(instance.id, STOP_TIMEOUT_S);
  await runtime.engine.removeContainer(instance.id);
}

async function registrationsOf(consul: ConsulApi, containerId: string) {
  const services = await consul.agentServices();
  return services
    .filter((s) => s.Meta?.drcon_container === containerId)
    .map((s) => ({ id: s.ID, address: `${s.Address}:${s.Port}` }));
}

/** true once the LB's loaded config routes (or no longer routes, `wanted` false) to `address`. */
async function routed(
  endpoints: StackEndpoints,
  service: string,
  address: string,
  wanted: boolean,
): Promise<true | undefined> {
  const routes = await fetchRoutes(endpoints.lbUrl);
  return (routes.services[service] ?? []).includes(address) === wanted ? true : undefined;
}
