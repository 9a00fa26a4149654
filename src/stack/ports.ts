import { createServer, isIPv6 } from "node:net";

/** free; in use by something; or not an address of this machine (EADDRNOTAVAIL, e.g. no IPv6). */
export type PortState = "free" | "in-use" | "not-local";

/** Whether host:port can be published, found by binding it ourselves for an instant. */
export function portState(host: string, port: number): Promise<PortState> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) =>
      resolve(err.code === "EADDRNOTAVAIL" ? "not-local" : "in-use"),
    );
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve("free")));
  });
}

/** True when nothing listens on host:port. */
export async function isPortFree(host: string, port: number): Promise<boolean> {
  return (await portState(host, port)) === "free";
}

/** The address the host uses to reach a port published on `hostIp`. */
export function reachableHost(hostIp: string): string {
  if (hostIp === "0.0.0.0") return "127.0.0.1";
  if (hostIp === "::") return "::1";
  return hostIp;
}

/** An IP address as the host part of a URL: IPv6 in brackets. */
function bracketed(ip: string): string {
  return isIPv6(ip) ? `[${ip}]` : ip;
}

/** The host part of a URL that reaches a port published on `hostIp`. */
export function urlHost(hostIp: string): string {
  return bracketed(reachableHost(hostIp));
}

/** `ip:port` as people and URLs write it: `127.0.0.1:8080`, `[::1]:8080`. */
export function hostPort(ip: string, port: number): string {
  return `${bracketed(ip)}:${port}`;
}

/** The URL of a port published on `hostIp`, e.g. http://[::1]:8080. */
export function httpUrl(hostIp: string, port: number): string {
  return `http://${urlHost(hostIp)}:${port}`;
}
