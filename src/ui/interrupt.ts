import { InterruptedError, type InterruptSignal } from "../base/errors.js";

const SIGNALS: InterruptSignal[] = ["SIGINT", "SIGTERM"];

export interface Interrupts {
  /** Aborted, with an InterruptedError as its reason, at the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** Gives the signals back to Node's default handling. */
  dispose(): void;
}

/**
 * Owns SIGINT and SIGTERM for one command: the first one aborts `signal`, so the services stop
 * at their next step and undo what they left half made; a second one leaves at once, with one
 * line on stderr (`leaving` says what may be left behind).
 */
export function captureInterrupts(leaving: string): Interrupts {
  const controller = new AbortController();
  const handler = (received: InterruptSignal) => {
    if (!controller.signal.aborted) {
      controller.abort(new InterruptedError(received));
      return;
    }
    const again = new InterruptedError(received);
    // On a terminal the progress line may be half drawn: start on a fresh one.
    const fresh = process.stderr.isTTY ? "\n" : "";
    process.stderr.write(`${fresh}Interrupted again by ${received}: left at once; ${leaving}\n`);
    process.exit(again.exitCode);
  };
  for (const s of SIGNALS) process.on(s, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const s of SIGNALS) process.off(s, handler);
    },
  };
}
