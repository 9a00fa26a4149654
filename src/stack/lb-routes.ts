import { request } from "node:http";
import { type LbRoutes, ROUTES_HOST, ROUTES_PATH } from "../contract.js";

/** Reads the routes the LB has loaded (what its loaded nginx configuration routes to). */
export function fetchRoutes(lbUrl: string, timeoutMs = 2000): Promise<LbRoutes> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${lbUrl}${ROUTES_PATH}`,
      // A fresh connection each time: a kept-alive one may be served by an old nginx worker
      // that still holds the configuration from before the last reload.
      { headers: { Host: ROUTES_HOST }, timeout: timeoutMs, agent: false },
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
