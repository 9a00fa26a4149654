import { StackRuntime } from "../stack/runtime.js";
import { runStatus } from "../stack/status.js";
import { DrconCommand } from "../ui/base-command.js";
import { renderStatus } from "../ui/status-view.js";

export default class Status extends DrconCommand {
  static override description =
    "Show what runs: each component's state, health and uptime, the URLs, and per service its instances, their health and whether the LB routes to them.";

  static override examples = ["<%= config.bin %> status", "<%= config.bin %> status --json"];

  static override enableJsonFlag = true;

  async run() {
    const { flags } = await this.parse(Status);
    const report = await runStatus(new StackRuntime(this.stackConfig(flags)));
    if (!this.jsonEnabled()) this.log(renderStatus(report));
    return report;
  }
}
