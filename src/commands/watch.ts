import { DrconCommand } from "../ui/base-command.js";
import { DrconError } from "../ui/errors.js";

export default class Watch extends DrconCommand {
  static override description = "Not built yet: coming in a later release.";

  async run() {
    await this.parse(Watch);
    throw new DrconError("drcon watch is not built yet");
  }
}
