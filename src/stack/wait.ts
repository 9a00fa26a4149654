import { sleep } from "../consul/client.js";
import { DrconError } from "../ui/errors.js";

export const READY_TIMEOUT_MS = 60_000;

/** Polls `check` until it gives a value; its last error goes into the timeout message. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  what: string,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? READY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
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
