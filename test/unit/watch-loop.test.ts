// The request loop against small HTTP servers on 127.0.0.1: bounded, each well under a second.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runRequestLoop } from "../../src/watch/request-loop.js";
import type { RequestRecord } from "../../src/watch/stats.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function loop(url: string, options: Partial<Parameters<typeof runRequestLoop>[0]> = {}) {
  const records: RequestRecord[] = [];
  const result = await runRequestLoop(
    { url, rate: 100, concurrency: 10, timeoutMs: 2000, maxRequests: 5, ...options },
    (r) => records.push(r),
  );
  return { result, records: records.sort((a, b) => a.seq - b.seq) };
}

describe("runRequestLoop", () => {
  it("holds the rate against the start time, on few keep-alive connections", async () => {
    const sockets = new Set<unknown>();
    let host = "";
    const url = await serve((req, res) => {
      sockets.add(req.socket);
      host = req.headers.host ?? "";
      res.setHeader("X-Drcon-Upstream", "10.0.0.1:80, 10.0.0.2:80");
      res.end("ok");
    });
    const { result, records } = await loop(url, {
      rate: 500,
      maxRequests: 250,
      host: "web.localhost",
    });
    expect(result).toEqual({ sent: 250, completed: 250, cancelled: 0 });
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    // 250 requests at 500/s: 249 intervals of 2 ms.
    const span = (records[249]?.t ?? 0) - (records[0]?.t ?? 0);
    expect(span).toBeGreaterThanOrEqual(490);
    expect(span).toBeLessThan(560);
    expect(
      records.every((r) => r.status === 200 && !r.failure && r.upstream === "10.0.0.2:80"),
    ).toBe(true);
    expect(host).toBe("web.localhost");
    expect(sockets.size).toBeLessThanOrEqual(10);
  });

  it("stops by itself after a duration", async () => {
    const url = await serve((_req, res) => res.end("ok"));
    const { result } = await loop(url, { rate: 100, maxRequests: undefined, durationMs: 300 });
    expect(result.sent).toBe(30);
    expect(result.completed).toBe(30);
  });

  it("never has more than `concurrency` requests in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const url = await serve((_req, res) => {
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        res.end("ok");
      }, 60);
    });
    const { result } = await loop(url, { rate: 200, concurrency: 2, maxRequests: 8 });
    expect(result.completed).toBe(8);
    expect(most).toBe(2);
  });

  it("classifies failures: 503 no instance, other 5xx, reset, timeout", async () => {
    let n = 0;
    const url = await serve((req, res) => {
      n++;
      // A fresh connection each time: a reset on a reused one is retried (next test).
      res.shouldKeepAlive = false;
      if (n === 1) {
        res.statusCode = 503;
        res.end('no healthy instance of service "simple"\n');
      } else if (n === 2) {
        res.statusCode = 502;
        res.setHeader("X-Drcon-Upstream", "10.0.0.3:80");
        res.end("bad gateway");
      } else if (n === 3) {
        req.socket.destroy();
      } else if (n === 4) {
        // No answer at all.
      } else {
        res.end("ok");
      }
    });
    const { records } = await loop(url, {
      rate: 50,
      concurrency: 1,
      maxRequests: 5,
      timeoutMs: 150,
    });
    expect(records.map((r) => [r.status ?? null, r.failure ?? null])).toEqual([
      [503, "no-instance"],
      [502, "5xx"],
      [null, "reset"],
      [null, "timeout"],
      [200, null],
    ]);
    expect(records[1]?.upstream).toBe("10.0.0.3:80");
    expect(records[3]?.error).toBe("ETIMEDOUT");
  });

  /** Two requests on one keep-alive connection; the server resets it at the second request. */
  async function resetAtSecond(options: Partial<Parameters<typeof runRequestLoop>[0]>) {
    let n = 0;
    const connection: Array<string | undefined> = [];
    const url = await serve((req, res) => {
      connection.push(req.headers.connection);
      if (++n === 2) req.socket.destroy();
      else res.end("ok");
    });
    const retried: number[] = [];
    const { records } = await loop(url, {
      rate: 50,
      concurrency: 1,
      maxRequests: 2,
      onRetry: (seq) => retried.push(seq),
      ...options,
    });
    return { outcomes: records.map((r) => [r.status, r.failure]), connection, retried };
  }

  it("sends once more a request whose reused keep-alive connection was reset, and says so", async () => {
    const { outcomes, connection, retried } = await resetAtSecond({});
    expect(outcomes).toEqual([
      [200, undefined],
      [200, undefined],
    ]);
    expect(retried).toEqual([2]);
    // The retry does not go back to the pool, whose other connections may be closing too.
    expect(connection).toEqual(["keep-alive", "keep-alive", "close"]);
  });

  it("without retryReset counts a reset reused connection as failed", async () => {
    const { outcomes, connection, retried } = await resetAtSecond({ retryReset: false });
    expect(outcomes).toEqual([
      [200, undefined],
      [undefined, "reset"],
    ]);
    expect(retried).toEqual([]);
    expect(connection).toEqual(["keep-alive", "keep-alive"]);
  });

  it("with fresh connections opens one per request, and names each in its query", async () => {
    const sockets = new Set<unknown>();
    const seen: Array<[string | undefined, string | undefined]> = [];
    const url = await serve((req, res) => {
      sockets.add(req.socket);
      seen.push([req.url, req.headers.connection]);
      res.end("ok");
    });
    const { records } = await loop(url, {
      rate: 50,
      concurrency: 1,
      maxRequests: 3,
      connections: "fresh",
      query: (seq) => `b=t1-${seq}`,
    });
    expect(records.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(seen).toEqual([
      ["/?b=t1-1", "close"],
      ["/?b=t1-2", "close"],
      ["/?b=t1-3", "close"],
    ]);
    expect(sockets.size).toBe(3);
  });

  it("reports connection refused", async () => {
    const url = await serve(() => {});
    const closed = servers.pop() as Server;
    await new Promise((r) => closed.close(r));
    const { records } = await loop(url, { maxRequests: 2 });
    expect(records.map((r) => [r.failure, r.error])).toEqual([
      ["refused", "ECONNREFUSED"],
      ["refused", "ECONNREFUSED"],
    ]);
  });

  it("on abort stops sending, and cuts what is still in flight after the grace period", async () => {
    const url = await serve(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 120);
    const started = Date.now();
    const { result, records } = await loop(url, {
      rate: 50,
      maxRequests: undefined,
      signal: controller.signal,
      drainMs: 50,
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(records).toEqual([]);
    expect(result.sent).toBeGreaterThanOrEqual(6);
    expect(result.cancelled).toBe(result.sent);
  });
});
