// Parts that stop answering, produced for real on the engine: an image exposing several ports,
// an instance whose HTTP check never completes (102 Processing forever), a registrator killed
// with SIGKILL, instances restarted or exiting, and a frozen Consul (SIGSTOP). Issue 9, rows
// 6, 10 and 11, and the registrator rows that already held.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsulApi } from "../../src/consul/client.js";
import { SYNC_KEY } from "../../src/contract.js";
import { fetchRoutes } from "../../src/stack/lb-routes.js";
import { drcon, e2eEngine, e2eEnv, get, handRun as handRunOn, until } from "./harness.js";

const run = promisify(execFile);
const engine = await e2eEngine();
const STACK = "fpparts";
const LB = 19380;
const CONSUL = 19381;
const stack = ["--stack", STACK];
const lb = `http://127.0.0.1:${LB}`;
const consul = new ConsulApi("127.0.0.1", CONSUL);

const handRun = (name: string, args: string[]) => handRunOn(STACK, name, args);

async function routedTo(service: string): Promise<string[]> {
  return (await fetchRoutes(lb)).services[service] ?? [];
}

async function syncedAt(): Promise<number> {
  const raw = await consul.kvGet(SYNC_KEY);
  return raw ? Date.parse(JSON.parse(raw).at) : 0;
}

/** The one "Error: ..." line a failed command prints. */
function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("Error:"));
}

// Answers every request with `102 Processing`, again and again, and never with a final status.
const PROCESSING_FOREVER = `require("net").createServer((s) => {
  s.on("error", () => {});
  s.once("data", () => {
    const every = setInterval(() => s.write("HTTP/1.1 102 Processing\\r\\n\\r\\n"), 100);
    s.on("close", () => clearInterval(every));
  });
}).listen(8080)`;

describe.skipIf(!engine)("faults: parts that stop answering", () => {
  beforeAll(async () => {
    await drcon(["down", "--volumes", ...stack]);
    const up = await drcon(["up", ...stack, "--port", String(LB), "--consul-port", String(CONSUL)]);
    expect(up.code, up.stderr).toBe(0);
  });
  afterAll(async () => {
    // Never leave a frozen Consul behind, whatever failed.
    await run("docker", ["kill", "-s", "CONT", `${STACK}-consul`]).catch(() => {});
    await drcon(["down", "--volumes", ...stack]);
  });

  it("row 6: an image exposing several ports is registered as the service on the configured port only", async () => {
    const image = String(e2eEnv.DRCON_IMAGE_CONSUL);
    const started = Date.now();
    const res = await drcon(["scale", "c=1", "--image", image, "--port", "8500", ...stack]);
    console.log(
      `scale c=1 of ${image} (8300-8600 exposed): exit ${res.code} after ${Date.now() - started} ms`,
    );
    expect(res.code, res.stderr).toBe(0);
    const own = (await consul.agentServices()).filter((s) => s.ID.startsWith(`${STACK}-c-1:`));
    expect(own.map((s) => [s.Service, s.Port])).toEqual([["c", 8500]]);
    // Consul's own UI/API answers through the LB on its configured port.
    const answer = await get(lb, "c.localhost");
    expect(answer.upstream).toMatch(/:8500$/);
    expect(answer.status).toBeLessThan(500);
    const down = await drcon(["scale", "c=0", "--image", image, "--port", "8500", ...stack]);
    expect(down.code, down.stderr).toBe(0);
  }, 150_000);

  it("row 11: a check that never completes (102 forever) holds up neither the syncs nor other instances", async () => {
    const scale1 = await drcon(["scale", "simple=1", ...stack]);
    expect(scale1.code, scale1.stderr).toBe(0);
    // It is there when a registrator starts (its first sync must end, `up` waits for that), and
    // it stays while resyncs go on and other instances come.
    const stuck = `${STACK}-stuck`;
    await run("docker", ["stop", `${STACK}-registrator`]);
    await handRun(stuck, [
      "-e",
      "SERVICE_NAME=stuck",
      "-e",
      "SERVICE_CHECK_HTTP=/health",
      "--expose",
      "8080",
      String(e2eEnv.DRCON_IMAGE_NODE),
      "node",
      "-e",
      PROCESSING_FOREVER,
    ]);
    const placed = Date.now();
    const up = await drcon(["up", ...stack, "--port", String(LB), "--consul-port", String(CONSUL)]);
    expect(up.code, up.stderr).toBe(0);
    console.log(`up (a new registrator) with it present: ${Date.now() - placed} ms`);
    const upDone = Date.now();
    // Registered, for Consul's check to keep critical, after the registrator's probing time.
    const registered = await until(
      async () => (await consul.health("stuck")).length === 1,
      60_000,
      "stuck is registered",
    ).then(() => Date.now() - upDone);
    expect((await consul.health("stuck")).map((h) => h.status)).toEqual(["critical"]);
    expect((await get(lb, "stuck.localhost")).status).toBe(503);
    // The periodic resyncs go on (every 10 s): one newer than its registration.
    const since = Date.now();
    const synced = await until(async () => (await syncedAt()) > since, 60_000, "a newer sync");
    console.log(
      `102-forever instance: registered critical ${registered} ms after up; next resync ${synced} ms later`,
    );
    // Another instance still joins while it is there.
    const s2 = Date.now();
    const scale2 = await drcon(["scale", "simple=2", ...stack]);
    expect(scale2.code, scale2.stderr).toBe(0);
    console.log(`scale simple=2 beside it: ${Date.now() - s2} ms`);
    // A registrator restarted beside it (its registration now made) syncs and serves as well.
    await run("docker", ["restart", `${STACK}-registrator`]);
    const s3 = Date.now();
    const scale3 = await drcon(["scale", "simple=3", ...stack]);
    expect(scale3.code, scale3.stderr).toBe(0);
    console.log(`scale simple=3 after a registrator restart beside it: ${Date.now() - s3} ms`);
    expect(await routedTo("simple")).toHaveLength(3);
    expect(await routedTo("stuck")).toEqual([]);
    await run("docker", ["rm", "-f", stuck]);
    await until(async () => (await consul.health("stuck")).length === 0, 15_000, "stuck leaves");
  }, 240_000);

  it("already fine: bad SERVICE_* settings are refused and logged, the rest is routed", async () => {
    const bad = `${STACK}-badenv`;
    await handRun(bad, [
      "-e",
      "SERVICE_NAME=badenv",
      "-e",
      "SERVICE_CHECK_INTERVAL=soon",
      String(e2eEnv.DRCON_IMAGE_DEMO),
    ]);
    await until(
      async () => {
        const logs = await run("docker", ["logs", `${STACK}-registrator`]);
        return logs.stdout.includes('"refused"') && logs.stdout.includes("SERVICE_CHECK_INTERVAL");
      },
      15_000,
      "the registrator logs the refusal",
    );
    expect(await consul.health("badenv")).toEqual([]);
    expect(await routedTo("simple")).toHaveLength(3);
    await run("docker", ["rm", "-f", bad]);
  });

  it("already fine: a registrator killed with SIGKILL comes back and registers again", async () => {
    const { stdout } = await run("docker", [
      "inspect",
      "-f",
      "{{.State.Pid}}",
      `${STACK}-registrator`,
    ]);
    process.kill(Number(stdout.trim()), "SIGKILL");
    const killed = Date.now();
    // It is back when its own sync is newer than the kill; then a new instance joins.
    const back = await until(
      async () => (await syncedAt()) > killed,
      60_000,
      "a sync after the kill",
    );
    const s = Date.now();
    const scale = await drcon(["scale", "simple=4", ...stack]);
    expect(scale.code, scale.stderr).toBe(0);
    console.log(
      `registrator SIGKILL: synced again after ${back} ms; scale simple=4 then took ${Date.now() - s} ms`,
    );
    expect(await routedTo("simple")).toHaveLength(4);
  }, 120_000);

  it("already fine: docker restart of an instance is back in the LB; one exiting on its own leaves it", async () => {
    const name = `${STACK}-simple-1`;
    await run("docker", ["restart", "-t", "1", name]);
    const back = await until(
      async () => (await routedTo("simple")).length === 4,
      30_000,
      "4 routed",
    );
    console.log(`docker restart of ${name}: routed again ${back} ms after the restart returned`);

    const leaver = `${STACK}-leaver`;
    await handRun(leaver, [
      "-e",
      "SERVICE_NAME=leaver",
      "--expose",
      "8080",
      String(e2eEnv.DRCON_IMAGE_NODE),
      "node",
      "-e",
      "require('http').createServer((q, r) => r.end('x')).listen(8080); setTimeout(() => process.exit(0), 4000)",
    ]);
    await until(async () => (await routedTo("leaver")).length === 1, 30_000, "leaver routed");
    const { stdout } = await run("docker", ["wait", leaver]);
    const left = await until(
      async () => (await routedTo("leaver")).length === 0,
      15_000,
      "leaver leaves",
    );
    console.log(
      `instance exiting on its own (exit ${stdout.trim()}): left the LB ${left} ms after docker wait returned`,
    );
    await run("docker", ["rm", "-f", leaver]);
  }, 90_000);

  it("row 10: with Consul frozen (SIGSTOP), status, scale and up fail in one line naming Consul; the LB keeps serving", async () => {
    const before = await routedTo("simple");
    await run("docker", ["kill", "-s", "STOP", `${STACK}-consul`]);
    try {
      const naming = new RegExp(
        `^Error: Consul at http://127\\.0\\.0\\.1:${CONSUL} did not answer within 5 s`,
      );
      for (const args of [
        ["status"],
        ["scale", "simple=5"],
        ["up", "--port", String(LB), "--consul-port", String(CONSUL)],
      ]) {
        const started = Date.now();
        const res = await drcon([...args, ...stack], {}, 120_000);
        const took = Date.now() - started;
        console.log(
          `Consul frozen: drcon ${args[0]}: exit ${res.code} after ${took} ms: ${errorLines(res.stderr)[0]}`,
        );
        expect(res.code, args.join(" ")).toBe(1);
        expect(errorLines(res.stderr), args.join(" ")).toHaveLength(1);
        expect(errorLines(res.stderr)[0], args.join(" ")).toMatch(naming);
        // Meanwhile nginx keeps its last configuration.
        const served = await get(lb);
        expect(served.status).toBe(200);
      }
      // Nothing was made or removed: the same instances, the stack's containers all there.
      const instances = await run("docker", [
        "ps",
        "--filter",
        `label=io.drcon.stack=${STACK}`,
        "--format",
        "{{.Names}}",
      ]);
      const names = instances.stdout.trim().split("\n").sort();
      expect(names).toEqual(
        [
          `${STACK}-consul`,
          `${STACK}-lb`,
          `${STACK}-registrator`,
          ...[1, 2, 3, 4].map((n) => `${STACK}-simple-${n}`),
        ].sort(),
      );
      expect(before).toHaveLength(4);
    } finally {
      await run("docker", ["kill", "-s", "CONT", `${STACK}-consul`]);
    }
    // Once Consul answers again, so does drcon.
    await until(
      async () => (await drcon(["status", ...stack])).code === 0,
      30_000,
      "status answers again",
    );
  }, 240_000);
});
