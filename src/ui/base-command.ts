import { Command, Errors, Flags, type Interfaces } from "@oclif/core";
import { type LoadOptions, loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { color } from "./colors.js";
import { DrconError, InterruptedError } from "./errors.js";
import { captureInterrupts, type Interrupts } from "./interrupt.js";

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

  protected override async finally(err: Error | undefined): Promise<unknown> {
    this.interrupts?.dispose();
    return super.finally(err);
  }

  protected override async catch(err: Interfaces.CommandError): Promise<unknown> {
    // oclif's own parse errors (unknown flag, missing arg) already read well.
    if (err instanceof Errors.CLIError && !(err instanceof DrconError)) return super.catch(err);
    const debug = this.argv.includes("--debug") || Boolean(process.env.DEBUG);
    if (debug) this.logToStderr(err.stack ?? String(err));
    if (err instanceof InterruptedError) {
      // Not an error the user has to fix: what happened and what was cleaned up, on one line.
      this.logToStderr(err.message);
      throw new Errors.ExitError(err.exitCode);
    }
    const message =
      err instanceof DrconError
        ? err.message
        : `${err.message}${debug ? "" : " (run again with --debug for details)"}`;
    this.logToStderr(`${color.red("Error:")} ${message}`);
    const code = err instanceof DrconError ? err.exitCode : 1;
    throw new Errors.ExitError(code);
  }
}
