import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveEndpoint } from "../../src/docker/connection.js";

const noHome = mkdtempSync(join(tmpdir(), "drcon-home-"));

function homeWithContext(name: string, host: string): string {
  const home = mkdtempSync(join(tmpdir(), "drcon-home-"));
  const docker = join(home, ".docker");
  const meta = join(docker, "contexts", "meta", createHash("sha256").update(name).digest("hex"));
  mkdirSync(meta, { recursive: true });
  writeFileSync(join(docker, "config.json"), JSON.stringify({ currentContext: name }));
  writeFileSync(
    join(meta, "meta.json"),
    JSON.stringify({ Name: name, Endpoints: { docker: { Host: host } } }),
  );
  return home;
}

describe("resolveEndpoint", () => {
  it("uses the default socket when nothing is set", () => {
    const e = resolveEndpoint({}, noHome);
    expect(e).toMatchObject({ url: "unix:///var/run/docker.sock", source: "default socket" });
    expect(e.options).toEqual({ socketPath: "/var/run/docker.sock" });
  });

  it("prefers DOCKER_HOST, unix or tcp", () => {
    expect(resolveEndpoint({ DOCKER_HOST: "unix:///x.sock" }, noHome).options).toEqual({
      socketPath: "/x.sock",
    });
    expect(resolveEndpoint({ DOCKER_HOST: "tcp://10.0.0.1:2375" }, noHome).options).toEqual({
      host: "10.0.0.1",
      port: 2375,
      protocol: "http",
    });
  });

  it("follows the current docker context, and DOCKER_CONTEXT over config.json", () => {
    const home = homeWithContext("colima", "unix:///home/u/.colima/docker.sock");
    const e = resolveEndpoint({}, home);
    expect(e.source).toBe('docker context "colima"');
    expect(e.options).toEqual({ socketPath: "/home/u/.colima/docker.sock" });
    expect(resolveEndpoint({ DOCKER_CONTEXT: "default" }, home).source).toBe("default socket");
    expect(resolveEndpoint({ DOCKER_HOST: "unix:///y.sock" }, home).source).toBe("DOCKER_HOST");
  });
});
