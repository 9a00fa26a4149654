import { request } from "node:http";

/** What the loaded nginx configuration routes to, as the LB's `_drcon` server reports it. */
export interface LbRoutes {
  rendered: string;
  default: string;
  services: Record<string, string[]>;
}

/**
 * Reads the routes the LB has loaded. `Host: _drcon` cannot collide with a service: service names
 * are DNS labels, which have no underscore.
 */
export function fetchRoutes(lbUrl: string, timeoutMs = 2000): Promise<LbRoutes> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${lbUrl}/routes`,
      // A fresh connection each time: a kept-alive one may be served by an old nginx worker
      // that still holds the configuration from before the last reload.
      { headers: { Host: "_drcon" }, timeout: timeoutMs, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => {
          if (res.statusCode !== 200) {
            reject(new Error(`LB answered ${res.statusCode} for its routes`));
            return;
          }
          try {
            resolve(JSON.parse(body) as LbRoutes);
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("LB did not answer in time")));
    req.on("error", reject);
    req.end();
  });
}

/** Whether the LB's loaded configuration routes `service` to `address` (ip:port). */
export async function routesTo(lbUrl: string, service: string, address: string): Promise<boolean> {
  const routes = await fetchRoutes(lbUrl);
  return (routes.services[service] ?? []).includes(address);
}
