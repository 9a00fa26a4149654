import {
  Listr,
  ListrLogger,
  type ListrRendererValue,
  type ListrTask,
  ListrTaskEventType,
  PRESET_TIMER,
  SilentRenderer,
} from "listr2";
import type { Step, StepControl, StepRunner, StepRunOptions } from "../services/steps.js";

type Wrapper = Parameters<ListrTask<object>["task"]>[1];

/**
 * Runs steps with live progress and each step's duration; listr2 itself falls back to one plain
 * line per step when stdout is not a TTY. `quiet` (--json) shows nothing: stdout then carries
 * nothing but the result.
 */
export function stepRunner(quiet: boolean): StepRunner {
  return async (steps, options = {}) => {
    const list = new Listr<object, ListrRendererValue, ListrRendererValue>(
      toTasks(steps, options.signal),
      {
        concurrent: options.concurrent ?? false,
        exitOnError: true,
        renderer: quiet ? "silent" : "default",
        fallbackRenderer: quiet ? "silent" : "simple",
        rendererOptions: { timer: PRESET_TIMER, collapseSubtasks: false },
        // Steps, failed ones too, go to stdout: stderr carries only the command's one error line.
        fallbackRendererOptions: {
          timer: PRESET_TIMER,
          logger: new ListrLogger({ useIcons: true, toStderr: [] }),
        },
        collectErrors: false,
        // The command owns SIGINT/SIGTERM (ui/interrupt.ts): listr2 would exit 127 mid-step,
        // skipping the clean-up.
        registerSignalListeners: false,
      },
    );
    await list.run({});
  };
}

function toTasks(steps: Step[], signal: AbortSignal | undefined): ListrTask<object>[] {
  return steps.map((step) => ({
    title: step.title,
    task: (_ctx, task) => {
      signal?.throwIfAborted();
      return step.run(control(task, signal));
    },
  }));
}

function control(task: Wrapper, signal: AbortSignal | undefined): StepControl {
  return {
    signal,
    setTitle: (title) => {
      task.title = title;
    },
    progress: (line) => {
      task.output = line;
    },
    substeps: (steps, options: StepRunOptions = {}) => {
      const list = task.newListr(toTasks(steps, signal), {
        concurrent: options.concurrent ?? false,
        exitOnError: true,
      });
      // A list run inside its step (so the step can hold a lock around it, or undo it) would draw
      // itself apart from the step; shown as the step's subtasks it is drawn nested, as a list the
      // step returned would be.
      list.rendererClass = SilentRenderer;
      task.task.subtasks = list.tasks;
      task.task.emit(ListrTaskEventType.SUBTASK, list.tasks);
      return list.run({}).then(() => undefined);
    },
  };
}
