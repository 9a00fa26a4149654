import { Flags } from "@oclif/core";
import { runDown } from "../services/down.js";
import { StackRuntime } from "../stack/runtime.js";
import { DrconCommand } from "../ui/base-command.js";
import { mark } from "../ui/marks.js";

export default class Down extends DrconCommand {
  static override description =
    "Remove everything drcon made for the stack: containers (service instances too) and its network; volumes only with --volumes. Containers started by hand on the stack network are disconnected from it and keep running (--remove-attached removes them).";

  static override examples = [
    "<%= config.bin %> down",
    "<%= config.bin %> down --volumes --stack demo",
    "<%= config.bin %> down --remove-attached",
  ];

  static override enableJsonFlag = true;

  static override flags = {
    volumes: Flags.boolean({ description: "also remove Consul's data volume" }),
    "remove-attached": Flags.boolean({
      description:
        "also remove containers started by hand on the stack network (by default they are only disconnected)",
    }),
  };

  async run() {
    const { flags } = await this.parse(Down);
    const result = await runDown(new StackRuntime(this.stackConfig(flags)), {
      removeVolumes: flags.volumes,
      removeAttached: flags["remove-attached"],
    });
    if (this.jsonEnabled()) return result;
    const removed = [
      ...result.containers.map((n) => `container ${n}`),
      ...result.networks.map((n) => `network ${n}`),
      ...result.volumes.map((n) => `volume ${n}`),
    ];
    if (removed.length === 0) this.log(`Nothing to remove: stack ${result.stack} is not there.`);
    for (const r of removed) this.log(mark.ok(`removed ${r}`));
    for (const d of result.disconnected) {
      this.log(
        mark.warn(
          `disconnected ${d} from network ${result.stack}: drcon did not make it, so it keeps running (--remove-attached removes it)`,
        ),
      );
    }
    return result;
  }
}
