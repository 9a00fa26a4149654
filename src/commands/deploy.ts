import { Args, Flags } from "@oclif/core";
import { deployTarget, knownService } from "../stack/deploy-target.js";
import { canarySpec } from "../stack/deployed.js";
import { withLabelledServices } from "../stack/instances.js";
import { type StackEndpoints, StackRuntime } from "../stack/runtime.js";
import { DeployCommand } from "../ui/deploy-command.js";

export default class Deploy extends DeployCommand {
  static override description =
    `Roll a service to a new revision (image, env) with nothing dropped, keeping its count.

Starts --surge new instances, waits until each passes its check and the LB routes it, then drains and stops as many old ones (SIGTERM only once no request to them is in flight), and repeats. New instances take the lowest numbers no container of the service holds (simple-1..3 are replaced by simple-4..6; the next deploy goes back to 1..3). A new instance that exits, fails its check or is not routed within --timeout stops the deploy: what changed is rolled back (the old instances still serve), exit 1. With no --image/--env it rolls to what the configuration says; later scales start the deployed revision. --canary N starts N new instances beside the old ones, so both revisions serve; --promote finishes that rollout, --abort drains and removes the canaries.`;

  static override examples = [
    "<%= config.bin %> deploy simple --env WHOAMI_NAME=b",
    "<%= config.bin %> deploy simple --image traefik/whoami:v1.10.0 --surge 2 --timeout 30s",
    "<%= config.bin %> deploy simple --env WHOAMI_NAME=c --canary 1",
    "<%= config.bin %> deploy simple --promote",
    "<%= config.bin %> deploy simple --abort",
    "<%= config.bin %> deploy simple --json",
  ];

  static override args = {
    service: Args.string({ description: "the service to deploy", required: true }),
  };

  static override flags = {
    image: Flags.string({ description: "the new image (default: the configured one)" }),
    env: Flags.string({
      description: "set an environment variable, NAME=VALUE (repeatable)",
      multiple: true,
    }),
    canary: Flags.integer({
      description: "start this many new instances beside the old ones and stop there",
      min: 1,
      exclusive: ["promote", "abort"],
    }),
    promote: Flags.boolean({
      description: "finish the rollout of the service's canaries",
      exclusive: ["image", "env", "abort"],
    }),
    abort: Flags.boolean({
      description: "drain and remove the service's canaries",
      exclusive: ["image", "env"],
    }),
    ...DeployCommand.rolloutFlags,
  };

  async run() {
    const { args, flags } = await this.parse(Deploy);
    const runtime = await withLabelledServices(
      new StackRuntime(this.stackConfig(flags, { pull: flags.pull })),
    );
    const configured = knownService(runtime.config.services, args.service);
    if (flags.abort) return this.abort(runtime, args.service, flags);
    if (flags.promote) {
      const spec = (endpoints: StackEndpoints) => canarySpec(endpoints.consul, args.service);
      return this.deploy(runtime, args.service, spec, flags);
    }
    const target = deployTarget(configured, flags.image, flags.env ?? []);
    return this.deploy(runtime, args.service, async () => target, flags, { canary: flags.canary });
  }
}
