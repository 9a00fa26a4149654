// A keep-alive HTTP/1.1 client as strict as wrk: it never retries, and a connection the server
// closes without having said "Connection: close" counts as a failure, also while the connection
// waits between requests (a client that sent at that moment would have lost its request). An
// announced close is fine: the client opens a new connection for its next request.
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface StrictKeepAliveResult {
  requests: number;
  /** Responses that carried "Connection: close" (the client reconnected after each). */
  announcedCloses: number;
  /** What went wrong, one line each: unannounced closes, errors, non-200 answers. */
  failures: string[];
}

interface Reply {
  status: number;
  close: boolean;
}

/** One connection's reader: parses Content-Length responses and notices when the server closes. */
class Connection {
  private buffer = Buffer.alloc(0);
  private waiting: ((reply: Reply | Error) => void) | undefined;
  closedBy: string | undefined;
  readonly socket: Socket;

  constructor(port: number) {
    this.socket = connect({ host: "127.0.0.1", port });
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.deliver();
    });
    const closed = (why: string) => {
      this.closedBy ??= why;
      this.waiting?.(new Error(why));
      this.waiting = undefined;
    };
    this.socket.on("error", (err) => closed(`error: ${err.message}`));
    this.socket.on("end", () => closed("the server closed the connection"));
    this.socket.on("close", () => closed("the connection closed"));
  }

  request(path: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      if (this.closedBy) return reject(new Error(this.closedBy));
      this.waiting = (reply) => (reply instanceof Error ? reject(reply) : resolve(reply));
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: drcon-e2e\r\n\r\n`);
    });
  }

  private deliver() {
    const end = this.buffer.indexOf("\r\n\r\n");
    if (end < 0 || !this.waiting) return;
    const head = this.buffer.subarray(0, end).toString("latin1").split("\r\n");
    const header = (name: string) =>
      head
        .find((line) => line.toLowerCase().startsWith(`${name}:`))
        ?.slice(name.length + 1)
        .trim()
        .toLowerCase();
    const length = Number(header("content-length"));
    if (!Number.isInteger(length)) {
      this.waiting(new Error(`a response without Content-Length: ${head[0]}`));
      this.waiting = undefined;
      return;
    }
    if (this.buffer.length < end + 4 + length) return;
    this.buffer = this.buffer.subarray(end + 4 + length);
    const done = this.waiting;
    this.waiting = undefined;
    done({ status: Number(head[0]?.split(" ")[1]), close: header("connection") === "close" });
  }
}

/**
 * `connections` clients, each sending GET `path` on its kept-alive connection and pausing
 * `pauseMs` after each response, until `stop` resolves (bounded by `maxMs` too).
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
    let conn = new Connection(options.port);
    while (running && Date.now() < deadline) {
      try {
        const reply = await conn.request(options.path ?? "/");
        result.requests++;
        if (reply.status !== 200) result.failures.push(`HTTP ${reply.status}`);
        if (reply.close) {
          result.announcedCloses++;
          conn.socket.end();
          conn = new Connection(options.port);
        }
      } catch (err) {
        result.failures.push(`request ${result.requests + 1}: ${(err as Error).message}`);
        conn.socket.destroy();
        conn = new Connection(options.port);
      }
      await sleep(options.pauseMs);
      // Closed while it waited, without having said so in its last response.
      if (conn.closedBy && running) {
        result.failures.push(`between requests: ${conn.closedBy}`);
        conn.socket.destroy();
        conn = new Connection(options.port);
      }
    }
    conn.socket.destroy();
  };
  await Promise.all(Array.from({ length: options.connections }, client));
  return result;
}
