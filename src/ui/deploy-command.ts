import { Flags } from "@oclif/core";
import { parseDuration } from "../base/time.js";
import { PULL_POLICIES, type ServiceConfig } from "../config/schema.js";
import { type DeployResult, runAbort, runDeploy } from "../services/deploy.js";
import { DEFAULT_DRAIN_TIMEOUT_MS } from "../services/drain.js";
import { checkSurge } from "../stack/rollout-plan.js";
import type { StackEndpoints, StackRuntime } from "../stack/runtime.js";
import { DrconCommand } from "./base-command.js";

interface RolloutFlags {
  surge: number;
  timeout: string;
  "drain-timeout"?: string;
}

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
    pull: Flags.option({
      options: PULL_POLICIES,
      description: "when to pull the image [default: missing]",
      env: "DRCON_PULL",
    })(),
    "drain-timeout": Flags.string({
      description: `longest wait for requests in flight to an old instance, e.g. 30s [default: ${DEFAULT_DRAIN_TIMEOUT_MS / 1000}s]`,
      env: "DRCON_DRAIN_TIMEOUT",
    }),
  };

  protected async deploy(
    runtime: StackRuntime,
    service: string,
    targetOf: (endpoints: StackEndpoints) => Promise<ServiceConfig>,
    flags: RolloutFlags,
    mode: { canary?: number } = {},
  ): Promise<DeployResult & { stack: string }> {
    checkSurge(flags.surge);
    const timeoutMs = parseDuration(flags.timeout, "--timeout");
    const drainTimeoutMs = this.drainTimeout(flags);
    const endpoints = await runtime.endpoints();
    const target = await targetOf(endpoints);
    const io = this.stepIo(
      "new instances may be left running beside the old ones: run the deploy again",
    );
    const result = await runDeploy(
      runtime,
      endpoints,
      service,
      target,
      { surge: flags.surge, timeoutMs, drainTimeoutMs, ...mode },
      io,
    );
    if (!this.jsonEnabled()) {
      const replaced = result.stopped.length
        ? `: replaced ${result.stopped.join(", ")} (${result.replaced.join(", ")})${result.started.length ? ` with ${result.started.join(", ")}` : ""}`
        : ", nothing to replace";
      this.log(
        mode.canary
          ? `${service}: canary ${result.started.join(", ")} on revision ${result.revision} serves beside the old instances: drcon deploy ${service} --promote finishes, --abort removes it`
          : `${service} is on revision ${result.revision}${replaced}`,
      );
    }
    return { stack: runtime.name, ...result };
  }

  /** `deploy --abort`: the canaries drained and removed. */
  protected async abort(
    runtime: StackRuntime,
    service: string,
    flags: RolloutFlags,
  ): Promise<DeployResult & { stack: string }> {
    const drainTimeoutMs = this.drainTimeout(flags);
    const endpoints = await runtime.endpoints();
    const io = this.stepIo("a canary may be left in maintenance: run --abort again");
    const result = await runAbort(runtime, endpoints, service, { drainTimeoutMs }, io);
    if (!this.jsonEnabled()) {
      this.log(`${service}: removed the canaries ${result.stopped.join(", ") || "(none running)"}`);
    }
    return { stack: runtime.name, ...result };
  }

  private drainTimeout(flags: RolloutFlags): number {
    return flags["drain-timeout"]
      ? parseDuration(flags["drain-timeout"], "--drain-timeout")
      : DEFAULT_DRAIN_TIMEOUT_MS;
  }
}
