import { Listr, ListrLogger, type ListrRendererValue, type ListrTask, PRESET_TIMER } from "listr2";
import { color } from "./colors.js";

export interface TaskOptions {
  /** Silent when the command prints JSON: stdout then carries nothing but the result. */
  quiet?: boolean;
  concurrent?: boolean;
}

/**
 * Runs steps with live progress and each step's duration; listr2 itself falls back to one plain
 * line per step when stdout is not a TTY. Tasks are built by the stack services, rendered here.
 */
export async function runTasks<C>(tasks: ListrTask<C>[], ctx: C, options: TaskOptions = {}) {
  const list = new Listr<C, ListrRendererValue, ListrRendererValue>(tasks, {
    ctx,
    concurrent: options.concurrent ?? false,
    exitOnError: true,
    renderer: options.quiet ? "silent" : "default",
    fallbackRenderer: options.quiet ? "silent" : "simple",
    rendererOptions: { timer: PRESET_TIMER, collapseSubtasks: false },
    // Steps, failed ones too, go to stdout: stderr carries only the command's one error line.
    fallbackRendererOptions: {
      timer: PRESET_TIMER,
      logger: new ListrLogger({ useIcons: true, toStderr: [] }),
    },
    collectErrors: false,
    // The command owns SIGINT/SIGTERM (ui/interrupt.ts): listr2 would exit 127 mid-step, skipping
    // the clean-up.
    registerSignalListeners: false,
  });
  return list.run();
}

export const mark = {
  ok: (text: string) => `${color.green("✔")} ${text}`,
  warn: (text: string) => `${color.yellow("!")} ${text}`,
  bad: (text: string) => `${color.red("✖")} ${text}`,
};
