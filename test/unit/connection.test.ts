import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { engineSocket, fromUrl, resolveEndpoint } from "../../src/docker/connection.js";

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

describe("engineSocket (what the registrator mounts)", () => {
  const home = "/home/ada";
  const socketOf = (url: string, os = "Ubuntu 24.04 LTS", env: NodeJS.ProcessEnv = {}) =>
    engineSocket(fromUrl(url, "DOCKER_HOST"), os, env, home);

  it("mounts the client's socket for a local engine", () => {
    expect(socketOf("unix:///var/run/docker.sock").path).toBe("/var/run/docker.sock");
  });

  it("mounts the rootless engine's socket at the same path (the engine shares the host's files)", () => {
    expect(socketOf("unix:///run/user/1000/docker.sock").path).toBe("/run/user/1000/docker.sock");
  });

  it("mounts the engine's own socket on Docker Desktop, by path or by `docker info`", () => {
    const byPath = socketOf(`unix://${home}/.docker/run/docker.sock`, "Ubuntu");
    expect(byPath).toEqual({
      path: "/var/run/docker.sock",
      why: "the engine's own socket inside Docker Desktop's VM",
    });
    expect(socketOf(`unix://${home}/.docker/desktop/docker.sock`).path).toBe(
      "/var/run/docker.sock",
    );
    expect(socketOf("unix:///var/run/docker.sock", "Docker Desktop").why).toMatch(/Docker Desktop/);
  });

  it("mounts the engine's own socket on colima, OrbStack and Lima", () => {
    for (const path of [
      ".colima/default/docker.sock",
      ".orbstack/run/docker.sock",
      ".lima/docker/sock/docker.sock",
    ]) {
      expect(socketOf(`unix://${home}/${path}`).path).toBe("/var/run/docker.sock");
    }
    expect(socketOf(`unix://${home}/.colima/default/docker.sock`).why).toMatch(/colima/);
  });

  it("mounts the engine's own socket when reached over tcp:// or ssh://", () => {
    expect(socketOf("tcp://10.0.0.5:2376")).toEqual({
      path: "/var/run/docker.sock",
      why: "the engine's own socket (reached over tcp)",
    });
    expect(socketOf("ssh://ada@build-host").why).toMatch(/ssh/);
  });

  it("takes DRCON_DOCKER_SOCKET over everything", () => {
    const env = { DRCON_DOCKER_SOCKET: "/run/docker-engine.sock" };
    expect(socketOf(`unix://${home}/.colima/default/docker.sock`, "", env)).toEqual({
      path: "/run/docker-engine.sock",
      why: "DRCON_DOCKER_SOCKET",
    });
  });
});
