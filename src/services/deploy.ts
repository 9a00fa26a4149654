// `drcon deploy`: replaces a service's instances with a new revision, a few at a time, each new
// one routed by the LB before an old one is drained; any failure rolls back to the old ones.
import { DrconError, interruption, isKind } from "../base/errors.js";
import { waitFor } from "../base/wait.js";
import type { ServiceConfig } from "../config/schema.js";
import { LABELS, META } from "../contract.js";
import { type ContainerDetails, type ContainerSpec, nameOf } from "../docker/engine.js";
import { instanceSpec } from "../stack/components.js";
import {
  appendRevision,
  readCanary,
  readHistory,
  writeCanary,
  writeHistory,
} from "../stack/deployed.js";
import { type Instance, listInstances } from "../stack/instances.js";
import { routesTo } from "../stack/lb-routes.js";
import { instanceName } from "../stack/names.js";
import { revisionOf } from "../stack/revision.js";
import { freeIndexes, planRollout } from "../stack/rollout-plan.js";
import type { StackEndpoints, StackRuntime } from "../stack/runtime.js";
import { drainAndStop, scaleLockKey, withScaleLock } from "./drain.js";
import { ensureImage } from "./images.js";
import { startInstance, stoppedHow } from "./scale.js";
import type { Step, StepControl, StepIo } from "./steps.js";

export interface DeployOptions {
  /** New instances started before as many old ones are stopped. */
  surge: number;
  /** Longest wait for one new instance to pass its check and be routed by the LB. */
  timeoutMs: number;
  /** Longest wait for requests in flight to an old instance before it gets SIGTERM. */
  drainTimeoutMs: number;
  /** Start this many new instances beside the old ones, and stop there. */
  canary?: number;
}

/** The options of one rollout, with the command's Ctrl-C signal. */
interface RolloutOptions extends DeployOptions {
  signal?: AbortSignal;
}

export interface DeployResult {
  service: string;
  revision: string;
  /** The revisions the replaced instances ran. */
  replaced: string[];
  started: string[];
  stopped: string[];
}

/** What one deploy did, shared by its steps. */
interface DeployContext {
  result?: DeployResult;
  /** What a failed or interrupted deploy undid on its way out, for its last line. */
  cleanedUp: string[];
}

/** A new instance once it is running: what the rollback needs to take it away again. */
interface Started {
  name: string;
  address: string;
}

/** An old instance as it was before it was stopped: what the rollback needs to bring it back. */
interface Stopped {
  name: string;
  details: ContainerDetails;
}

interface DeployRun {
  runtime: StackRuntime;
  endpoints: StackEndpoints;
  service: string;
  target: ServiceConfig;
  revision: string;
  options: RolloutOptions;
  ctx: DeployContext;
  /** Instance numbers held by the service's containers, growing as instances start. */
  taken: Set<number>;
}

/**
 * Deploys `target` as the service's spec. Fails in one line, with everything rolled back, when a
 * new instance does not pass its check and join the LB in time; interrupted, rolls back too.
 */
export async function runDeploy(
  runtime: StackRuntime,
  endpoints: StackEndpoints,
  service: string,
  target: ServiceConfig,
  deployOptions: DeployOptions,
  io: StepIo,
): Promise<DeployResult> {
  const options: RolloutOptions = { ...deployOptions, signal: io.signal };
  if (await endpoints.consul.lockHeld(scaleLockKey(service))) {
    throw new DrconError(
      `another drcon scale or deploy is changing ${service} right now: wait for it to finish, then run drcon deploy again`,
    );
  }
  const ctx: DeployContext = { cleanedUp: [] };
  const revision = revisionOf(target);
  const deploy = { runtime, endpoints, service, target, revision, options, ctx };
  const steps: Step[] = [
    {
      title: `image ${target.image}`,
      run: async (step) => {
        await ensureImage(runtime.engine, target.image, runtime.config.pull, (line) =>
          step.progress(line),
        );
      },
    },
    {
      title: `${service} → revision ${revision}`,
      run: (step) =>
        withScaleLock(endpoints.consul, service, () => rollout(deploy, step), options.signal),
    },
  ];
  try {
    await io.runSteps(steps, { signal: options.signal });
  } catch (err) {
    const interrupted = interruption(options.signal);
    if (!interrupted) throw err;
    throw interrupted.after([...ctx.cleanedUp, "no lock left held"].join("; "));
  }
  if (!ctx.result) throw new DrconError(`the deploy of ${service} ended without a result`);
  return ctx.result;
}

async function rollout(deploy: Omit<DeployRun, "taken">, step: StepControl): Promise<void> {
  const { runtime, service, revision, options, ctx } = deploy;
  const existing = await listInstances(runtime, service);
  const old = existing.filter((i) => i.running && i.revision !== revision);
  const run: DeployRun = { ...deploy, taken: new Set(existing.map((i) => i.index)) };
  const result: DeployResult = {
    service,
    revision,
    replaced: [...new Set(old.map((i) => i.revision ?? "unknown"))].sort(),
    started: [],
    stopped: [],
  };
  ctx.result = result;
  const canary = await readCanary(run.endpoints.consul, service);
  const canaries = existing.filter(
    (i) => i.running && i.revision === revision && canary?.instances.includes(i.name),
  );
  const plan = planRollout({
    old: old.map((i) => i.name),
    taken: [...run.taken],
    surge: options.surge,
    // Canaries of this revision are extra instances: a deploy to it (--promote) finishes them.
    extra: canaries.length,
    canary: options.canary,
  });
  const byName = new Map(old.map((i) => [i.name, i]));
  const done: Array<{ started: Started[]; stopped: Stopped[] }> = [];
  const substeps = plan.flatMap((batch): Step[] => {
    const names = batch.start.map((n) => instanceName(runtime.name, service, n));
    // Every batch's record, so a rollback undoes what the batches that ran did.
    const record = { started: [] as Started[], stopped: [] as Stopped[] };
    done.push(record);
    const steps: Step[] = [
      {
        title: `start ${names.join(", ")} and wait for the LB to route ${names.length > 1 ? "them" : "it"}`,
        run: async (sub) => {
          await startAll(run, batch.start, record.started);
          result.started.push(...names);
          sub.setTitle(`${names.join(", ")} serving`);
        },
      },
      {
        title: `drain and stop ${batch.stop.join(", ")}`,
        run: async (sub) => {
          const instances = batch.stop.flatMap((name) => byName.get(name) ?? []);
          await Promise.all(instances.map((i) => stopOld(run, i, record.stopped, sub)));
          result.stopped.push(...batch.stop);
        },
      },
    ];
    return steps.filter((_s, i) => (i === 0 ? names.length : batch.stop.length) > 0);
  });
  if (substeps.length === 0) {
    step.setTitle(`${service}: all running instances are on revision ${revision}, nothing to do`);
  }
  try {
    await step.substeps(substeps);
  } catch (err) {
    const undone = await rollBack(run, done, (line) => step.progress(line));
    ctx.cleanedUp.push(...undone);
    if (interruption(options.signal)) throw err;
    const serving = (await listInstances(runtime, service))
      .filter((i) => i.running && i.revision !== revision)
      .map((i) => i.name);
    throw new DrconError(
      `deploy of ${service} to ${revision} stopped: ${(err as Error).message}; rolled back (${undone.join("; ") || "nothing had changed"}): ${serving.join(", ") || "no instance"} still serve${serving.length === 1 ? "s" : ""}`,
      { cause: err },
    );
  }
  if (options.canary !== undefined) {
    const earlier = canary?.revision === revision ? canaries.map((i) => i.name) : [];
    const instances = [...earlier, ...result.started];
    await writeCanary(run.endpoints.consul, service, { revision, spec: run.target, instances });
    return;
  }
  await remember(run, old);
  if (canary) await writeCanary(run.endpoints.consul, service, undefined);
}

/**
 * `deploy --abort`: drains and removes the service's canaries (the old instances served all
 * along), and forgets them.
 */
export async function runAbort(
  runtime: StackRuntime,
  endpoints: StackEndpoints,
  service: string,
  options: Pick<DeployOptions, "drainTimeoutMs">,
  io: StepIo,
): Promise<DeployResult> {
  const { signal } = io;
  const canary = await readCanary(endpoints.consul, service);
  if (!canary) throw new DrconError(`${service} has no canary to abort`);
  const result: DeployResult = {
    service,
    revision: canary.revision,
    replaced: [],
    started: [],
    stopped: [],
  };
  const abort = async (step: StepControl) => {
    const running = (await listInstances(runtime, service)).filter(
      (i) => i.running && canary.instances.includes(i.name),
    );
    for (const instance of running) {
      step.progress(`draining ${instance.name}`);
      await drainAndStop(runtime, endpoints, service, instance, {
        ...options,
        signal,
        progress: (line) => step.progress(`${instance.name}: ${line}`),
      });
      result.stopped.push(instance.name);
    }
    await writeCanary(endpoints.consul, service, undefined);
  };
  await io.runSteps(
    [
      {
        title: `${service}: remove the canaries of ${canary.revision}`,
        run: (step) => withScaleLock(endpoints.consul, service, () => abort(step), signal),
      },
    ],
    { signal },
  );
  return result;
}

/** Starts new instances at these numbers together; each must pass its check and be routed. */
async function startAll(run: DeployRun, indexes: number[], started: Started[]): Promise<void> {
  const { runtime, service, target } = run;
  const specs = indexes.map((index) => instanceSpec(runtime.config, service, target, index));
  for (const index of indexes) run.taken.add(index);
  const outcomes = await Promise.allSettled(
    specs.map((spec) => startAndJoin(run, spec, target.port, started)),
  );
  const failed = outcomes.find((o) => o.status === "rejected");
  if (failed) throw failed.reason;
}

async function startAndJoin(
  run: DeployRun,
  spec: ContainerSpec,
  port: number,
  started: Started[],
): Promise<void> {
  const { runtime, endpoints, service, options } = run;
  options.signal?.throwIfAborted();
  const ip = await startInstance(runtime, service, spec);
  if (!ip) throw new DrconError(`${spec.name} was made by another drcon meanwhile`);
  const instance = { name: spec.name, address: `${ip}:${port}` };
  started.push(instance);
  const since = Date.now();
  try {
    await waitFor(
      async () => {
        if (await routesTo(endpoints.lbUrl, service, instance.address)) return true;
        const how = stoppedHow(await runtime.engine.inspectContainer(spec.name));
        if (how) throw new DrconError(`stopped (${how})`, { kind: "stopped" });
        return undefined;
      },
      `${spec.name} to join the LB`,
      { timeoutMs: options.timeoutMs, signal: options.signal },
    );
  } catch (err) {
    if (interruption(options.signal)) throw err;
    throw new DrconError(await whyNotServing(run, spec.name, err as Error, Date.now() - since), {
      cause: err,
    });
  }
}

/** One clause naming the instance and why it never served, with its last log line. */
async function whyNotServing(
  run: DeployRun,
  name: string,
  err: Error,
  waitedMs: number,
): Promise<string> {
  const { runtime, endpoints, service } = run;
  let why = isKind(err, "stopped") ? err.message : "";
  if (!why) {
    const health = await endpoints.consul.health(service).catch(() => []);
    const registration = health.find((h) => h.meta[META.instance] === name);
    why = !registration
      ? "was never registered in Consul"
      : registration.status === "passing"
        ? "passed its check but was not routed by the LB"
        : `did not pass its check (${registration.status})`;
    why = `${why} within ${Math.round(waitedMs / 1000)} s`;
  }
  const line = await runtime.engine.lastLogLine(name).catch(() => undefined);
  return `${name} ${why}${line ? ` (last log line: ${JSON.stringify(line.slice(0, 200))})` : " (no log output)"}`;
}

/** Drains an old instance and stops it, keeping what it was made from for a rollback. */
async function stopOld(
  run: DeployRun,
  instance: Instance,
  stopped: Stopped[],
  sub: StepControl,
): Promise<void> {
  const { runtime, endpoints, service, options } = run;
  options.signal?.throwIfAborted();
  const details = await runtime.engine.inspectContainer(instance.id);
  if (!details) return;
  await drainAndStop(runtime, endpoints, service, instance, {
    drainTimeoutMs: options.drainTimeoutMs,
    signal: options.signal,
    progress: (line) => sub.progress(`${instance.name}: ${line}`),
  });
  stopped.push({ name: instance.name, details });
}

/**
 * Undoes the steps done, newest first: the old instances a step stopped come back (made again
 * from their own settings, under free numbers) before its new ones are drained and removed, so
 * never fewer instances serve than before the deploy. Runs to the end after an interrupt too,
 * each wait bounded. Returns what it did, one clause each.
 */
async function rollBack(
  run: DeployRun,
  done: Array<{ started: Started[]; stopped: Stopped[] }>,
  progress: (line: string) => void,
): Promise<string[]> {
  const { runtime, endpoints, service, options } = run;
  const undone: string[] = [];
  const calm = { ...run, options: { ...options, signal: undefined } };
  for (const step of [...done].reverse()) {
    for (const old of step.stopped) {
      const [index = 0] = freeIndexes([...run.taken], 1);
      run.taken.add(index);
      const spec = respawnSpec(old.details, instanceName(runtime.name, service, index), index);
      progress(`bringing back ${old.name} as ${spec.name}`);
      await startAndJoin(calm, spec, Number(old.details.Config.Labels?.[LABELS.port] ?? 80), []);
      undone.push(`${old.name} made again as ${spec.name}`);
    }
    for (const instance of step.started) {
      progress(`removing ${instance.name}`);
      const details = await runtime.engine.inspectContainer(instance.name);
      if (!details) continue;
      if (await routesTo(endpoints.lbUrl, service, instance.address).catch(() => false)) {
        await drainAndStop(runtime, endpoints, service, asInstance(details, service), {
          drainTimeoutMs: options.drainTimeoutMs,
          progress,
        });
      } else {
        // Never routed: no request can be in flight to it.
        await runtime.engine.removeContainer(details.Id);
      }
      undone.push(`removed ${instance.name}`);
    }
  }
  return undone;
}

/** An old instance's container made again under another name: same image, env and labels. */
export function respawnSpec(details: ContainerDetails, name: string, index: number): ContainerSpec {
  return {
    name,
    Image: details.Config.Image,
    Env: details.Config.Env,
    Labels: { ...details.Config.Labels, [LABELS.instance]: String(index) },
    ExposedPorts: details.Config.ExposedPorts,
    HostConfig: {
      NetworkMode: details.HostConfig.NetworkMode,
      RestartPolicy: details.HostConfig.RestartPolicy,
    },
  };
}

function asInstance(details: ContainerDetails, service: string): Instance {
  const labels = details.Config.Labels ?? {};
  return {
    id: details.Id,
    name: nameOf(details),
    service,
    index: Number(labels[LABELS.instance]),
    running: details.State.Running,
    revision: labels[LABELS.revision],
  };
}

/**
 * Records the deployed revision, so that `scale` makes more of it and `rollback` can return.
 * A first deploy records the configured spec before it when that is what the old instances ran.
 */
async function remember(run: DeployRun, old: Instance[]): Promise<void> {
  const { endpoints, service, target, revision, runtime } = run;
  let history = await readHistory(endpoints.consul, service);
  const configured = runtime.config.services[service];
  const now = new Date();
  if (
    history.length === 0 &&
    configured &&
    old.length > 0 &&
    old.every((i) => i.revision === revisionOf(configured))
  ) {
    history = appendRevision(history, configured, now);
  }
  if (history.at(-1)?.revision !== revision) history = appendRevision(history, target, now);
  await writeHistory(endpoints.consul, service, history);
}
