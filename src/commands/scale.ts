import { DrconCommand } from "../ui/base-command.js";
import { DrconError } from "../ui/errors.js";

export default class Scale extends DrconCommand {
  static override description = "Not built yet: coming in a later release.";

  async run() {
    await this.parse(Scale);
    throw new DrconError("drcon scale is not built yet");
  }
}
