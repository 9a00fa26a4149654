// The order in which `drcon deploy` replaces a service's instances (pure).
import { DrconError } from "../base/errors.js";

export interface RolloutInput {
  /** Running instances on another revision, in the order they are to go (oldest first). */
  old: string[];
  /** Instance numbers held by any container of the service (running or not). */
  taken: number[];
  /** New instances started before as many old ones are stopped. */
  surge: number;
  /** Instances already on the new revision beyond the count (canaries): old ones stop first. */
  extra?: number;
  /** Start only this many new instances beside the old ones, and stop nothing. */
  canary?: number;
}

export interface RolloutStep {
  /** Instance numbers to start, then wait for until the LB routes each. */
  start: number[];
  /** Old instances to drain and stop once those are routed. */
  stop: string[];
}

/**
 * Start `surge` new instances, then drain and stop as many old ones, until no old one is left:
 * at every moment at least as many instances serve as before. New instances take the lowest
 * numbers that no container of the service holds at the start, so a deploy of simple-1..3 makes
 * simple-4..6, and the next one simple-1..3 again.
 */
export function planRollout(input: RolloutInput): RolloutStep[] {
  const { old, surge } = input;
  checkSurge(surge);
  const extra = Math.min(input.extra ?? 0, old.length);
  const toStart = input.canary ?? old.length - extra;
  const indexes = freeIndexes(input.taken, toStart);
  if (input.canary !== undefined) return toStart > 0 ? [{ start: indexes, stop: [] }] : [];
  const steps: RolloutStep[] = [];
  // Surplus new instances (canaries) replace old ones without a start.
  if (extra > 0) steps.push({ start: [], stop: old.slice(0, extra) });
  let stopped = extra;
  for (let i = 0; i < indexes.length; i += surge) {
    const start = indexes.slice(i, i + surge);
    steps.push({ start, stop: old.slice(stopped, stopped + start.length) });
    stopped += start.length;
  }
  return steps;
}

/** A deploy never stops an old instance before a new one serves: at least one surges. */
export function checkSurge(surge: number): void {
  if (!Number.isInteger(surge) || surge < 1) {
    throw new DrconError(
      `--surge ${surge}: a deploy starts at least one new instance before it stops an old one, so that never fewer serve; use --surge 1 or more`,
    );
  }
}

/** The `count` lowest numbers from 1 that are not taken. */
export function freeIndexes(taken: number[], count: number): number[] {
  const held = new Set(taken);
  const free: number[] = [];
  for (let n = 1; free.length < count; n++) if (!held.has(n)) free.push(n);
  return free;
}
