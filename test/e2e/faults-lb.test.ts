// Faults of the load balancer, produced for real on a live stack (issue 9, rows 12, 13, 14, 15's
// default server, 16 and 19): a hung instance, Consul losing its data, consul-template killed,
// registrations written straight into Consul, a render nginx refuses, `docker stop` of the LB.
import { execFile } from "node:child_process";
import { request } from "node:http";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsulApi, type Registration } from "../../src/consul/client.js";
import { fetchRoutes } from "../../src/stack/lb-routes.js";
import { docker, drcon, e2eEngine, e2eEnv, until } from "./harness.js";

const run = promisify(execFile);
/** until, with the 30 s deadline every wait in this file has (generous: never a test). */
const waitUntil = (check: () => Promise<boolean>, what: string) => until(check, 30_000, what);
const engine = await e2eEngine();
const STACK = "flfaults";
const LB_PORT = 19410;
const CONSUL_PORT = 19411;
const upFlags = ["--stack", STACK, "--port", String(LB_PORT), "--consul-port", String(CONSUL_PORT)];
const lb = `http://127.0.0.1:${LB_PORT}`;
const lbContainer = `${STACK}-lb`;

interface Answer {
  status: number;
  upstream?: string;
  ms: number;
}

/** One GET through the LB on a fresh connection; status 0 when it got no answer in time. */
function send(path = "/", host?: string, timeoutMs = 20_000): Promise<Answer> {
  const start = Date.now();
  return new Promise((resolve) => {
    const req = request(
      `${lb}${path}`,
      { headers: host ? { Host: host } : {}, timeout: timeoutMs, agent: false },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            upstream: res.headers["x-drcon-upstream"] as string | undefined,
            ms: Date.now() - start,
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ status: 0, ms: Date.now() - start }));
    req.end();
  });
}

/** `count` GETs started `gapMs` apart, all awaited. */
async function burst(count: number, gapMs: number, path = "/"): Promise<Answer[]> {
  const answers: Promise<Answer>[] = [];
  for (let i = 0; i < count; i++) {
    answers.push(send(path));
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return Promise.all(answers);
}

function statuses(answers: Answer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}

async function routed(): Promise<string[]> {
  return (await fetchRoutes(lb)).services.simple ?? [];
}

async function scale(replicas: number) {
  const res = await drcon(["scale", `simple=${replicas}`, "--stack", STACK]);
  expect(res.code, res.stderr).toBe(0);
}

/** A container's address on the stack network. */
function addressOf(container: string): Promise<string> {
  return docker(
    "inspect",
    container,
    "-f",
    `{{(index .NetworkSettings.Networks "${STACK}").IPAddress}}`,
  );
}

/** docker kill of an instance; returns how long, from the kill, the LB took to stop routing it. */
async function killAndWaitUnrouted(instance: string): Promise<number> {
  const address = `${await addressOf(instance)}:80`;
  const start = Date.now();
  await docker("kill", instance);
  await waitUntil(async () => !(await routed()).includes(address), `the LB drops ${instance}`);
  return Date.now() - start;
}

/** The `rendered` time of consul-template's latest render (staged, before apply-render.sh). */
async function lastRender(): Promise<string> {
  const staged = await docker("exec", lbContainer, "cat", "/etc/drcon/rendered/nginx.conf");
  return /"rendered":"([^"]*)"/.exec(staged)?.[1] ?? "";
}

/** What nginx runs now, read inside the LB. */
function liveConfig(): Promise<string> {
  return docker("exec", lbContainer, "cat", "/etc/nginx/nginx.conf");
}

describe.skipIf(!engine)("LB faults (issue 9)", { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await drcon(["down", "--volumes", "--stack", STACK]);
    const up = await drcon(["up", ...upFlags]);
    expect(up.code, up.stderr).toBe(0);
    await scale(3);
    await waitUntil(async () => (await routed()).length === 3, "3 instances routed");
  });
  afterAll(async () => {
    await docker("kill", "-s", "CONT", `${STACK}-simple-2`).catch(() => undefined);
    await drcon(["down", "--volumes", "--stack", STACK]);
  });

  it("row 12: a hung instance (SIGSTOP) costs a request a few seconds at most, never an error", async () => {
    const hung = `${STACK}-simple-2`;
    await docker("kill", "-s", "STOP", hung);
    try {
      // The instance still accepts connections (the kernel does) but never answers.
      const first = await burst(12, 100);
      const next = await burst(12, 20);
      // A slow answer is not a hung instance: 3 s is within the LB's 5 s read timeout.
      const slow = await send("/?wait=3s");
      const slowest = (a: Answer[]) => Math.max(...a.map((x) => x.ms));
      console.log(
        `row 12: hung instance: first 12 requests ${JSON.stringify(statuses(first))}, slowest ${slowest(first)} ms, ` +
          `${first.filter((a) => a.ms > 1000).length} over 1 s; next 12 ${JSON.stringify(statuses(next))}, ` +
          `slowest ${slowest(next)} ms; ?wait=3s answered ${slow.status} in ${slow.ms} ms`,
      );
      expect(statuses(first)).toEqual({ 200: 12 });
      expect(statuses(next)).toEqual({ 200: 12 });
      expect(slow.status).toBe(200);
    } finally {
      await docker("kill", "-s", "CONT", hung);
    }
  });

  it("row 12: a hung instance with an HTTP check (SERVICE_CHECK_HTTP) is taken out by its check", async () => {
    // Started by hand, as a user would; labelled only so that `down` removes it.
    const name = `${STACK}-hc-1`;
    await docker(
      "run",
      "-d",
      "--name",
      name,
      "--network",
      STACK,
      "--label",
      `io.drcon.stack=${STACK}`,
      "-e",
      "SERVICE_NAME=hc",
      "-e",
      "SERVICE_CHECK_HTTP=/health",
      String(e2eEnv.DRCON_IMAGE_DEMO),
    );
    const hcRoutes = async () => (await fetchRoutes(lb)).services.hc ?? [];
    await waitUntil(async () => (await hcRoutes()).length === 1, "hc routed");
    const start = Date.now();
    await docker("kill", "-s", "STOP", name);
    try {
      await waitUntil(async () => (await hcRoutes()).length === 0, "the hung hc leaves the LB");
      console.log(
        `row 12: a hung instance with an HTTP check left the LB ${Date.now() - start} ms after SIGSTOP`,
      );
      expect((await send("/", "hc.localhost")).status).toBe(503);
    } finally {
      await docker("rm", "-f", name);
    }
  });

  it("row 14: consul-template killed (kill -9) inside the LB: no request unanswered, and it comes back", async () => {
    const traffic = burst(80, 25);
    await new Promise((r) => setTimeout(r, 500));
    await docker("exec", lbContainer, "sh", "-c", "kill -9 $(pidof consul-template)");
    const answers = await traffic;
    console.log(`row 14: consul-template killed: 80 requests ${JSON.stringify(statuses(answers))}`);
    expect(statuses(answers)).toEqual({ 200: 80 });
    // consul-template is restarted and the LB follows Consul again: a killed instance leaves it.
    const left = await killAndWaitUnrouted(`${STACK}-simple-3`);
    console.log(`row 14: after the restart, a killed instance left the LB ${left} ms later`);
    const logs = await run("docker", ["logs", lbContainer]);
    expect(logs.stderr).toContain("consul-template exited; restarting it");
    await scale(3);
    await waitUntil(async () => (await routed()).length === 3, "3 instances routed again");
  });

  it("row 19: docker stop of the LB lets a request in flight finish (graceful stop)", async () => {
    const inFlight = send("/?wait=2s");
    await new Promise((r) => setTimeout(r, 300));
    await docker("stop", "-t", "10", lbContainer);
    const answer = await inFlight;
    console.log(
      `row 19: ?wait=2s in flight during docker stop: ${answer.status} in ${answer.ms} ms`,
    );
    expect(answer.status).toBe(200);
    const up = await drcon(["up", ...upFlags]);
    expect(up.code, up.stderr).toBe(0);
    await waitUntil(async () => (await send()).status === 200, "the LB serves again");
  });

  it("row 16: registrations written straight into Consul are never routed, even after an LB restart", async () => {
    const subnet = await docker(
      "network",
      "inspect",
      STACK,
      "-f",
      "{{(index .IPAM.Config 0).Subnet}}",
    );
    const lbAddress = await addressOf(lbContainer);
    const gateway = await docker(
      "network",
      "inspect",
      STACK,
      "-f",
      "{{(index .IPAM.Config 0).Gateway}}",
    );
    const unused = unusedAddress(subnet);
    const mine = { drcon_stack: STACK };
    // A real instance's meta, signature included, copied onto an address it was not signed for.
    const consul = new ConsulApi("127.0.0.1", CONSUL_PORT);
    const copied = (await consul.agentServices()).find((s) => s.Meta?.drcon_stack === STACK)?.Meta;
    expect(copied?.drcon_sig).toMatch(/^[0-9a-f]{64}$/);
    const forged: Array<Pick<Registration, "id" | "name" | "address" | "port" | "meta">> = [
      // An unused address on the stack network, without the registrator's meta.
      { id: "fl-foreign", name: "simple", address: unused, port: 80, meta: {} },
      { id: "fl-loopback", name: "simple", address: "127.0.0.1", port: 80, meta: mine },
      { id: "fl-self", name: "simple", address: lbAddress, port: 80, meta: mine },
      { id: "fl-gateway", name: "simple", address: gateway, port: 80, meta: mine },
      { id: "fl-port0", name: "simple", address: unused, port: 0, meta: mine },
      { id: "fl-other", name: "other", address: unused, port: 80, meta: {} },
      { id: "fl-copied", name: "simple", address: unused, port: 80, meta: { ...copied } },
    ];
    const real = (await routed()).sort();
    const renderedBefore = await lastRender();
    try {
      for (const f of forged) {
        await consul.register({
          ...f,
          tags: ["drcon"],
          check: { ttl: "1h", interval: "1s", timeout: "1s", status: "passing" },
        });
      }
      // The registrations changed Consul's catalog: wait for the render that saw them. It routes
      // the same, so apply-render.sh does not reload nginx for it (issue 13): give it time to.
      await waitUntil(
        async () => (await lastRender()) !== renderedBefore,
        "a render after the registrations",
      );
      await new Promise((r) => setTimeout(r, 1000));
      expect((await routed()).sort()).toEqual(real);
      expect(Object.keys((await fetchRoutes(lb)).services)).toEqual(["simple"]);
      const answers = await burst(24, 20);
      console.log(
        `row 16: 7 forged registrations (foreign, 127.0.0.1, the LB, the gateway, port 0, another name, a copied signature): ` +
          `24 requests ${JSON.stringify(statuses(answers))}`,
      );
      expect(statuses(answers)).toEqual({ 200: 24 });
      expect(answers.every((a) => a.upstream !== undefined && real.includes(a.upstream))).toBe(
        true,
      );
      expect((await send("/", "other.localhost")).status).toBe(503);

      // Restarted with them in Consul, the LB comes back and routes only the real instances.
      await docker("restart", "-t", "10", lbContainer);
      const back = await waitUntil(
        async () => (await send()).status === 200,
        "the LB serves again",
      );
      console.log(
        `row 16: LB restarted with the forged registrations present: 200 after ${back} ms`,
      );
      expect((await routed()).sort()).toEqual(real);
      expect(statuses(await burst(12, 20))).toEqual({ 200: 12 });
    } finally {
      for (const f of forged) await consul.deregister(f.id);
    }
  });

  it("row 16: a render nginx refuses is logged and kept out; the running configuration keeps serving", async () => {
    // What consul-template does after a render (its command's stderr is the container's log),
    // with a render nginx cannot load.
    const applied = await run("docker", [
      "exec",
      lbContainer,
      "sh",
      "-c",
      "echo 'http { upstream' > /etc/drcon/rendered/nginx.conf && sh /etc/drcon/apply-render.sh",
    ]);
    expect(applied.stderr).toContain("refused a render that nginx -t rejects");
    const live = await liveConfig();
    expect(live).not.toContain("http { upstream");
    expect(live).toContain("server_name _drcon;");
    expect(statuses(await burst(12, 20))).toEqual({ 200: 12 });
    // The next real change renders and applies again.
    await killAndWaitUnrouted(`${STACK}-simple-1`);
    await scale(3);
    await waitUntil(async () => (await routed()).length === 3, "3 instances routed again");
  });

  it("row 15: the rendered configuration has exactly one default server, routed or not", async () => {
    const defaultServers = async () =>
      (await liveConfig()).split("\n").filter((l) => /^\s*listen .*default_server/.test(l)).length;
    expect(await defaultServers()).toBe(1);
    await scale(0);
    await waitUntil(async () => (await send()).status === 503, "/ answers 503 without instances");
    expect(await defaultServers()).toBe(1);
    await scale(3);
    await waitUntil(async () => (await routed()).length === 3, "3 instances routed again");
    expect(await defaultServers()).toBe(1);
  });

  it("row 13: after Consul loses its data (container and volume removed, up again), the LB follows within seconds", async () => {
    // A stack that has lived a while: Consul's index for the service is far above where a new
    // Consul starts. Each register/deregister of a (never routed) entry moves it on by two.
    const consul = new ConsulApi("127.0.0.1", CONSUL_PORT);
    for (let i = 0; i < 150; i++) {
      await consul.register({
        id: "fl-bump",
        name: "simple",
        address: "127.0.0.1",
        port: 80,
        tags: [],
        meta: {},
        check: { ttl: "1h", interval: "1s", timeout: "1s", status: "critical" },
      });
      await consul.deregister("fl-bump");
    }
    await docker("rm", "-f", `${STACK}-consul`);
    await docker("volume", "rm", `${STACK}-consul-data`);
    const up = await drcon(["up", ...upFlags]);
    expect(up.code, up.stderr).toBe(0);
    // A change the LB must see from the new Consul: an instance killed.
    // The wait's deadline is far below the 60 s the LB was blind for before; the figure is logged.
    const left = await killAndWaitUnrouted(`${STACK}-simple-3`);
    const start = Date.now();
    await scale(4);
    const scaled = Date.now() - start;
    await waitUntil(async () => (await routed()).length === 4, "4 instances routed");
    console.log(
      `row 13: Consul data lost: after up, a killed instance left the LB ${left} ms later; scale simple=4 took ${scaled} ms`,
    );
  });

  it("row 19: drcon down lets a request in flight through the LB finish (graceful stop first)", async () => {
    const inFlight = send("/?wait=2s");
    await new Promise((r) => setTimeout(r, 300));
    const down = await drcon(["down", "--stack", STACK]);
    const answer = await inFlight;
    console.log(
      `row 19: ?wait=2s in flight during drcon down: ${answer.status} in ${answer.ms} ms`,
    );
    expect(down.code, down.stderr).toBe(0);
    expect(answer.status).toBe(200);
  });
});

/** An address near the top of the subnet, which Docker (allocating from the bottom) leaves unused. */
function unusedAddress(cidr: string): string {
  const [base = "", bits = "24"] = cidr.split("/");
  const start = base.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  const n = start + 2 ** (32 - Number(bits)) - 6;
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}
