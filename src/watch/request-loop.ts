// The request loop of `drcon watch`: GET requests at a fixed rate, each recorded.
//
// Open-loop scheduling: request i is due at start + i / rate, computed from the start time, so
// that timer jitter and slow answers do not make the rate drift (a sleep after each request
// would). Requests share keep-alive connections and at most `concurrency` are in flight; when
// that many are waiting, the due ones are sent as answers come back and the achieved rate shows
// the shortfall.
import { type ClientRequest, Agent as HttpAgent, type IncomingMessage, request } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { UPSTREAM_HEADER } from "../contract.js";
import { classifyError, classifyResponse, type RequestRecord, servedBy } from "./stats.js";

// Node gives response header names in lower case; worked out once, not per response.
const UPSTREAM_KEY = UPSTREAM_HEADER.toLowerCase();

export interface LoopOptions {
  url: string;
  /** Host header, e.g. simple.localhost to reach one service through the LB. */
  host?: string;
  /** Requests per second. */
  rate: number;
  /** At most this many requests in flight. */
  concurrency: number;
  /** A request with no activity for this long fails as a timeout. */
  timeoutMs: number;
  /** Stop after this many requests. */
  maxRequests?: number;
  /** Stop sending once this much time has passed. */
  durationMs?: number;
  /** Aborting stops sending; requests in flight get `drainMs` to finish, then are cut. */
  signal?: AbortSignal;
  drainMs?: number;
  /** Told each request's number as it goes out. */
  onSent?: (seq: number) => void;
  /**
   * For the benchmarks' client kinds: "fresh" gives each request a connection of its own (no
   * keep-alive); `retryReset: false` counts a reset reused connection as failed instead of
   * re-sending the request; `onRetry` is told each request re-sent; `query` names each request in
   * its query string (so that the LB's logs tell them apart).
   */
  connections?: "keep-alive" | "fresh";
  retryReset?: boolean;
  onRetry?: (seq: number) => void;
  query?: (seq: number) => string;
}

export interface LoopResult {
  sent: number;
  completed: number;
  /** Cut after Ctrl-C before an answer came: not counted as failures. */
  cancelled: number;
}

/** Bodies are read only for 5xx answers (to tell "no instance" apart), and only this much. */
const BODY_LIMIT = 4096;

class Cancelled extends Error {}

export function runRequestLoop(
  options: LoopOptions,
  onResult: (record: RequestRecord) => void,
): Promise<LoopResult> {
  const url = new URL(options.url);
  const https = url.protocol === "https:";
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.concurrency,
    maxFreeSockets: options.concurrency,
  };
  const agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const send = https ? httpsRequest : request;
  const fresh = options.connections === "fresh";
  const headers: Record<string, string> = { "User-Agent": "drcon-watch" };
  if (options.host) headers.Host = options.host;

  const interval = 1000 / options.rate;
  const limit = Math.min(
    options.maxRequests ?? Number.POSITIVE_INFINITY,
    options.durationMs === undefined
      ? Number.POSITIVE_INFINITY
      : Math.max(1, Math.ceil(options.durationMs / interval)),
  );
  const inFlight = new Set<ClientRequest>();
  const start = performance.now();
  let sent = 0;
  let completed = 0;
  let cancelled = 0;
  let sending = true;
  let cutting = false;
  let timer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;

  return new Promise<LoopResult>((resolve) => {
    const finishIfDone = () => {
      if (sending || inFlight.size > 0) return;
      if (timer) clearTimeout(timer);
      if (drainTimer) clearTimeout(drainTimer);
      options.signal?.removeEventListener("abort", onAbort);
      agent.destroy();
      resolve({ sent, completed, cancelled });
    };

    const stopSending = () => {
      sending = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      finishIfDone();
    };

    const onAbort = () => {
      stopSending();
      if (inFlight.size === 0) return;
      drainTimer = setTimeout(() => {
        cutting = true;
        for (const req of inFlight) req.destroy(new Cancelled("cancelled"));
      }, options.drainMs ?? 1000);
    };

    const pump = () => {
      if (!sending) return;
      const elapsed = performance.now() - start;
      const due = Math.min(limit, Math.floor(elapsed / interval) + 1);
      while (sent < due && inFlight.size < options.concurrency) fire(++sent);
      // Past the duration, what the concurrency limit held back is not sent any more.
      if (sent >= limit) return stopSending();
      if (options.durationMs !== undefined && elapsed >= options.durationMs) return stopSending();
      if (timer) clearTimeout(timer);
      // Behind and at the concurrency limit: the next answer calls pump again.
      if (sent < due) return;
      timer = setTimeout(pump, Math.max(0, start + sent * interval - performance.now()));
    };

    const fire = (seq: number) => {
      options.onSent?.(seq);
      const t = Date.now();
      const t0 = performance.now();
      let done = false;
      const finish = (result: Omit<RequestRecord, "seq" | "t" | "latencyMs">) => {
        if (done) return;
        done = true;
        completed++;
        onResult({ seq, t, latencyMs: performance.now() - t0, ...result });
      };
      const failed = (req: ClientRequest, err: Error & { code?: string }, retried: boolean) => {
        inFlight.delete(req);
        if (done) return;
        if (err instanceof Cancelled || cutting) {
          done = true;
          cancelled++;
        } else if (
          !retried &&
          options.retryReset !== false &&
          req.reusedSocket &&
          err.code === "ECONNRESET"
        ) {
          // The server closed an idle keep-alive connection as this request went out on it (at
          // its idle timeout; before keepalive_min_timeout drcon's LB also did at reloads): the
          // request never reached it, so it is sent once more on a fresh connection, as Node's
          // documentation advises, rather than counted as failed.
          options.onRetry?.(seq);
          attempt(true);
          return;
        } else {
          finish({ failure: classifyError(err), error: err.code ?? err.message });
        }
        pump();
        finishIfDone();
      };
      const target = options.query ? new URL(`?${options.query(seq)}`, url) : url;
      const attempt = (retried: boolean) => {
        const req = send(
          target,
          // The retry takes a connection of its own: from the pool it could get another one
          // that the server is closing at the same moment.
          {
            method: "GET",
            agent: retried || fresh ? false : agent,
            headers,
            timeout: options.timeoutMs,
          },
          (res: IncomingMessage) => {
            const status = res.statusCode ?? 0;
            const upstream = servedBy(res.headers[UPSTREAM_KEY]);
            let body = "";
            if (status >= 500) {
              res.setEncoding("utf8");
              res.on("data", (chunk: string) => {
                if (body.length < BODY_LIMIT) body += chunk;
              });
            } else {
              res.resume();
            }
            // A connection cut mid-answer: the answer is lost, whatever its status said.
            res.on("error", (err) => failed(req, err, true));
            res.on("end", () => {
              inFlight.delete(req);
              const failure = classifyResponse(status, body);
              finish({
                status,
                ...(upstream ? { upstream } : {}),
                ...(failure ? { failure, error: `HTTP ${status}` } : {}),
              });
              pump();
              finishIfDone();
            });
          },
        );
        inFlight.add(req);
        req.on("timeout", () => {
          const err = new Error(`no answer within ${options.timeoutMs} ms`) as Error & {
            code: string;
          };
          err.code = "ETIMEDOUT";
          req.destroy(err);
        });
        req.on("error", (err: Error & { code?: string }) => failed(req, err, retried));
        req.end();
      };
      attempt(false);
    };

    if (options.signal?.aborted) {
      sending = false;
      finishIfDone();
      return;
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
    pump();
  });
}
