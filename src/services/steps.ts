// drcon's own step type: what a service does, one titled step at a time. Services build steps;
// ui/run-steps.ts shows them (listr2), so no service knows how they are drawn.

/** One step of a command as the user sees it: a title, then the work, which may retitle it. */
export interface Step {
  title: string;
  run(step: StepControl): Promise<void>;
}

/** What a running step may do besides its work. */
export interface StepControl {
  /** Aborted at Ctrl-C/SIGTERM (the same signal the command handed its service). */
  readonly signal?: AbortSignal;
  /** Replaces the step's title, e.g. with what it found or did. */
  setTitle(title: string): void;
  /** One line of progress under the step (a pull's layer, a drain's requests in flight). */
  progress(line: string): void;
  /** Runs these steps nested under this one; resolves once all succeeded, rejects at the first failure. */
  substeps(steps: Step[], options?: { concurrent?: boolean }): Promise<void>;
}

export interface StepRunOptions {
  concurrent?: boolean;
  /** Checked before each step (nested ones too): an aborted run starts no further step. */
  signal?: AbortSignal;
}

/** Shows and runs steps; rejects with the first step's failure. Commands pass the one of ui/. */
export type StepRunner = (steps: Step[], options?: StepRunOptions) => Promise<void>;

/** What a command hands the service it calls: how steps are shown, and its Ctrl-C signal. */
export interface StepIo {
  runSteps: StepRunner;
  /** Aborted, with an InterruptedError as its reason, at the first SIGINT or SIGTERM. */
  signal?: AbortSignal;
}
