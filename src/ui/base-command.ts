import { Command, Errors, Flags, type Interfaces } from "@oclif/core";
import { DrconError, InterruptedError } from "../base/errors.js";
import { type LoadOptions, loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import type { StepIo } from "../services/steps.js";
import { color } from "./colors.js";
import { captureInterrupts, type Interrupts } from "./interrupt.js";
import { stepRunner } from "./run-steps.js";

/** What every drcon command shares: --stack, --config, --debug, and one way to fail. */
export abstract class DrconCommand extends Command {
  static override baseFlags = {
    stack: Flags.string({
      description: "stack name; several stacks can run side by side",
      env: "DRCON_STACK",
      helpGroup: "GLOBAL",
    }),
    config: Flags.string({
      char: "c",
      description:
        "path to a drcon.yml (default: ./drcon.yml when present, else the embedded default)",
      helpGroup: "GLOBAL",
    }),
    debug: Flags.boolean({ description: "show stack traces on errors", helpGroup: "GLOBAL" }),
  };

  protected stackConfig(
    flags: { stack?: string; config?: string },
    overrides: LoadOptions["overrides"] = {},
  ): Config {
    return loadConfig({
      configPath: flags.config,
      overrides: { stack: flags.stack, ...overrides },
    });
  }

  private interrupts: Interrupts | undefined;

  /**
   * From here on the command owns SIGINT/SIGTERM: the first one aborts the returned signal (the
   * services undo what they left half made, then the command exits 130 or 143), a second one
   * leaves at once. `leaving` tells the user what a second one may leave behind.
   */
  protected interruptible(leaving: string): AbortSignal {
    this.interrupts ??= captureInterrupts(leaving);
    return this.interrupts.signal;
  }

  /**
   * What the command hands its service: its steps shown with listr2 (nothing with --json), and
   * from here on the interrupt signal of `interruptible(leaving)`.
   */
  protected stepIo(leaving: string): StepIo {
    return { runSteps: stepRunner(this.jsonEnabled()), signal: this.interruptible(leaving) };
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    this.interrupts?.dispose();
    return super.finally(err);
  }

  /**
   * Every failure is one line on stderr, --json or not (oclif's --json mode would print nothing
   * there); with --json, stdout also gets oclif's `{"error": ...}` object, kept to what a script
   * needs.
   */
  protected override async catch(err: Interfaces.CommandError): Promise<unknown> {
    // An exit asked for on purpose (this.exit) is no failure to report.
    if (err instanceof Errors.ExitError) throw err;
    const json = this.jsonEnabled();
    const ours = err instanceof DrconError;
    // oclif's own parse errors (unknown flag, missing arg) already read well, with the usage.
    if (err instanceof Errors.CLIError && !ours && !json) return super.catch(err);
    const debug = this.argv.includes("--debug") || Boolean(process.env.DEBUG);
    if (debug) process.stderr.write(`${err.stack ?? String(err)}\n`);
    const known = ours || err instanceof Errors.CLIError;
    const message = known
      ? err.message
      : `${err.message}${debug ? "" : " (run again with --debug for details)"}`;
    const code = ours ? err.exitCode : (err.oclif?.exit ?? 1);
    // Not logToStderr: --json silences it. An interruption is no error the user has to fix: it
    // says what happened and what was cleaned up.
    const line = err instanceof InterruptedError ? message : `${color.red("Error:")} ${message}`;
    process.stderr.write(`${line}\n`);
    if (json) {
      const result = ours ? err.result : undefined;
      this.logJson({ ...result, ...this.toErrorJson({ message, exitCode: code }) });
    }
    throw new Errors.ExitError(code);
  }

  protected override toErrorJson(error: { message: string; exitCode: number }): { error: object } {
    return { error };
  }
}
