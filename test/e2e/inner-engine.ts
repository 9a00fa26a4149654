// An engine of the tests' own, to restart and crash with a stack on it: Debian's dockerd in a
// container (drcon-ci/dind:20.10, built by `test/images/build.sh dind`; test/images/dind.md),
// started from the host's engine, which the tests never restart.
//
// The container has its own network namespace: the stack publishes on its 127.0.0.1, and the
// CLI and the probes run in that namespace (nsenter --net) with the host's files, so drcon sees
// the inner engine as a local one. Its API is a unix socket in a host folder bind-mounted into
// the container; inside, the engine's own socket is /var/run/docker.sock.
import { execFile } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fromUrl } from "../../src/docker/connection.js";
import { DockerEngine } from "../../src/docker/engine.js";

const run = promisify(execFile);

export const DIND_IMAGE = "drcon-ci/dind:20.10";
/** Where a container of the inner engine finds the engine's socket. */
export const INNER_SOCKET = "/var/run/docker.sock";

export class InnerEngine {
  readonly apiDir: string;
  readonly engine: DockerEngine;

  constructor(readonly name: string) {
    this.apiDir = join(tmpdir(), `${name}-api`);
    this.engine = new DockerEngine(fromUrl(this.dockerHost, "the tests' inner engine"));
  }

  get dockerHost(): string {
    return `unix://${join(this.apiDir, "docker.sock")}`;
  }

  /** Starts the container (a fresh one, with a fresh data root) and waits for its engine. */
  async start(): Promise<void> {
    await this.remove();
    mkdirSync(this.apiDir, { recursive: true });
    // Not --privileged: Docker's privileged mode asks for every capability, and the host engine
    // here lacks CAP_SYS_RESOURCE in its bounding set, so runc refuses it. All others, no
    // seccomp/AppArmor filter, /proc and /sys unmasked, its own cgroup namespace (dind-init makes
    // the cgroups writable); the data root is an anonymous volume (overlayfs on a real file
    // system), removed with the container.
    await run("docker", [
      "run",
      "-d",
      "--name",
      this.name,
      "--cap-add",
      "ALL",
      "--cap-drop",
      "SYS_RESOURCE",
      "--security-opt",
      "seccomp=unconfined",
      "--security-opt",
      "apparmor=unconfined",
      "--security-opt",
      "systempaths=unconfined",
      "--cgroupns",
      "private",
      "--network",
      "none",
      // Docker turns IPv6 off in a container's namespace; the stack may publish on ::1.
      "--sysctl",
      "net.ipv6.conf.all.disable_ipv6=0",
      "-v",
      `${this.apiDir}:/run/drcon-api`,
      DIND_IMAGE,
    ]);
    await this.waitForEngine(60_000);
  }

  /** Copies images from the host's engine into the inner one (nothing can be pulled). */
  async load(images: string[]): Promise<void> {
    const quoted = images.map((i) => `'${i}'`).join(" ");
    await run("sh", ["-c", `docker save ${quoted} | docker -H '${this.dockerHost}' load -q`], {
      maxBuffer: 1024 * 1024,
    });
  }

  /** The network namespace of the container, for nsenter --net. */
  async netns(): Promise<string> {
    const { stdout } = await run("docker", ["inspect", "-f", "{{.State.Pid}}", this.name]);
    return `/proc/${stdout.trim()}/ns/net`;
  }

  /** A normal stop of the inner dockerd (SIGTERM), returning once it has exited. */
  async stopDaemon(): Promise<void> {
    await this.signalDaemon("TERM");
  }

  /** A crash of the inner dockerd (SIGKILL), returning once it has exited. */
  async crashDaemon(): Promise<void> {
    await this.signalDaemon("KILL");
  }

  /** Starts the inner dockerd again (`flags`: extra dockerd flags) and waits until it answers. */
  async startDaemon(flags = ""): Promise<void> {
    await run("docker", ["exec", "-e", `DRCON_DIND_FLAGS=${flags}`, this.name, "start-dockerd"]);
    await this.waitForEngine(60_000);
  }

  async remove(): Promise<void> {
    await run("docker", ["rm", "-f", "-v", this.name]).catch(() => undefined);
    rmSync(this.apiDir, { recursive: true, force: true });
  }

  /** The end of the inner dockerd's log, for a failing test's message. */
  async log(lines = 30): Promise<string> {
    const { stdout } = await run("docker", [
      "exec",
      this.name,
      "tail",
      "-n",
      String(lines),
      "/var/log/dockerd.log",
    ]).catch(() => ({ stdout: "" }));
    return stdout;
  }

  private async signalDaemon(signal: "TERM" | "KILL"): Promise<void> {
    // dockerd's pid file; the loop waits (at most 60 s: a stop waits for containers to stop).
    const script = `pid=$(cat /var/run/docker.pid) && kill -${signal} "$pid" && i=0 && while kill -0 "$pid" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; ! kill -0 "$pid" 2>/dev/null`;
    await run("docker", ["exec", this.name, "sh", "-c", script]);
  }

  private async waitForEngine(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.engine.version();
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          throw new Error(
            `inner engine not answering: ${(err as Error).message}\n${await this.log()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}
