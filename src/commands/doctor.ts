import { runDoctor } from "../services/doctor.js";
import { DrconCommand } from "../ui/base-command.js";
import { mark } from "../ui/marks.js";

export default class Doctor extends DrconCommand {
  static override description =
    "Check that drcon can work here: the Docker engine (and the socket the registrator will mount), the images it needs, and free ports.";

  static override examples = [
    "<%= config.bin %> doctor",
    "DOCKER_HOST=unix:///run/user/1000/docker.sock <%= config.bin %> doctor",
    "DRCON_DOCKER_SOCKET=/var/run/docker.sock <%= config.bin %> doctor",
    "<%= config.bin %> doctor --json",
  ];

  static override enableJsonFlag = true;

  async run() {
    const { flags } = await this.parse(Doctor);
    const report = await runDoctor(this.stackConfig(flags));
    if (this.jsonEnabled()) return report;
    const { engine } = report;
    this.log(mark.ok(`Docker engine ${engine.version} (API ${engine.apiVersion}, ${engine.os})`));
    this.log(`  at ${engine.url} (${engine.source})`);
    const socket = report.registratorSocket;
    const hint = socket.why === "DRCON_DOCKER_SOCKET" ? "" : "; DRCON_DOCKER_SOCKET overrides";
    this.log(`  the registrator gets ${socket.path} (${socket.why}${hint})`);
    this.log(`Images (pull policy: ${report.pull}):`);
    for (const i of report.images) {
      const line = `${i.role}: ${i.image}`;
      this.log(`  ${i.present ? mark.ok(line) : mark.warn(`${line} (not present locally)`)}`);
    }
    this.log("Ports:");
    for (const p of report.ports) {
      const line = `${p.name} ${p.address}`;
      this.log(`  ${p.free ? mark.ok(`${line} free`) : mark.warn(`${line} in use`)}`);
    }
    return report;
  }
}
