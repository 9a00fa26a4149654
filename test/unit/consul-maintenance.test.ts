// Maintenance mode on a registration that left Consul meanwhile (an instance killed while a scale
// drains it): the drain goes on instead of failing, but a refusal for a registered one still fails.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConsulApi } from "../../src/consul/client.js";

let server: Server | undefined;

afterEach(async () => {
  await new Promise((r) => server?.close(r));
  server = undefined;
});

/** A Consul agent that refuses every maintenance call as 1.8 does and lists `registered`. */
async function agent(registered: string[]): Promise<ConsulApi> {
  server = createServer((req, res) => {
    if (req.url?.startsWith("/v1/agent/service/maintenance/")) {
      const id = decodeURIComponent(req.url.split("/")[5]?.split("?")[0] ?? "");
      res
        .writeHead(500, { "content-type": "text/plain; charset=utf-8" })
        .end(`No service registered with ID "${id}"`);
    } else if (req.url?.startsWith("/v1/agent/services")) {
      const services = Object.fromEntries(registered.map((id) => [id, { ID: id, Service: "s" }]));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(services));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
  return new ConsulApi("127.0.0.1", (server.address() as AddressInfo).port, 2000);
}

describe("ConsulApi.maintenance", () => {
  it("answers false for a registration that is gone", async () => {
    const consul = await agent([]);
    await expect(consul.maintenance("drcon-simple-9:80", true, "drain")).resolves.toBe(false);
  });

  it("still fails when the registration is there and Consul refuses", async () => {
    const consul = await agent(["drcon-simple-9:80"]);
    await expect(consul.maintenance("drcon-simple-9:80", true, "drain")).rejects.toThrow(
      /No service registered/,
    );
  });
});
