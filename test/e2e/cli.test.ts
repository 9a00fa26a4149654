// The CLI as a user meets it first: help, doctor with and without an engine, and bad input.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { drcon, e2eEngine, e2eEnv } from "./harness.js";

const engine = await e2eEngine();

describe("drcon without an engine", () => {
  it("lists every command in --help", async () => {
    const res = await drcon(["--help"]);
    expect(res.code).toBe(0);
    for (const command of ["up", "down", "status", "scale", "kill", "watch", "doctor"]) {
      expect(res.stdout).toMatch(new RegExp(`^\\s+${command}\\s`, "m"));
    }
  });

  it("doctor names Docker, where it looked and the fix, in one line, exit 1", async () => {
    const res = await drcon(["doctor"], { DOCKER_HOST: "unix:///nonexistent.sock" });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe("");
    expect(res.stderr.trim()).toBe(
      "Error: Cannot reach the Docker engine at unix:///nonexistent.sock (DOCKER_HOST: ENOENT): start Docker, or set DOCKER_HOST to your engine's socket",
    );
  });

  it("refuses a drcon.yml with a bad key, naming it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drcon-cli-"));
    const file = join(dir, "drcon.yml");
    await writeFile(file, "services:\n  web:\n    port: 99999\n");
    const res = await drcon(["status", "--config", file]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(
      `Error: ${file}: services.web.port: Too big: expected number to be <=65535`,
    );
  });
});

describe.skipIf(!engine)("drcon doctor and status on a real engine", () => {
  it("doctor reports the engine, the configured images present, and the ports", async () => {
    const res = await drcon(["doctor", "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report.engine.apiVersion).toMatch(/^1\.\d+$/);
    expect(report.pull).toBe(e2eEnv.DRCON_PULL);
    expect(
      report.images.map((i: { image: string; present: boolean }) => [i.image, i.present]),
    ).toEqual([
      [e2eEnv.DRCON_IMAGE_CONSUL, true],
      [e2eEnv.DRCON_IMAGE_CONSUL_TEMPLATE, true],
      [e2eEnv.DRCON_IMAGE_NGINX, true],
      [e2eEnv.DRCON_IMAGE_NODE, true],
      [e2eEnv.DRCON_IMAGE_DEMO, true],
    ]);
    expect(report.ports.map((p: { address: string }) => p.address)).toEqual([
      "127.0.0.1:8080",
      "127.0.0.1:8500",
    ]);
  });

  it("status of a stack that is not there says how to start it, exit 1", async () => {
    const res = await drcon(["status", "--stack", "e2enothing"]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(
      "Error: stack e2enothing is not up (consul missing, registrator missing, lb missing): run `drcon up --stack e2enothing`",
    );
    expect(res.stdout).toContain("Stack e2enothing: not up");
    expect(res.stdout).toContain("start it with `drcon up`");
  });
});
