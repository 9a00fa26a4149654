import { request } from "node:http";
import { connect } from "node:net";
import type { Registration } from "../consul/client.js";

/**
 * Runs the registration's own check once, from the registrator: when it passes, the instance is
 * registered as passing and routed at once instead of after Consul's first check interval.
 */
export function probe(check: Registration["check"], timeoutMs = 300): Promise<boolean> {
  if (check.http) return probeHttp(check.http, timeoutMs);
  if (check.tcp) return probeTcp(check.tcp, timeoutMs);
  return Promise.resolve(false);
}

function probeTcp(target: string, timeoutMs: number): Promise<boolean> {
  const colon = target.lastIndexOf(":");
  return new Promise((resolve) => {
    const socket = connect({
      host: target.slice(0, colon),
      port: Number(target.slice(colon + 1)),
      timeout: timeoutMs,
    });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

// Consul counts 2xx as passing (429 as warning); the probe is stricter, never looser.
function probeHttp(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(false));
    req.end();
  });
}
