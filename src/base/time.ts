// Time in the base layer: waiting, reading durations people write, writing elapsed times.
import ms from "ms";
import { DrconError } from "./errors.js";

/**
 * `await sleep(100)`. On the global setTimeout, not node:timers/promises, so that unit tests'
 * fake timers drive every wait.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Parses a duration such as 500ms, 3s or 1m into milliseconds; `flag` names it in the error. */
export function parseDuration(text: string, flag: string): number {
  const value = ms(text as ms.StringValue);
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new DrconError(`${flag} ${text}: write a duration such as 500ms, 3s or 1m`);
  }
  return value;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** An elapsed time: 42s, 3m05s, 1h02m. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad2(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad2(Math.floor((s % 3600) / 60))}m`;
}
