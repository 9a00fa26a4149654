/**
 * The one error type commands print the same way: a single line that says what is wrong and
 * how to fix it, and an exit code. Anything else is a bug and shows its stack with --debug.
 */
export class DrconError extends Error {
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "DrconError";
    this.exitCode = options.exitCode ?? 1;
  }
}
