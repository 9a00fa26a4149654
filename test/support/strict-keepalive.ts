// A keep-alive HTTP/1.1 client as strict as wrk: it never retries, and a connection the server
// closes without having said "Connection: close" counts as a failure, also while the connection
// waits between requests (a client that sent at that moment would have lost its request). An
// announced close is fine: the client opens a new connection for its next request.
import { Agent, request } from "node:http";
import type { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface StrictKeepAliveResult {
  requests: number;
  /** Responses that carried "Connection: close" (the client reconnected after each). */
  announcedCloses: number;
  /** What went wrong, one line each: unannounced closes, errors, non-200 answers. */
  failures: string[];
}

/**
 * `connections` clients, each sending GET `path` on its kept-alive connection (an agent of its
 * own with one socket) and pausing `pauseMs` after each response, until `stop` resolves (bounded
 * by `maxMs` too).
 */
export async function strictKeepAlive(options: {
  port: number;
  path?: string;
  connections: number;
  pauseMs: number;
  maxMs: number;
  stop: Promise<unknown>;
}): Promise<StrictKeepAliveResult> {
  const result: StrictKeepAliveResult = { requests: 0, announcedCloses: 0, failures: [] };
  let running = true;
  const deadline = Date.now() + options.maxMs;
  void options.stop.then(() => {
    running = false;
  });
  const client = async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // Sockets whose last response said "Connection: close": their close is expected.
    const announced = new WeakSet<Socket>();
    const watched = new WeakSet<Socket>();
    const send = () =>
      new Promise<void>((resolve) => {
        const req = request(
          { host: "127.0.0.1", port: options.port, path: options.path ?? "/", agent },
          (res) => {
            result.requests++;
            if (res.statusCode !== 200) result.failures.push(`HTTP ${res.statusCode}`);
            if (res.headers.connection === "close") {
              result.announcedCloses++;
              announced.add(res.socket);
            }
            res.resume();
            res.on("end", resolve);
          },
        );
        req.on("socket", (socket) => {
          if (watched.has(socket)) return;
          watched.add(socket);
          // The agent drops a pooled socket the server closed; this says whether it was told.
          // ("close", not "end": Node's HTTP parser reads the socket itself.)
          socket.on("close", () => {
            if (running && !announced.has(socket)) {
              result.failures.push("the server closed a kept-alive connection unannounced");
            }
          });
        });
        req.on("error", (err) => {
          result.failures.push(`request ${result.requests + 1}: ${err.message}`);
          resolve();
        });
        req.end();
      });
    while (running && Date.now() < deadline) {
      await send();
      await sleep(options.pauseMs);
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: options.connections }, client));
  return result;
}
