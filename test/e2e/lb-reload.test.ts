// How the LB applies Consul's changes (issue 13), on a live stack: a render that routes the same
// does not reload nginx, a join's reload ends the old workers at once without nginx starting
// them again, and a burst never costs more reloads than instances (registrations that come
// within 200 ms of a reload fold into the next one).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsulApi } from "../../src/consul/client.js";
import { fetchRoutes } from "../../src/stack/lb-routes.js";
import { strictKeepAlive } from "../support/strict-keepalive.js";
import { docker, drcon, e2eEngine, until } from "./harness.js";

/** until, with the 30 s deadline every wait in this file has (generous: never a test). */
const waitUntil = (check: () => Promise<boolean>, what: string) => until(check, 30_000, what);
const engine = await e2eEngine();
const STACK = "fjreload";
const LB_PORT = 19710;
const CONSUL_PORT = 19711;
const flags = ["--stack", STACK];
const lb = `http://127.0.0.1:${LB_PORT}`;
const lbContainer = `${STACK}-lb`;

async function routed(): Promise<string[]> {
  return (await fetchRoutes(lb)).services.simple ?? [];
}

async function scale(replicas: number) {
  const res = await drcon(["scale", `simple=${replicas}`, ...flags]);
  expect(res.code, res.stderr).toBe(0);
}

/** nginx's worker processes in the LB (host pids, from `docker top`). */
async function workers(): Promise<string[]> {
  const out = await docker("top", lbContainer, "-o", "pid,args");
  return out
    .split("\n")
    .filter((l) => l.includes("nginx: worker process"))
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .sort();
}

/** The `rendered` time of consul-template's latest render (the staged file, before apply-render.sh). */
async function lastRender(): Promise<string> {
  const staged = await docker("exec", lbContainer, "cat", "/etc/drcon/rendered/nginx.conf");
  return /"rendered":"([^"]*)"/.exec(staged)?.[1] ?? "";
}

describe.skipIf(!engine)("LB reloads (issue 13)", { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await drcon(["down", "--volumes", ...flags]);
    const up = await drcon([
      "up",
      ...flags,
      "--port",
      String(LB_PORT),
      "--consul-port",
      String(CONSUL_PORT),
    ]);
    expect(up.code, up.stderr).toBe(0);
    await scale(2);
    await waitUntil(async () => (await routed()).length === 2, "2 instances routed");
  });
  afterAll(async () => {
    await drcon(["down", "--volumes", ...flags]);
  });

  it("a render that routes the same (a registration the LB does not route) leaves nginx's workers alone", async () => {
    const before = await workers();
    const rendered = await lastRender();
    const consul = new ConsulApi("127.0.0.1", CONSUL_PORT);
    // Not signed by the registrator: consul-template renders again, and the render routes the same.
    await consul.register({
      id: "fj-unsigned",
      name: "simple",
      address: "127.0.0.1",
      port: 8080,
      tags: ["drcon"],
      meta: { drcon_stack: STACK },
      check: { ttl: "60s", interval: "10s", timeout: "5s", status: "passing" },
    });
    try {
      await waitUntil(
        async () => (await lastRender()) !== rendered,
        "consul-template to render again",
      );
      // apply-render.sh runs right after the render; give it ample time to (wrongly) reload.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await workers()).toEqual(before);
      expect((await routed()).sort()).toHaveLength(2);
    } finally {
      await consul.deregister("fj-unsigned");
    }
  });

  it("a join reloads nginx, and the old workers end without nginx starting them again", async () => {
    const before = await workers();
    expect(before.length).toBeGreaterThan(0);
    await scale(3);
    await waitUntil(async () => (await routed()).length === 3, "3 instances routed");
    // The old workers stop as soon as the new ones exist; the master must not restart them.
    await waitUntil(async () => {
      const now = await workers();
      return now.every((pid) => !before.includes(pid));
    }, "the old workers to end");
    await new Promise((r) => setTimeout(r, 1000));
    const after = await workers();
    console.log(`workers before the join: ${before.join(" ")}; after: ${after.join(" ")}`);
    expect(after).toHaveLength(before.length);
    expect(after.some((pid) => before.includes(pid))).toBe(false);
  });

  it("clients that keep connections alive and never retry lose nothing to reloads", async () => {
    // wrk's way: 4 connections, 40 ms between a response and the next request, no retry, and a
    // connection closed without "Connection: close" counts as a failure even while it waits.
    // Before keepalive_min_timeout every reload closed all four between two requests.
    let finish = () => {};
    const stop = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const clients = strictKeepAlive({
      port: LB_PORT,
      connections: 4,
      pauseMs: 40,
      maxMs: 90_000,
      stop,
    });
    // And two that sit idle for 1 s between requests (under the LB's 1.5 s idle time), so a
    // reload mostly finds them idle.
    const idlers = strictKeepAlive({
      port: LB_PORT,
      connections: 2,
      pauseMs: 1000,
      maxMs: 90_000,
      stop,
    });
    const changes = [4, 3, 4, 3];
    try {
      for (const replicas of changes) {
        await scale(replicas);
        await waitUntil(
          async () => (await routed()).length === replicas,
          `${replicas} instances routed`,
        );
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      finish();
    }
    const result = await clients;
    const idle = await idlers;
    console.log(
      `strict keep-alive clients over ${changes.length} reloads: ${result.requests} requests, ${result.announcedCloses} announced closes, failures: ${result.failures.join("; ") || "none"}; idle 1 s between requests: ${idle.requests} requests, ${idle.announcedCloses} announced closes, failures: ${idle.failures.join("; ") || "none"}`,
    );
    expect(result.failures).toEqual([]);
    expect(idle.failures).toEqual([]);
    // Every reload retired the connections the clients held (else this test proved nothing).
    expect(result.announcedCloses).toBeGreaterThanOrEqual(changes.length);
  });

  it("a burst (scale 3 -> 8) routes every instance with at most one reload per new instance", async () => {
    const seen = new Set<string>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const r = await fetchRoutes(lb).catch(() => undefined);
        if (r) seen.add(r.rendered);
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    const first = (await fetchRoutes(lb)).rendered;
    await scale(8);
    await waitUntil(async () => (await routed()).length === 8, "8 instances routed");
    polling = false;
    await poller;
    seen.delete(first);
    console.log(`scale 3 -> 8: ${seen.size} configurations loaded for 5 new instances`);
    expect(seen.size).toBeGreaterThan(0);
    expect(seen.size).toBeLessThanOrEqual(5);
  });
});
