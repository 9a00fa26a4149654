import type { ListrTask } from "listr2";
import { DrconError, interruption, isKind } from "../base/errors.js";
import { untilAborted, waitFor } from "../base/wait.js";
import {
  type ContainerDetails,
  type ContainerSpec,
  engineMessage,
  statusOf,
} from "../docker/engine.js";
import { instanceSpec } from "./components.js";
import { drainAndStop, restoreDrained, withScaleLock } from "./drain.js";
import { ensureImage } from "./images.js";
import { type Instance, listInstances, refuseForeignHolder } from "./instances.js";
import { routesTo } from "./lb-routes.js";
import { instanceName } from "./names.js";
import type { StackEndpoints, StackRuntime } from "./runtime.js";
import { planScale, type ScaleRequest } from "./scale-plan.js";

export interface ServiceScaleResult {
  service: string;
  replicas: number;
  started: string[];
  stopped: string[];
  removed: string[];
  /** Instances a drain had left in maintenance (an interrupted scale), put back in service. */
  restored: string[];
}

export interface ScaleOptions {
  /** Return once containers start, without waiting for health and the LB. */
  noWait: boolean;
  /** Longest wait for requests in flight to a drained instance before it gets SIGTERM. */
  drainTimeoutMs: number;
  /** Aborted by Ctrl-C/SIGTERM: stop, and undo what is half done. */
  signal?: AbortSignal;
}

export interface ScaleContext {
  results: ServiceScaleResult[];
  /** What an interrupted or failed run undid or finished on its way out, for its last line. */
  cleanedUp: string[];
}

/**
 * Runs the scale steps; interrupted, it throws the interruption with what it cleaned up
 * (drains finished or undone, instances that had not joined removed, locks released).
 */
export async function runScale(
  runtime: StackRuntime,
  endpoints: StackEndpoints,
  requests: ScaleRequest[],
  options: ScaleOptions,
  run: (tasks: ListrTask<ScaleContext>[], ctx: ScaleContext) => Promise<unknown>,
): Promise<ServiceScaleResult[]> {
  const ctx: ScaleContext = { results: [], cleanedUp: [] };
  try {
    await run(scaleTasks(runtime, endpoints, requests, options), ctx);
  } catch (err) {
    const interrupted = interruption(options.signal);
    if (!interrupted) throw err;
    throw interrupted.after(`${[...ctx.cleanedUp, "no lock left held"].join("; ")}`);
  }
  return ctx.results;
}

/** What every step of one service's scale works with. */
interface ServiceRun {
  runtime: StackRuntime;
  endpoints: StackEndpoints;
  options: ScaleOptions;
  ctx: ScaleContext;
  service: string;
}

/** One task per service; each reconciles under a Consul lock, so concurrent scales never overshoot. */
function scaleTasks(
  runtime: StackRuntime,
  endpoints: StackEndpoints,
  requests: ScaleRequest[],
  options: ScaleOptions,
): ListrTask<ScaleContext>[] {
  return requests.map((req) => ({
    title: `${req.service} → ${req.replicas}`,
    task: (ctx, task) =>
      withScaleLock(
        endpoints.consul,
        req.service,
        () => scaleService({ runtime, endpoints, options, ctx, service: req.service }, req, task),
        options.signal,
      ),
  }));
}

async function scaleService(
  run: ServiceRun,
  req: ScaleRequest,
  task: Parameters<ListrTask<ScaleContext>["task"]>[1],
): Promise<void> {
  const { runtime, endpoints, options, ctx } = run;
  const existing = await listInstances(runtime, req.service);
  const plan = planScale(existing, req.replicas);
  // Before anything changes: a name held by a container drcon did not make is refused.
  for (const index of plan.start) {
    await refuseForeignHolder(runtime, instanceName(runtime.name, req.service, index), req.service);
  }
  const keep = new Set(
    existing.filter((i) => i.running && !plan.stop.includes(i.name)).map((i) => i.id),
  );
  const result: ServiceScaleResult = {
    service: req.service,
    replicas: req.replicas,
    started: [],
    stopped: plan.stop,
    removed: plan.remove,
    restored: await restoreDrained(endpoints.consul, req.service, (id) => keep.has(id)),
  };
  ctx.results.push(result);
  const byName = new Map(existing.map((i) => [i.name, i]));
  for (const name of plan.remove) {
    const dead = byName.get(name);
    if (dead) await runtime.engine.removeContainer(dead.id);
  }
  const svc = runtime.config.services[req.service];
  if (!svc) throw new DrconError(`no service named ${req.service}`);
  if (plan.start.length > 0) {
    await untilAborted(
      ensureImage(runtime.engine, svc.image, runtime.config.pull, (line) => {
        task.output = line;
      }),
      options.signal,
    );
  }
  // Every step's own promise, so that the lock is released only once all have settled,
  // clean-up included, even when one of them failed first.
  const steps: Promise<void>[] = [];
  const track = (step: Promise<void>) => {
    steps.push(step);
    return step;
  };
  const subtasks: ListrTask<ScaleContext>[] = [
    ...plan.start.map((index) => {
      const spec = instanceSpec(runtime.config, req.service, svc, index);
      return {
        title: `start ${spec.name}`,
        task: (_c: ScaleContext, sub: { title: string }) =>
          track(startStep(run, spec, svc.port, result, sub)),
      };
    }),
    ...plan.stop.flatMap((name) => {
      const instance = byName.get(name);
      if (!instance) return [];
      return {
        title: `drain and stop ${name}`,
        task: (_c: ScaleContext, sub: { output: string }) => track(stopStep(run, instance, sub)),
      };
    }),
  ];
  if (subtasks.length === 0) task.title = `${req.service}: ${req.replicas} running, nothing to do`;
  try {
    await task.newListr(subtasks, { concurrent: true, exitOnError: true }).run(ctx);
  } finally {
    await Promise.allSettled(steps);
  }
  result.started.sort();
}

async function startStep(
  run: ServiceRun,
  spec: ReturnType<typeof instanceSpec>,
  port: number,
  result: ServiceScaleResult,
  sub: { title: string },
): Promise<void> {
  run.options.signal?.throwIfAborted();
  const started = await startInstance(run.runtime, run.service, spec);
  if (!started) {
    sub.title = `${spec.name} (already made by another drcon)`;
    return;
  }
  result.started.push(spec.name);
  if (run.options.noWait) return;
  const address = `${started}:${port}`;
  await joinOrRemove(run, spec.name, address);
  sub.title = `${spec.name} serving at ${address}`;
}

async function stopStep(run: ServiceRun, instance: Instance, sub: { output: string }) {
  const { signal } = run.options;
  signal?.throwIfAborted();
  try {
    await drainAndStop(run.runtime, run.endpoints, run.service, instance, {
      drainTimeoutMs: run.options.drainTimeoutMs,
      signal,
      progress: (line) => {
        sub.output = line;
      },
    });
  } catch (err) {
    run.ctx.cleanedUp.push(`put ${instance.name} back in service`);
    throw err;
  }
  if (signal?.aborted) run.ctx.cleanedUp.push(`finished stopping ${instance.name}`);
}

/**
 * Waits for a new instance to be routed by the LB. One that never gets there (timeout,
 * interrupt) is removed again, so a scale leaves no instance it gave up on; one that stopped
 * by itself is left for `docker logs` (the next scale removes it).
 */
async function joinOrRemove(run: ServiceRun, name: string, address: string): Promise<void> {
  const { runtime, endpoints, service, ctx } = run;
  try {
    await waitFor(
      async () => {
        if (await routesTo(endpoints.lbUrl, service, address)) return true;
        await failIfStopped(runtime, name);
        return undefined;
      },
      `${name} to join the LB`,
      { signal: run.options.signal },
    );
  } catch (err) {
    // One that stopped by itself is left in place for `docker logs`; the next scale removes it.
    if (isKind(err, "stopped")) throw err;
    await runtime.engine.removeContainer(name);
    ctx.cleanedUp.push(`removed ${name} (it had not joined the LB)`);
    if (interruption(run.options.signal)) throw err;
    const port = address.split(":").at(-1);
    throw new DrconError(
      `${(err as Error).message}, so it was removed again: check that its image serves on port ${port} (--port), then run drcon scale again`,
      { cause: err },
    );
  }
}

/** Creates and starts one instance; undefined when another drcon made it first (name taken). */
export async function startInstance(
  runtime: StackRuntime,
  service: string,
  spec: ContainerSpec,
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
  const how = stoppedHow(await runtime.engine.inspectContainer(name));
  if (!how) return;
  throw new DrconError(
    `${name} stopped before it joined the LB (${how}): see \`docker logs ${name}\`, then run drcon scale again`,
    { kind: "stopped" },
  );
}

/** How a new instance stopped (e.g. "exit code 1"), or undefined while it runs as started. */
export function stoppedHow(details: ContainerDetails | undefined): string | undefined {
  const state = details?.State;
  // Under its restart policy a crashing instance shows Running (and Restarting between runs):
  // a restart since drcon started it is a stop too.
  if (state?.Running && !state.Restarting && details?.RestartCount === 0) return undefined;
  return state ? `exit code ${state.ExitCode}` : "removed";
}
