import { DrconError } from "../base/errors.js";
import { notUpMessage, runStatus } from "../services/status.js";
import { StackRuntime } from "../stack/runtime.js";
import { DrconCommand } from "../ui/base-command.js";
import { renderStatus } from "../ui/status-view.js";

export default class Status extends DrconCommand {
  static override description =
    "Show what runs: each component's state, health and uptime, the URLs, and per service its instances, their health and whether the LB routes to them.\n\nWhat needs attention (stopped containers, a registrator whose sync is stale) is listed with the command that repairs it. Exits 1 when the stack is not up.";

  static override examples = ["<%= config.bin %> status", "<%= config.bin %> status --json"];

  static override enableJsonFlag = true;

  async run() {
    const { flags } = await this.parse(Status);
    const report = await runStatus(new StackRuntime(this.stackConfig(flags)));
    if (!this.jsonEnabled()) this.log(renderStatus(report));
    // Scripts can test `drcon status`: a stack that is not up is a failure, with the report.
    if (!report.up) throw new DrconError(notUpMessage(report), { result: report });
    return report;
  }
}
