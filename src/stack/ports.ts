import { createServer } from "node:net";

/** True when nothing listens on host:port (we can bind it ourselves for an instant). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The address the host uses to reach a port published on `hostIp`. */
export function reachableHost(hostIp: string): string {
  if (hostIp === "0.0.0.0") return "127.0.0.1";
  if (hostIp === "::") return "::1";
  return hostIp;
}
