// Errors of the base layer (imports nothing of drcon's): every layer throws them, ui/ renders them.

/**
 * What kind of failure an error is, for code that reacts to it (never by matching its text):
 * - usage: bad input or a state the user must fix (the default);
 * - engine-unreachable / engine-unanswered: no Docker engine at the endpoint / it did not answer;
 * - consul-unanswered: Consul took the connection but did not answer in time;
 * - timeout: a wait (waitFor) ran out of time;
 * - stopped: an instance stopped by itself before it joined the LB;
 * - interrupted: the user stopped the command (Ctrl-C, SIGTERM).
 */
export type ErrorKind =
  | "usage"
  | "engine-unreachable"
  | "engine-unanswered"
  | "consul-unanswered"
  | "timeout"
  | "stopped"
  | "interrupted";

/**
 * The one error type commands print the same way: a single line that says what is wrong and
 * how to fix it, and an exit code. Anything else is a bug and shows its stack with --debug.
 */
export class DrconError extends Error {
  readonly kind: ErrorKind;
  readonly exitCode: number;
  /** What the command found before it failed: with --json it goes out beside the error. */
  readonly result: object | undefined;

  constructor(
    message: string,
    options: { kind?: ErrorKind; exitCode?: number; cause?: unknown; result?: object } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "DrconError";
    this.kind = options.kind ?? "usage";
    this.exitCode = options.exitCode ?? 1;
    this.result = options.result;
  }
}

/** Whether `err` is a DrconError of one of `kinds`. */
export function isKind(err: unknown, ...kinds: ErrorKind[]): err is DrconError {
  return err instanceof DrconError && kinds.includes(err.kind);
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
      kind: "interrupted",
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
