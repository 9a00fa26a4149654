import { sleep } from "../consul/client.js";
import { DrconError } from "../ui/errors.js";

export const READY_TIMEOUT_MS = 60_000;

/**
 * Polls `check` until it gives a value; its last error goes into the timeout message. An aborted
 * `signal` (Ctrl-C) ends the wait with the signal's reason.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  what: string,
  options: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? READY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      // A DrconError is a definite answer (it will never come), not a passing failure.
      if (err instanceof DrconError) throw err;
      last = ` (last error: ${(err as Error).message})`;
    }
    await sleep(options.intervalMs ?? 100);
  }
  throw new DrconError(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last}`);
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
