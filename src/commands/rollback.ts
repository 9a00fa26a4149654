import { Args } from "@oclif/core";
import { knownService } from "../stack/deploy-target.js";
import { previousRevision } from "../stack/deployed.js";
import { withLabelledServices } from "../stack/instances.js";
import { StackRuntime } from "../stack/runtime.js";
import { DeployCommand } from "../ui/deploy-command.js";

export default class Rollback extends DeployCommand {
  static override description =
    `Deploy the service's previous revision again (as drcon deploy does).

drcon keeps the last 5 revisions deployed to each service in Consul's KV store (drcon/deploy/<service>); rollback rolls to the one before the current one, with the same health gate and automatic rollback as deploy.`;

  static override examples = ["<%= config.bin %> rollback simple"];

  static override args = {
    service: Args.string({ description: "the service to roll back", required: true }),
  };

  static override flags = { ...DeployCommand.rolloutFlags };

  async run() {
    const { args, flags } = await this.parse(Rollback);
    const runtime = await withLabelledServices(
      new StackRuntime(this.stackConfig(flags, { pull: flags.pull })),
    );
    knownService(runtime.config.services, args.service);
    return this.deploy(
      runtime,
      args.service,
      (endpoints) => previousRevision(endpoints.consul, args.service),
      flags,
    );
  }
}
