// drcon up / status / down on a real engine with the stand-in images: Consul, our registrator and
// the nginx + consul-template LB, and containers that join the LB by declaring SERVICE_NAME.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsulApi } from "../../src/consul/client.js";
import { fetchRoutes } from "../../src/stack/lb-routes.js";
import { drcon, e2eEngine, e2eEnv, get, handRun, leftovers, until } from "./harness.js";

const run = promisify(execFile);
const engine = await e2eEngine();
const STACK = "e2estack";
const LB = 18080;
const CONSUL = 18501;
const flags = ["--stack", STACK, "--port", String(LB), "--consul-port", String(CONSUL)];
const lb = `http://127.0.0.1:${LB}`;

/** `docker run` by hand with SERVICE_NAME; `more` holds extra options, an image and its command. */
function dockerRun(name: string, serviceName: string, more: string[] = []): Promise<string> {
  const image = more.length > 0 ? more : [String(e2eEnv.DRCON_IMAGE_DEMO)];
  return handRun(STACK, name, ["-e", `SERVICE_NAME=${serviceName}`, ...image]);
}

describe.skipIf(!engine)("drcon up / status / down", () => {
  const docker = engine as NonNullable<typeof engine>;
  beforeAll(async () => {
    await drcon(["down", "--volumes", ...flags.slice(0, 2)]);
  });
  afterAll(async () => {
    await drcon(["down", "--volumes", "--stack", STACK]);
    await drcon(["down", "--volumes", "--stack", "e2eport"]);
  });

  it("brings the stack up on an empty engine; the LB answers 503 naming the default service", async () => {
    const up = await drcon(["up", ...flags]);
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`Stack ${STACK} is up`);
    expect(up.stdout).toContain(lb);
    expect(up.stdout).toContain(`http://127.0.0.1:${CONSUL}/ui/`);
    const res = await get(lb);
    expect(res.status).toBe(503);
    expect(res.body).toContain('no healthy instance of service "simple"');
    const names = (await docker.listContainers({ "io.drcon.stack": STACK }))
      .map((c) => c.Names[0])
      .sort();
    expect(names).toEqual([`/${STACK}-consul`, `/${STACK}-lb`, `/${STACK}-registrator`]);
  });

  it("a second up changes nothing", async () => {
    const before = (await docker.listContainers({ "io.drcon.stack": STACK }))
      .map((c) => c.Id)
      .sort();
    const again = await drcon(["up", ...flags]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already up; nothing changed");
    const after = (await docker.listContainers({ "io.drcon.stack": STACK }))
      .map((c) => c.Id)
      .sort();
    expect(after).toEqual(before);
  });

  it("routes to a container started by hand with SERVICE_NAME, and drops it when it is killed", async () => {
    await dockerRun(`${STACK}-byhand`, "simple");
    const joined = await until(
      async () => (await get(lb)).status === 200,
      10_000,
      "the hand-run container serves",
    );
    const res = await get(lb);
    expect(res.upstream).toMatch(/^\d+\.\d+\.\d+\.\d+:80$/);
    expect(res.body).toContain("Hostname:");
    const byHost = await get(lb, "simple.localhost");
    expect(byHost.status).toBe(200);

    const status = JSON.parse((await drcon(["status", "--json", "--stack", STACK])).stdout);
    expect(status.up).toBe(true);
    const simple = status.services.find((s: { name: string }) => s.name === "simple");
    expect(simple.instances).toMatchObject([
      { address: res.upstream, health: "passing", routed: true, managed: false },
    ]);

    await run("docker", ["kill", `${STACK}-byhand`]);
    const left = await until(
      async () => (await get(lb)).status === 503,
      5_000,
      "the LB answers 503 again",
    );
    console.log(
      `hand-run instance: joined the LB in ${joined} ms; left it ${left} ms after docker kill`,
    );
    await run("docker", ["rm", "-f", `${STACK}-byhand`]);
  });

  it("refuses a SERVICE_NAME that could inject nginx config, and the LB stays valid", async () => {
    await dockerRun(`${STACK}-evil`, "x;}");
    await dockerRun(`${STACK}-good`, "simple");
    await until(async () => (await get(lb)).status === 200, 10_000, "the good container serves");
    const consul = new ConsulApi("127.0.0.1", CONSUL);
    const names = (await consul.agentServices()).map((s) => s.Service);
    expect(names).toContain("simple");
    expect(names).not.toContain("x;}");
    const logs = await run("docker", ["logs", `${STACK}-registrator`]);
    expect(logs.stdout + logs.stderr).toMatch(/refused/);
    await run("docker", ["rm", "-f", `${STACK}-evil`]);
  });

  it("routes a container with a Docker HEALTHCHECK only while Docker reports it healthy", async () => {
    const name = `${STACK}-hc`;
    // A Node HTTP server that answers at once; its HEALTHCHECK passes only while /tmp/ok exists.
    await dockerRun(name, "hc", [
      "--expose",
      "8080",
      "--health-cmd",
      "test -f /tmp/ok",
      "--health-interval",
      "1s",
      "--health-retries",
      "1",
      String(e2eEnv.DRCON_IMAGE_NODE),
      "node",
      "-e",
      "require('http').createServer((q, r) => r.end('hc')).listen(8080)",
    ]);
    const hc = async () => (await get(lb, "hc.localhost")).status;
    const consul = new ConsulApi("127.0.0.1", CONSUL);
    await until(async () => (await consul.health("hc")).length === 1, 10_000, "hc registers");
    // Serving, but Docker has not called it healthy: not routed.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await hc()).toBe(503);
    await run("docker", ["exec", name, "touch", "/tmp/ok"]);
    await until(async () => (await hc()) === 200, 10_000, "hc is routed once healthy");
    await run("docker", ["exec", name, "rm", "/tmp/ok"]);
    await until(async () => (await hc()) === 503, 10_000, "hc leaves once unhealthy");
    await run("docker", ["rm", "-f", name]);
  });

  it("routes a slow starter only once it accepts connections", async () => {
    const name = `${STACK}-slow`;
    await dockerRun(name, "slow", [
      "--expose",
      "8080",
      String(e2eEnv.DRCON_IMAGE_NODE),
      "node",
      "-e",
      "setTimeout(() => require('http').createServer((q, r) => r.end('slow')).listen(8080), 2000)",
    ]);
    // Not listening yet: not registered, not routed.
    await new Promise((r) => setTimeout(r, 1000));
    const consul = new ConsulApi("127.0.0.1", CONSUL);
    expect(await consul.health("slow")).toEqual([]);
    expect((await get(lb, "slow.localhost")).status).toBe(503);
    await until(
      async () => (await get(lb, "slow.localhost")).status === 200,
      10_000,
      "slow serves",
    );
    expect((await consul.health("slow")).map((h) => h.status)).toEqual(["passing"]);
    const logs = await run("docker", ["logs", `${STACK}-registrator`]);
    const statuses = logs.stdout
      .split("\n")
      .filter((l) => l.includes(`"id":"${name}:8080"`) && l.includes('"registered"'))
      .map((l) => JSON.parse(l).status);
    // Registered once, as passing, when its port answered.
    expect(statuses).toEqual(["passing"]);
    await run("docker", ["rm", "-f", name]);
  });

  it("registers a container that never answers as critical, for Consul's check, and never routes it", async () => {
    const name = `${STACK}-mute`;
    await dockerRun(name, "mute", [
      "--expose",
      "8080",
      String(e2eEnv.DRCON_IMAGE_NODE),
      "node",
      "-e",
      "setInterval(() => {}, 1000)",
    ]);
    const consul = new ConsulApi("127.0.0.1", CONSUL);
    // The registrator probes for 5 s before it hands the instance to Consul's own check.
    await until(async () => (await consul.health("mute")).length === 1, 15_000, "mute registers");
    expect((await consul.health("mute")).map((h) => h.status)).toEqual(["critical"]);
    expect((await get(lb, "mute.localhost")).status).toBe(503);
    await run("docker", ["rm", "-f", name]);
    await until(async () => (await consul.health("mute")).length === 0, 5_000, "mute leaves");
  });

  it("after docker restart of Consul, registrations come back and the LB routes again", async () => {
    const consul = new ConsulApi("127.0.0.1", CONSUL);
    const [before] = await consul.health("simple");
    await run("docker", ["restart", `${STACK}-consul`]);
    // nginx keeps its last config while Consul is away; what must come back is Consul's view,
    // and the LB must then follow Consul again: a new instance joins, the old one still serves.
    const back = await until(
      async () => (await consul.health("simple")).some((h) => h.status === "passing"),
      30_000,
      "the registration is back and passing",
    );
    console.log(`registration passing again ${back} ms after docker restart returned`);
    expect((await consul.health("simple")).map((h) => [h.id, h.status])).toEqual([
      [before?.id, "passing"],
    ]);
    await dockerRun(`${STACK}-after`, "simple");
    await until(
      async () => (await fetchRoutes(lb)).services.simple?.length === 2,
      10_000,
      "the LB routes to both instances",
    );
    // Both serve. Not within a fixed number of requests: on a loaded machine a first connect to
    // the new instance can miss nginx's 200 ms connect timeout, and nginx then passes it over
    // for fail_timeout (10 s) while the other one answers.
    const served = new Set<string | undefined>();
    await until(
      async () => {
        served.add((await get(lb)).upstream);
        return served.size === 2;
      },
      15_000,
      "both instances serve a request",
    );
    await run("docker", ["rm", "-f", `${STACK}-good`, `${STACK}-after`]);
  });

  it("repairs a stack whose LB was removed", async () => {
    await run("docker", ["rm", "-f", `${STACK}-lb`]);
    const repair = await drcon(["up", ...flags]);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain(`container ${STACK}-lb`);
    expect((await get(lb)).status).toBe(503);
  });

  it("fails with one line when the LB port is taken, and leaves no container of that stack", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(18090, "127.0.0.1", () => r()));
    try {
      const res = await drcon([
        "up",
        "--stack",
        "e2eport",
        "--port",
        "18090",
        "--consul-port",
        "18502",
      ]);
      expect(res.code).not.toBe(0);
      const lines = res.stderr.trim().split("\n");
      expect(lines.at(-1)).toMatch(
        /^Error: 127\.0\.0\.1:18090 \(load balancer\) is already in use: free it, or choose another port with --port$/,
      );
      expect(res.stderr).not.toMatch(/\n\s+at /);
      expect(await leftovers(docker, "e2eport")).toEqual({
        containers: [],
        networks: [],
        volumes: [],
      });
    } finally {
      blocker.close();
    }
  });

  it("fails clearly and makes nothing with --pull never and a missing image", async () => {
    const res = await drcon(
      ["up", "--stack", "e2eport", "--port", "18091", "--consul-port", "18503", "--pull", "never"],
      {
        DRCON_IMAGE_CONSUL: "drcon-ci/not-there:1",
      },
    );
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(
      'image drcon-ci/not-there:1 is not present locally and the pull policy is "never"',
    );
    expect(await leftovers(docker, "e2eport")).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  });

  it("down removes every labelled container and the network; --volumes the volume too; then it is a no-op", async () => {
    const down = await drcon(["down", "--stack", STACK]);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain(`removed container ${STACK}-consul`);
    let left = await leftovers(docker, STACK);
    expect(left.containers).toEqual([]);
    expect(left.networks).toEqual([]);
    expect(left.volumes).toEqual([`${STACK}-consul-data`]);
    const withVolumes = await drcon(["down", "--volumes", "--stack", STACK]);
    expect(withVolumes.stdout).toContain(`removed volume ${STACK}-consul-data`);
    left = await leftovers(docker, STACK);
    expect(left).toEqual({ containers: [], networks: [], volumes: [] });
    const again = await drcon(["down", "--stack", STACK]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Nothing to remove");
  });
});
