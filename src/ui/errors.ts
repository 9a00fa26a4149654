/**
 * The one error type commands print the same way: a single line that says what is wrong and
 * how to fix it, and an exit code. Anything else is a bug and shows its stack with --debug.
 */
export class DrconError extends Error {
  readonly exitCode: number;
  /** What the command found before it failed: with --json it goes out beside the error. */
  readonly result: object | undefined;

  constructor(
    message: string,
    options: { exitCode?: number; cause?: unknown; result?: object } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "DrconError";
    this.exitCode = options.exitCode ?? 1;
    this.result = options.result;
  }
}

export type InterruptSignal = "SIGINT" | "SIGTERM";

/**
 * The user stopped the command (Ctrl-C, or SIGTERM from a supervisor). It is the reason of the
 * AbortSignal the services watch; they throw it again with what they cleaned up. Exit code is
 * the shell's convention, 128 + the signal's number.
 */
export class InterruptedError extends DrconError {
  constructor(
    readonly signal: InterruptSignal,
    readonly cleanedUp = "",
  ) {
    super(`Interrupted by ${signal}${cleanedUp ? `: ${cleanedUp}` : ""}`, {
      exitCode: signal === "SIGINT" ? 130 : 143,
    });
    this.name = "InterruptedError";
  }

  /** The same interruption, now saying what the command undid or finished before it left. */
  after(cleanedUp: string): InterruptedError {
    return new InterruptedError(this.signal, cleanedUp);
  }
}

/** The interruption `signal` was aborted with, if any. */
export function interruption(signal: AbortSignal | undefined): InterruptedError | undefined {
  return signal?.reason instanceof InterruptedError ? signal.reason : undefined;
}
