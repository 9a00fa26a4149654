// The registrator's probe against real local servers: whatever a server does, it ends by its
// deadline with a verdict.
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { probeDelayMs } from "../../src/registrator/agent.js";
import { probe } from "../../src/registrator/probe.js";

const servers: Server[] = [];
const sockets: Socket[] = [];

async function listening(server: Server): Promise<string> {
  servers.push(server);
  server.on("connection", (s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

const check = (http: string) => ({
  http: `http://${http}/health`,
  interval: "1s",
  timeout: "1s",
  status: "critical" as const,
});

describe("probe", () => {
  it("fails a server that sends 102 Processing forever, by its deadline", async () => {
    const target = await listening(
      createServer((s) => {
        s.on("error", () => {});
        const every = setInterval(() => s.write("HTTP/1.1 102 Processing\r\n\r\n"), 20);
        s.on("close", () => clearInterval(every));
      }),
    );
    const started = Date.now();
    expect(await probe(check(target), 300)).toBe(false);
    console.log(`probe of a 102-forever server ended after ${Date.now() - started} ms`);
  });

  it("passes a 200 whose body never ends, and fails a 500", async () => {
    const target = await listening(
      createHttpServer((req, res) => {
        res.writeHead(req.url === "/health" ? 200 : 500);
        res.write("more to come");
      }),
    );
    expect(await probe(check(target), 300)).toBe(true);
    expect(await probe({ ...check(target), http: `http://${target}/other` }, 300)).toBe(false);
  });

  it("TCP: passes a port that accepts, fails one that refuses", async () => {
    const target = await listening(createServer(() => {}));
    const tcp = { tcp: target, interval: "1s", timeout: "1s", status: "critical" as const };
    expect(await probe(tcp, 300)).toBe(true);
    const port = Number(target.split(":")[1]);
    await new Promise((r) => servers.pop()?.close(r));
    expect(await probe({ ...tcp, tcp: `127.0.0.1:${port}` }, 300)).toBe(false);
  });
});

describe("probeDelayMs (the cadence at which a starter is probed again)", () => {
  it("probes every 2 ms right after the start, then backs off to a tenth of the time waited, at most 25 ms", () => {
    expect(probeDelayMs(0)).toBe(2);
    expect(probeDelayMs(20)).toBe(2);
    expect(probeDelayMs(100)).toBe(10);
    expect(probeDelayMs(250)).toBe(25);
    expect(probeDelayMs(4000)).toBe(25);
  });
});
