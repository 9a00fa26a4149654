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
