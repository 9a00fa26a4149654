// The one poll helper every wait uses (readiness, locks, leaders, routes, stops), and its
// companion for steps that cannot be polled but must end on Ctrl-C.

import { DrconError } from "./errors.js";
import { sleep } from "./time.js";

export const READY_TIMEOUT_MS = 60_000;

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** An aborted signal (Ctrl-C) ends the wait with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Whether an error `check` threw is a passing failure worth another try. By default every
   * error but a DrconError, which is a definite answer (it will never come).
   */
  retry?: (err: unknown) => boolean;
  /** The timeout's message, given the last passing error's message (if any). */
  timeoutMessage?: (lastError: string | undefined) => string;
}

/**
 * Polls `check` (at least once) until it gives a value; its last error goes into the timeout
 * message, a DrconError of kind "timeout".
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  what: string,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? READY_TIMEOUT_MS;
  const retry = options.retry ?? ((err: unknown) => !(err instanceof DrconError));
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  do {
    options.signal?.throwIfAborted();
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      if (!retry(err)) throw err;
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) break;
    await sleep(options.intervalMs ?? 100);
  } while (Date.now() < deadline);
  const message =
    options.timeoutMessage?.(last) ??
    `timed out after ${timeoutMs / 1000} s waiting for ${what}${last === undefined ? "" : ` (last error: ${last})`}`;
  throw new DrconError(message, { kind: "timeout" });
}

/**
 * Settles with `work`, or rejects with the signal's reason as soon as it is aborted. For long
 * steps that make nothing the clean-up must undo (an image pull), which then end in the background.
 */
export async function untilAborted<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    // Still handled when the abort came first: its outcome no longer matters, but must not crash.
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
