import { DrconError, interruption, isKind } from "../base/errors.js";
import { untilAborted, waitFor } from "../base/wait.js";
import {
  type ContainerDetails,
  type ContainerSpec,
  engineMessage,
  statusOf,
} from "../docker/engine.js";
import { instanceSpec } from "../stack/components.js";
import { type Instance, listInstances, refuseForeignHolder } from "../stack/instances.js";
import { routesTo } from "../stack/lb-routes.js";
import { instanceName } from "../stack/names.js";
import type { StackEndpoints, StackRuntime } from "../stack/runtime.js";
import { planScale, type ScaleRequest } from "../stack/scale-plan.js";
import { drainAndStop, restoreDrained, withScaleLock } from "./drain.js";
import { ensureImage } from "./images.js";
import type { Step, StepControl, StepIo } from "./steps.js";

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
}

/** What one run of `scale` did, shared by its steps. */
interface ScaleContext {
  results: ServiceScaleResult[];
  /** What an interrupted or failed run undid or finished on its way out, for its last line. */
  cleanedUp: string[];
}

/**
 * Runs the scale steps; interrupted (io.signal), it stops, undoes what is half done, and throws
 * the interruption with what it cleaned up (drains finished or undone, instances that had not
 * joined removed, locks released).
 */
export async function runScale(
  runtime: StackRuntime,
  endpoints: StackEndpoints,
  requests: ScaleRequest[],
  options: ScaleOptions,
  io: StepIo,
): Promise<ServiceScaleResult[]> {
  const { signal } = io;
  const ctx: ScaleContext = { results: [], cleanedUp: [] };
  try {
    await io.runSteps(scaleSteps({ runtime, endpoints, options, signal, ctx }, requests), {
      signal,
    });
  } catch (err) {
    const interrupted = interruption(signal);
    if (!interrupted) throw err;
    throw interrupted.after(`${[...ctx.cleanedUp, "no lock left held"].join("; ")}`);
  }
  return ctx.results;
}

/** What every step of a scale works with. */
interface ScaleRun {
  runtime: StackRuntime;
  endpoints: StackEndpoints;
  options: ScaleOptions;
  /** Aborted by Ctrl-C/SIGTERM: stop, and undo what is half done. */
  signal?: AbortSignal;
  ctx: ScaleContext;
}

/** What every step of one service's scale works with. */
interface ServiceRun extends ScaleRun {
  service: string;
}

/** One step per service; each reconciles under a Consul lock, so concurrent scales never overshoot. */
function scaleSteps(scale: ScaleRun, requests: ScaleRequest[]): Step[] {
  return requests.map((req) => ({
    title: `${req.service} → ${req.replicas}`,
    run: (step) =>
      withScaleLock(
        scale.endpoints.consul,
        req.service,
        () => scaleService({ ...scale, service: req.service }, req, step),
        scale.signal,
      ),
  }));
}

async function scaleService(run: ServiceRun, req: ScaleRequest, step: StepControl): Promise<void> {
  const { runtime, endpoints, ctx } = run;
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
      ensureImage(runtime.engine, svc.image, runtime.config.pull, (line) => step.progress(line)),
      run.signal,
    );
  }
  // Every step's own promise, so that the lock is released only once all have settled,
  // clean-up included, even when one of them failed first.
  const running: Promise<void>[] = [];
  const track = (work: Promise<void>) => {
    running.push(work);
    return work;
  };
  const substeps: Step[] = [
    ...plan.start.map((index) => {
      const spec = instanceSpec(runtime.config, req.service, svc, index);
      return {
        title: `start ${spec.name}`,
        run: (sub: StepControl) => track(startStep(run, spec, svc.port, result, sub)),
      };
    }),
    ...plan.stop.flatMap((name) => {
      const instance = byName.get(name);
      if (!instance) return [];
      return {
        title: `drain and stop ${name}`,
        run: (sub: StepControl) => track(stopStep(run, instance, sub)),
      };
    }),
  ];
  if (substeps.length === 0)
    step.setTitle(`${req.service}: ${req.replicas} running, nothing to do`);
  try {
    await step.substeps(substeps, { concurrent: true });
  } finally {
    await Promise.allSettled(running);
  }
  result.started.sort();
}

async function startStep(
  run: ServiceRun,
  spec: ReturnType<typeof instanceSpec>,
  port: number,
  result: ServiceScaleResult,
  sub: StepControl,
): Promise<void> {
  const started = await startInstance(run.runtime, run.service, spec);
  if (!started) {
    sub.setTitle(`${spec.name} (already made by another drcon)`);
    return;
  }
  result.started.push(spec.name);
  if (run.options.noWait) return;
  const address = `${started}:${port}`;
  await joinOrRemove(run, spec.name, address);
  sub.setTitle(`${spec.name} serving at ${address}`);
}

async function stopStep(run: ServiceRun, instance: Instance, sub: StepControl) {
  const { signal } = run;
  try {
    await drainAndStop(run.runtime, run.endpoints, run.service, instance, {
      drainTimeoutMs: run.options.drainTimeoutMs,
      signal,
      progress: (line) => sub.progress(line),
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
      { signal: run.signal },
    );
  } catch (err) {
    // One that stopped by itself is left in place for `docker logs`; the next scale removes it.
    if (isKind(err, "stopped")) throw err;
    await runtime.engine.removeContainer(name);
    ctx.cleanedUp.push(`removed ${name} (it had not joined the LB)`);
    if (interruption(run.signal)) throw err;
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
