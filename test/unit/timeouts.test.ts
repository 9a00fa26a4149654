// An engine or a Consul that takes the connection and never answers (frozen, as with SIGSTOP):
// every call ends by its deadline, with one line naming what did not answer.
import { mkdtempSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isKind } from "../../src/base/errors.js";
import { CONSUL_TIMEOUT_MS, ConsulApi } from "../../src/consul/client.js";
import { DockerEngine, ENGINE_TIMEOUT_MS } from "../../src/docker/engine.js";

const servers: Server[] = [];
const sockets: Socket[] = [];

/** A server that accepts connections and never writes a byte. */
async function silent(listen: (s: Server) => void): Promise<Server> {
  const server = createServer((socket) => {
    sockets.push(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => {
    server.once("listening", resolve);
    listen(server);
  });
  return server;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

describe("calls to parts that stop answering", () => {
  it("the engine client has a timeout for ordinary calls and only a first-answer one for streams", () => {
    const engine = new DockerEngine({
      url: "unix:///nonexistent.sock",
      source: "test",
      options: { socketPath: "/nonexistent.sock" },
    });
    expect(engine.timeoutMs).toBe(ENGINE_TIMEOUT_MS);
    type Modem = { timeout?: number; connectionTimeout?: number };
    const { api, streams } = engine as unknown as Record<"api" | "streams", { modem: Modem }>;
    expect(api.modem.timeout).toBe(ENGINE_TIMEOUT_MS);
    expect(streams.modem.timeout).toBeUndefined();
    expect(streams.modem.connectionTimeout).toBe(ENGINE_TIMEOUT_MS);
  });

  it("a silent engine fails the call in one line naming the engine", async () => {
    const socketPath = join(mkdtempSync(join(tmpdir(), "drcon-silent-")), "docker.sock");
    await silent((s) => s.listen(socketPath));
    const engine = new DockerEngine(
      { url: `unix://${socketPath}`, source: "test", options: { socketPath } },
      300,
    );
    const err = await engine.listContainers({ a: "b" }).catch((e: unknown) => e);
    expect((err as Error).message).toContain(
      `the Docker engine at unix://${socketPath} did not answer within 0.3 s`,
    );
    expect(isKind(err, "engine-unanswered")).toBe(true);
  });

  it("no engine at the socket is an error of kind engine-unreachable", async () => {
    const socketPath = join(mkdtempSync(join(tmpdir(), "drcon-none-")), "docker.sock");
    const engine = new DockerEngine({
      url: `unix://${socketPath}`,
      source: "test",
      options: { socketPath },
    });
    const err = await engine.listContainers({ a: "b" }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^Cannot reach the Docker engine at unix:\/\//);
    expect(isKind(err, "engine-unreachable")).toBe(true);
  });

  it("a silent Consul fails the call in one line naming Consul; waitForLeader gives up at once", async () => {
    const server = await silent((s) => s.listen(0, "127.0.0.1"));
    const port = (server.address() as { port: number }).port;
    expect(new ConsulApi("127.0.0.1", port).timeoutMs).toBe(CONSUL_TIMEOUT_MS);
    const consul = new ConsulApi("127.0.0.1", port, 300);
    const err = await consul.agentServices().catch((e: unknown) => e);
    expect(isKind(err, "consul-unanswered")).toBe(true);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^Consul at http://127\\.0\\.0\\.1:${port} did not answer within 0\\.3 s \\(agent/services\\)`,
      ),
    );
    const started = Date.now();
    const leaderErr = await consul.waitForLeader(60_000).catch((e: unknown) => e);
    expect(isKind(leaderErr, "consul-unanswered")).toBe(true);
    console.log(`waitForLeader on a silent Consul gave up after ${Date.now() - started} ms`);
  });
});
