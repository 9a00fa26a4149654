import { Flags } from "@oclif/core";
import type { ServiceConfig } from "../config/schema.js";
import { type DeployResult, runDeploy } from "../stack/deploy.js";
import { DEFAULT_DRAIN_TIMEOUT_MS } from "../stack/drain.js";
import { checkSurge } from "../stack/rollout-plan.js";
import type { StackEndpoints, StackRuntime } from "../stack/runtime.js";
import { parseDuration } from "../stack/scale-plan.js";
import { DrconCommand } from "./base-command.js";
import { runTasks } from "./tasks.js";

/** What `deploy` and `rollback` share: the rollout flags, the run, the last line. */
export abstract class DeployCommand extends DrconCommand {
  static override enableJsonFlag = true;

  static rolloutFlags = {
    surge: Flags.integer({
      description: "new instances started before as many old ones are stopped",
      default: 1,
    }),
    timeout: Flags.string({
      description: "longest wait for one new instance to pass its check and join the LB",
      default: "60s",
    }),
    "drain-timeout": Flags.string({
      description: `longest wait for requests in flight to an old instance, e.g. 30s [default: ${DEFAULT_DRAIN_TIMEOUT_MS / 1000}s]`,
      env: "DRCON_DRAIN_TIMEOUT",
    }),
  };

  protected async deploy(
    runtime: StackRuntime,
    service: string,
    targetOf: (endpoints: StackEndpoints) => Promise<ServiceConfig>,
    flags: { surge: number; timeout: string; "drain-timeout"?: string },
  ): Promise<DeployResult & { stack: string }> {
    checkSurge(flags.surge);
    const timeoutMs = parseDuration(flags.timeout, "--timeout");
    const drainTimeoutMs = flags["drain-timeout"]
      ? parseDuration(flags["drain-timeout"], "--drain-timeout")
      : DEFAULT_DRAIN_TIMEOUT_MS;
    const endpoints = await runtime.endpoints();
    const target = await targetOf(endpoints);
    const signal = this.interruptible(
      "new instances may be left running beside the old ones: run the deploy again",
    );
    const result = await runDeploy(
      runtime,
      endpoints,
      service,
      target,
      { surge: flags.surge, timeoutMs, drainTimeoutMs, signal },
      (tasks, ctx) => runTasks(tasks, ctx, { quiet: this.jsonEnabled() }),
    );
    if (!this.jsonEnabled()) {
      const replaced = result.stopped.length
        ? `: replaced ${result.stopped.join(", ")} (${result.replaced.join(", ")}) with ${result.started.join(", ")}`
        : ", nothing to replace";
      this.log(`${service} is on revision ${result.revision}${replaced}`);
    }
    return { stack: runtime.name, ...result };
  }
}
