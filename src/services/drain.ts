import { isKind } from "../base/errors.js";
import { waitFor } from "../base/wait.js";
import type { ConsulApi } from "../consul/client.js";
import { META } from "../contract.js";
import type { Instance } from "../stack/instances.js";
import { routesTo } from "../stack/lb-routes.js";
import { containerName } from "../stack/names.js";
import type { StackEndpoints, StackRuntime } from "../stack/runtime.js";

/** The maintenance reason drcon sets while it drains an instance: what marks its own drains. */
export const DRAIN_REASON = "drcon scale: draining";
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_S = 10;
const TOP_TIMEOUT_MS = 5000;
const LOCK_TIMEOUT_MS = 120_000;

/** The Consul lock `drcon scale` holds on a service while it changes its instances. */
export function scaleLockKey(service: string): string {
  return `drcon/locks/scale/${service}`;
}

/** Holds the service's scale lock while `fn` runs, so two drcon commands never change it at once. */
export function withScaleLock<T>(
  consul: ConsulApi,
  service: string,
  fn: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  return consul.withLock(scaleLockKey(service), LOCK_TIMEOUT_MS, fn, signal);
}

export interface DrainOptions {
  /** Longest wait for requests in flight to the instance once the LB no longer routes to it. */
  drainTimeoutMs: number;
  signal?: AbortSignal;
  progress: (line: string) => void;
}

/**
 * Takes the instance out of rotation, then stops it once no request can be in flight to it:
 * Consul maintenance mode makes its check critical, consul-template drops it from nginx with a
 * graceful reload, and nginx's old workers (the only ones that can still hold a request to it,
 * or send one: each kept-alive client connection gets one more request, answered with
 * "Connection: close", within the LB's 1.5 s idle time) exit when those are done. Only then does
 * the instance get SIGTERM, so an app that exits at once on SIGTERM cuts nothing. An interrupt or
 * a failure before that puts the instance back in service; once it is being stopped, the stop is
 * finished.
 */
export async function drainAndStop(
  runtime: StackRuntime,
  endpoints: StackEndpoints,
  service: string,
  instance: Instance,
  options: DrainOptions,
): Promise<void> {
  const { consul } = endpoints;
  const registrations = await registrationsOf(consul, instance.id);
  if (registrations.length > 0) {
    // Every worker alive now may hold a config that routes to the instance.
    const before = new Set((await lbWorkers(runtime)).keys());
    await setMaintenance(consul, registrations, true);
    try {
      for (const r of registrations) {
        await waitFor(
          async () => ((await routesTo(endpoints.lbUrl, service, r.address)) ? undefined : true),
          `the LB to let go of ${instance.name}`,
          { timeoutMs: 15_000, intervalMs: 50, signal: options.signal },
        );
      }
      options.progress("out of the LB; waiting for requests in flight");
      await waitForOldWorkers(runtime, before, options);
    } catch (err) {
      await setMaintenance(consul, registrations, false).catch(() => {});
      throw err;
    }
  }
  options.progress("stopping");
  await runtime.engine.stopContainer(instance.id, STOP_TIMEOUT_S);
  await runtime.engine.removeContainer(instance.id);
}

/**
 * Waits until no nginx worker is left that may still route to a drained instance: the ones
 * alive before it was put in maintenance, and any already shutting down (from earlier reloads).
 * New workers load the config without it. Bounded by the drain timeout; past it the stop goes on.
 */
async function waitForOldWorkers(
  runtime: StackRuntime,
  before: Set<string>,
  options: DrainOptions,
): Promise<void> {
  const now = await lbWorkers(runtime);
  const old = new Set(
    [...now].filter(([pid, shuttingDown]) => before.has(pid) || shuttingDown).map(([pid]) => pid),
  );
  if (old.size === 0) return;
  const started = Date.now();
  let left = [...old];
  try {
    await waitFor(
      async () => {
        left = [...(await lbWorkers(runtime)).keys()].filter((p) => old.has(p));
        return left.length === 0 ? true : undefined;
      },
      "old nginx workers to finish",
      // Docker failing to list them is an answer, not a reason to keep asking.
      { timeoutMs: options.drainTimeoutMs, signal: options.signal, retry: () => false },
    );
  } catch (err) {
    if (!isKind(err, "timeout")) throw err;
    options.progress(
      `drain timeout: ${left.length} old nginx worker(s) still busy after ${options.drainTimeoutMs / 1000} s; stopping anyway`,
    );
    return;
  }
  options.progress(`requests in flight done after ${Date.now() - started} ms`);
}

/**
 * The LB's nginx worker processes, PID -> whether it is shutting down (nginx renames a worker
 * that a reload told to finish "worker process is shutting down"). Read with docker top, so the
 * LB image needs no tool of its own.
 */
async function lbWorkers(runtime: StackRuntime): Promise<Map<string, boolean>> {
  const processes = await runtime.engine.processes(
    containerName(runtime.name, "lb"),
    "-eo pid,args",
    TOP_TIMEOUT_MS,
  );
  const workers = processes.filter((p) => p.COMMAND?.startsWith("nginx: worker process"));
  return new Map(workers.map((p) => [p.PID ?? "", Boolean(p.COMMAND?.includes("shutting down"))]));
}

async function registrationsOf(consul: ConsulApi, containerId: string) {
  const services = await consul.agentServices();
  return services
    .filter((s) => s.Meta?.[META.container] === containerId)
    .map((s) => ({ id: s.ID, address: `${s.Address}:${s.Port}` }));
}

async function setMaintenance(
  consul: ConsulApi,
  registrations: Array<{ id: string }>,
  enable: boolean,
): Promise<void> {
  await Promise.all(registrations.map((r) => consul.maintenance(r.id, enable, DRAIN_REASON)));
}

/**
 * Puts back in service the instances of `service` that a drain left in maintenance (an
 * interrupted or killed `drcon scale`) and that are to keep running. Call it holding the
 * service's scale lock, so a drain in progress is never undone. Returns their names.
 */
export async function restoreDrained(
  consul: ConsulApi,
  service: string,
  keep: (containerId: string) => boolean,
): Promise<string[]> {
  const left = (await consul.health(service)).filter(
    (h) => h.maintenance === DRAIN_REASON && keep(h.meta[META.container] ?? ""),
  );
  await Promise.all(left.map((h) => consul.maintenance(h.id, false, DRAIN_REASON)));
  return [...new Set(left.map((h) => h.meta[META.instance] ?? h.id))].sort();
}
