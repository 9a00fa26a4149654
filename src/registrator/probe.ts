import { request } from "node:http";
import { connect } from "node:net";
import type { Registration } from "../consul/client.js";

/**
 * Runs the registration's own check once, from the registrator: when it passes, the instance is
 * registered as passing and routed at once instead of after Consul's first check interval.
 * `timeoutMs` bounds the whole probe, not only silences: a server that keeps a connection busy
 * without ever answering (say, `102 Processing` forever) fails it all the same.
 */
export function probe(check: Registration["check"], timeoutMs = 1000): Promise<boolean> {
  if (check.http) return probeHttp(check.http, timeoutMs);
  if (check.tcp) return probeTcp(check.tcp, timeoutMs);
  return Promise.resolve(false);
}

function probeTcp(target: string, timeoutMs: number): Promise<boolean> {
  const colon = target.lastIndexOf(":");
  return new Promise((resolve) => {
    const socket = connect({ host: target.slice(0, colon), port: Number(target.slice(colon + 1)) });
    const deadline = setTimeout(() => done(false), timeoutMs);
    const done = (ok: boolean) => {
      clearTimeout(deadline);
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.on("error", () => done(false));
  });
}

// Consul counts 2xx as passing (429 as warning); the probe is stricter, never looser.
function probeHttp(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      // The status is the answer; the body may never end.
      res.destroy();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
    });
    // `on`, not `once`: an abort after the answer may raise a second error.
    req.on("error", () => resolve(false));
    req.end();
  });
}
