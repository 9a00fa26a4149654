import { Flags } from "@oclif/core";
import { stackFlag } from "../config/defaults.js";
import { PULL_POLICIES } from "../config/schema.js";
import { runUp } from "../services/up.js";
import { StackRuntime } from "../stack/runtime.js";
import { DrconCommand } from "../ui/base-command.js";
import { color } from "../ui/colors.js";

export default class Up extends DrconCommand {
  static override description =
    `Bring up the stack: Consul, the registrator and the nginx + consul-template load balancer.

Idempotent: on a running stack it changes nothing; after a partial failure or a removed container it repairs what is missing. It returns once Consul has a leader, the registrator has synced and the load balancer answers. A failed or interrupted run (Ctrl-C, SIGTERM) removes what it made; a second Ctrl-C leaves at once.`;

  static override examples = [
    "<%= config.bin %> up",
    "<%= config.bin %> up --port 9080 --consul-port 9500 --stack demo",
    "<%= config.bin %> up --pull never",
  ];

  static override enableJsonFlag = true;

  static override flags = {
    port: Flags.integer({
      description: "host port of the load balancer [default: 8080]",
      min: 1,
      max: 65535,
    }),
    "consul-port": Flags.integer({
      description: "host port of Consul's HTTP API and UI [default: 8500]",
      min: 1,
      max: 65535,
    }),
    "host-ip": Flags.string({
      description: "host address the ports are published on [default: 127.0.0.1]",
    }),
    pull: Flags.option({
      options: PULL_POLICIES,
      description: "when to pull images [default: missing]",
      env: "DRCON_PULL",
    })(),
  };

  async run() {
    const { flags } = await this.parse(Up);
    const config = this.stackConfig(flags, {
      lb: flags.port,
      consul: flags["consul-port"],
      hostIp: flags["host-ip"],
      pull: flags.pull,
    });
    const io = this.stepIo(
      "what this run made may be left: drcon up again repairs it, drcon down removes it",
    );
    const result = await runUp(new StackRuntime(config), io);
    if (this.jsonEnabled()) return result;
    const flag = stackFlag(result.stack);
    this.log(
      result.changed.length === 0
        ? `\nStack ${result.stack} is already up; nothing changed.`
        : `\nStack ${result.stack} is up (${result.changed.join(", ")}).`,
    );
    this.log(`  Load balancer  ${color.cyan(result.lbUrl)}`);
    this.log(`  Consul UI      ${color.cyan(`${result.consulUrl}/ui/`)}`);
    this.log("\nNext:");
    this.log(`  drcon scale simple=3${flag}   start instances; they join the LB by themselves`);
    this.log(`  drcon watch${flag}            live routing table and requests through the LB`);
    this.log(`  drcon kill simple${flag}      crash an instance and see the LB route around it`);
    this.log(`  drcon down${flag}             remove everything drcon made`);
    return result;
  }
}
