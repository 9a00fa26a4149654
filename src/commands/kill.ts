import { DrconCommand } from "../ui/base-command.js";
import { DrconError } from "../ui/errors.js";

export default class Kill extends DrconCommand {
  static override description = "Not built yet: coming in a later release.";

  async run() {
    await this.parse(Kill);
    throw new DrconError("drcon kill is not built yet");
  }
}
