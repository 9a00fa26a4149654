import { Args, Flags } from "@oclif/core";
import { parseDuration } from "../base/time.js";
import { normaliseSignal, runKill } from "../services/kill.js";
import { StackRuntime } from "../stack/runtime.js";
import { DrconCommand } from "../ui/base-command.js";
import { mark } from "../ui/marks.js";

export default class Kill extends DrconCommand {
  static override description =
    `Chaos: kill a random running instance of a service (or the named instance), as a crash would.

Nothing is drained first: the point is to see the registrator and the LB route around a crash. With --every and --for it keeps killing on a schedule; --restart brings the killed instances back after each round, and the round ends once the LB routes them again.

Instances run under Docker's "always" restart policy, so that they come back after the engine restarts or crashes. Docker counts a kill sent through it (which this is) as a deliberate stop: the killed instance stays down, and the LB routes around it, until --restart or \`drcon up\` starts it again, \`drcon scale\` replaces it, or the engine restarts.`;

  static override examples = [
    "<%= config.bin %> kill simple",
    "<%= config.bin %> kill drcon-simple-2",
    "<%= config.bin %> kill simple --count 2 --signal SIGTERM",
    "<%= config.bin %> kill simple --every 3s --for 1m --restart",
  ];

  static override enableJsonFlag = true;

  static override args = {
    target: Args.string({
      description: "a service name, or an instance name such as drcon-simple-2",
      required: true,
    }),
  };

  static override flags = {
    count: Flags.integer({
      description: "how many instances to kill each round",
      default: 1,
      min: 1,
    }),
    signal: Flags.string({ description: "signal to send", default: "SIGKILL" }),
    every: Flags.string({
      description: "keep killing on this schedule, e.g. 3s",
      dependsOn: ["for"],
    }),
    for: Flags.string({ description: "how long to keep killing, e.g. 1m", dependsOn: ["every"] }),
    restart: Flags.boolean({ description: "start the killed instances again after each round" }),
  };

  async run() {
    const { args, flags } = await this.parse(Kill);
    const options = {
      count: flags.count,
      signal: normaliseSignal(flags.signal),
      restart: flags.restart,
      every: flags.every ? parseDuration(flags.every, "--every") : undefined,
      forMs: flags.for ? parseDuration(flags.for, "--for") : 0,
    };
    const runtime = new StackRuntime(this.stackConfig(flags));
    const endpoints = await runtime.endpoints();
    const rounds = await runKill(runtime, endpoints, args.target, options, (round) => {
      if (this.jsonEnabled()) return;
      const restarted = round.restarted.length ? " (restarted)" : "";
      this.log(mark.ok(`${options.signal} ${round.killed.join(", ")}${restarted}`));
    });
    return { stack: runtime.name, rounds };
  }
}
