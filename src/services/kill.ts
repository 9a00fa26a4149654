import { DrconError } from "../base/errors.js";
import { pickRandom } from "../base/order.js";
import { sleep } from "../base/time.js";
import { waitFor } from "../base/wait.js";
import { META } from "../contract.js";
import { type Instance, listInstances } from "../stack/instances.js";
import { routesTo } from "../stack/lb-routes.js";
import type { StackEndpoints, StackRuntime } from "../stack/runtime.js";

/**
 * How long a killed instance may take to stop before `--restart` gives up with an error: an
 * app that handles the signal (SIGTERM) gets as long as a graceful stop, and the engine leeway.
 */
const STOP_TIMEOUT_MS = 30_000;

export interface KillOptions {
  count: number;
  signal: string;
  /** Start the killed instances again, so the count comes back after each round (once routed). */
  restart: boolean;
}

export interface KillRound {
  at: string;
  killed: string[];
  restarted: string[];
}

/** With `every`, rounds are due at start, start + every, start + 2 * every... within `forMs`. */
export interface KillSchedule {
  every?: number;
  forMs: number;
}

/**
 * How long to wait before the next round once `done` rounds ran, or undefined when the schedule
 * is over. The count of rounds is the schedule's, however long one round (a restart waits for
 * the LB) takes: a late round is started at once.
 */
export function nextRoundIn(
  schedule: KillSchedule,
  done: number,
  startedAt: number,
  now: number,
): number | undefined {
  if (schedule.every === undefined || done * schedule.every >= schedule.forMs) return undefined;
  return Math.max(0, startedAt + done * schedule.every - now);
}

/**
 * `drcon kill`: one round, or rounds on the schedule; `onRound` hears of each as it ends (the
 * command prints it). Returns every round.
 */
export async function runKill(
  runtime: StackRuntime,
  endpoints: StackEndpoints,
  target: string,
  options: KillOptions & KillSchedule,
  onRound: (round: KillRound) => void,
): Promise<KillRound[]> {
  const rounds: KillRound[] = [];
  const startedAt = Date.now();
  for (;;) {
    const round = await killRound(runtime, endpoints, target, options);
    rounds.push(round);
    onRound(round);
    const wait = nextRoundIn(options, rounds.length, startedAt, Date.now());
    if (wait === undefined) return rounds;
    await sleep(wait);
  }
}

/** Signals by name (SIGKILL, KILL) or number; anything else is refused before Docker sees it. */
export function normaliseSignal(signal: string): string {
  const upper = signal.toUpperCase();
  if (/^\d{1,2}$/.test(upper)) return upper;
  if (/^(SIG)?[A-Z][A-Z0-9]{1,10}$/.test(upper))
    return upper.startsWith("SIG") ? upper : `SIG${upper}`;
  throw new DrconError(`--signal ${signal}: write a signal name such as SIGKILL or SIGTERM`);
}

/**
 * Kills running instances of a service (random ones) or one named instance, as a crash would:
 * nothing is drained first, which is the point of the demo.
 */
async function killRound(
  runtime: StackRuntime,
  endpoints: StackEndpoints,
  target: string,
  options: KillOptions,
): Promise<KillRound> {
  const victims = await chooseVictims(runtime, target, options.count);
  await Promise.all(victims.map((v) => runtime.engine.killContainer(v.id, options.signal)));
  const restarted: string[] = [];
  if (options.restart) {
    for (const v of victims) {
      await waitUntilStopped(runtime, v, options.signal);
      await runtime.engine.startContainer(v.id);
      restarted.push(v.name);
    }
    // Like scale: the round ends once the LB routes the restarted instances again.
    await Promise.all(victims.map((v) => waitUntilRoutedAgain(runtime, endpoints, v)));
  }
  return { at: new Date().toISOString(), killed: victims.map((v) => v.name), restarted };
}

async function chooseVictims(
  runtime: StackRuntime,
  target: string,
  count: number,
): Promise<Instance[]> {
  const all = await listInstances(runtime);
  const byName = all.find((i) => i.name === target || i.name === `${runtime.name}-${target}`);
  if (byName) {
    if (!byName.running) throw new DrconError(`${byName.name} is not running`);
    return [byName];
  }
  const services = [...new Set(all.map((i) => i.service))].sort();
  if (!services.includes(target)) {
    throw new DrconError(
      `no service or instance named ${target} in stack ${runtime.name}${services.length ? ` (services: ${services.join(", ")})` : ""}`,
    );
  }
  const running = all.filter((i) => i.service === target && i.running);
  if (running.length === 0) {
    throw new DrconError(
      `no running instance of ${target}: start some with \`drcon scale ${target}=3\``,
    );
  }
  return pickRandom(running, count);
}

/** Waits until the killed instance no longer runs; one that ignores the signal is an error. */
async function waitUntilStopped(runtime: StackRuntime, victim: Instance, signal: string) {
  await waitFor(
    async () =>
      (await runtime.engine.inspectContainer(victim.id))?.State.Running ? undefined : true,
    `${victim.name} to stop after ${signal}`,
    { timeoutMs: STOP_TIMEOUT_MS, intervalMs: 50 },
  );
}

/**
 * Waits until the LB routes the instance's registration from its latest start: the one from
 * before the kill (same container, maybe same address) may not have left Consul yet.
 */
async function waitUntilRoutedAgain(
  runtime: StackRuntime,
  endpoints: StackEndpoints,
  instance: Instance,
): Promise<void> {
  const startedAt = (await runtime.engine.inspectContainer(instance.id))?.State.StartedAt;
  await waitFor(async () => {
    const current = (await endpoints.consul.agentServices()).filter(
      (s) => s.Meta?.[META.container] === instance.id && s.Meta?.[META.started] === startedAt,
    );
    if (current.length === 0) return undefined;
    for (const s of current) {
      if (!(await routesTo(endpoints.lbUrl, s.Service, `${s.Address}:${s.Port}`))) return undefined;
    }
    return true;
  }, `${instance.name} to be routed again after its restart`);
}
