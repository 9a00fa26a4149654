// Issue 9, wrong input: each row produces the situation for real on the engine and checks the exit
// code, the one line on stderr, and that nothing was destroyed or left half made.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsulApi } from "../../src/consul/client.js";
import { SYNC_KEY } from "../../src/contract.js";
import { docker, drcon, e2eEngine, e2eEnv, get, leftovers, until } from "./harness.js";

const run = promisify(execFile);
const engine = await e2eEngine();
const STACK = "fninput";
const LB = 19200;
const CONSUL = 19201;
const flags = ["--stack", STACK, "--port", String(LB), "--consul-port", String(CONSUL)];
const lb = `http://127.0.0.1:${LB}`;
const V6 = "fnv6";
const v6Flags = ["--stack", V6, "--host-ip", "::1", "--port", "19204", "--consul-port", "19205"];
const DEMO = String(e2eEnv.DRCON_IMAGE_DEMO);
/** Containers these tests start by hand, without drcon's labels: removed by name at the end. */
const BY_HAND = [`${STACK}-simple-2`, `${STACK}-byhand`, `${V6}-byhand`];

/** Names and states of the stack's containers that carry drcon's labels. */
async function stackContainers(stack = STACK): Promise<string[]> {
  const list = await (engine as NonNullable<typeof engine>).listContainers({
    "io.drcon.stack": stack,
  });
  return list.map((c) => `${c.Names[0]?.slice(1)}:${c.State}`).sort();
}

async function containerId(name: string): Promise<string> {
  return docker("inspect", "--format", "{{.Id}}", name);
}

function holdPort(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

describe.skipIf(!engine)("issue 9: wrong input destroys nothing", () => {
  beforeAll(async () => {
    await Promise.all(BY_HAND.map((n) => run("docker", ["rm", "-f", n]).catch(() => undefined)));
    await drcon(["down", "--volumes", "--remove-attached", "--stack", STACK]);
    await drcon(["down", "--volumes", "--remove-attached", "--stack", V6]);
    const up = await drcon(["up", ...flags]);
    expect(up.code, up.stderr).toBe(0);
  });
  afterAll(async () => {
    await Promise.all(BY_HAND.map((n) => run("docker", ["rm", "-f", n]).catch(() => undefined)));
    await drcon(["down", "--volumes", "--remove-attached", "--stack", STACK]);
    await drcon(["down", "--volumes", "--remove-attached", "--stack", V6]);
  });

  it("row 9: --json on a failing command: one line on stderr and a JSON error on stdout", async () => {
    const status = await drcon(["status", "--json", "--stack", "fnnotup"]);
    const notUp =
      "stack fnnotup is not up (consul missing, registrator missing, lb missing): run `drcon up --stack fnnotup`";
    expect(status.code).toBe(1);
    expect(status.stderr).toBe(`Error: ${notUp}\n`);
    const report = JSON.parse(status.stdout);
    expect(report).toMatchObject({ stack: "fnnotup", up: false, error: { message: notUp } });

    const kill = await drcon(["kill", "nosuch", "--json", "--stack", STACK]);
    const noSuch = `no service or instance named nosuch in stack ${STACK}`;
    expect(kill.code).toBe(1);
    expect(kill.stderr).toBe(`Error: ${noSuch}\n`);
    expect(JSON.parse(kill.stdout)).toEqual({ error: { message: noSuch, exitCode: 1 } });

    // The same for a command with steps (up, quiet with --json) and for scale.
    const up = await drcon([
      "up",
      "--json",
      "--stack",
      "fnnotup",
      "--port",
      "19206",
      "--consul-port",
      "19206",
    ]);
    const samePort =
      "127.0.0.1:19206 is given to both the load balancer and Consul: choose two ports with --port and --consul-port";
    expect(up.code).toBe(1);
    expect(up.stderr).toBe(`Error: ${samePort}\n`);
    expect(JSON.parse(up.stdout)).toEqual({ error: { message: samePort, exitCode: 1 } });
    const scale = await drcon(["scale", "nosuch=1", "--json", "--stack", STACK]);
    const unknown =
      "nosuch=1: no service named nosuch (known: simple); add it to drcon.yml or pass --image";
    expect(scale.code).toBe(1);
    expect(scale.stderr).toBe(`Error: ${unknown}\n`);
    expect(JSON.parse(scale.stdout)).toEqual({ error: { message: unknown, exitCode: 1 } });

    // The same line without --json, and nothing on stdout.
    const plain = await drcon(["kill", "nosuch", "--stack", STACK]);
    expect(plain).toEqual({ code: 1, stdout: "", stderr: `Error: ${noSuch}\n` });
  });

  it("row 4: a container drcon did not make holding an instance name is refused before anything starts", async () => {
    const foreign = `${STACK}-simple-2`;
    await docker("run", "-d", "--name", foreign, "--network", STACK, DEMO);
    const foreignId = await containerId(foreign);
    const before = await stackContainers();

    const res = await drcon(["scale", "simple=2", "--stack", STACK]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `Error: a container named ${foreign} exists that drcon did not make: remove or rename it, or use another --stack\n`,
    );
    // Nothing half made: no instance started (not even simple-1), the foreign one untouched.
    expect(await stackContainers()).toEqual(before);
    expect(await docker("inspect", "--format", "{{.State.Running}}", foreignId)).toBe("true");

    await docker("rm", "-f", foreign);
    const again = await drcon(["scale", "simple=2", "--stack", STACK]);
    expect(again.code, again.stderr).toBe(0);
    const down = await drcon(["scale", "simple=0", "--stack", STACK]);
    expect(down.code, down.stderr).toBe(0);
  }, 120_000);

  it("row 7: a service added with --image scales, shows in status and is killed without --image", async () => {
    const first = await drcon([
      "scale",
      "web=1",
      "--image",
      DEMO,
      "--port",
      "80",
      "--stack",
      STACK,
    ]);
    expect(first.code, first.stderr).toBe(0);
    const labels = JSON.parse(
      await docker("inspect", "--format", "{{json .Config.Labels}}", `${STACK}-web-1`),
    );
    expect(labels).toMatchObject({ "io.drcon.image": DEMO, "io.drcon.port": "80" });

    const second = await drcon(["scale", "web=2", "--stack", STACK]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`web: 2 instance(s) (started ${STACK}-web-2)`);
    expect((await get(lb, "web.localhost")).status).toBe(200);

    const status = await drcon(["status", "--json", "--stack", STACK]);
    expect(status.code, status.stderr).toBe(0);
    const web = JSON.parse(status.stdout).services.find((s: { name: string }) => s.name === "web");
    expect(web.instances.map((i: { name: string; routed: boolean }) => [i.name, i.routed])).toEqual(
      [
        [`${STACK}-web-1`, true],
        [`${STACK}-web-2`, true],
      ],
    );

    const kill = await drcon(["kill", "web", "--stack", STACK]);
    expect(kill.code, kill.stderr).toBe(0);
    const back = await drcon(["scale", "web=1", "--stack", STACK]);
    expect(back.code, back.stderr).toBe(0);
    // One web instance left (whichever the kill spared), and nothing else changed.
    const all = await stackContainers();
    expect(all.filter((c) => !c.includes("-web-"))).toEqual(
      [`${STACK}-consul`, `${STACK}-lb`, `${STACK}-registrator`].map((n) => `${n}:running`),
    );
    expect(all.filter((c) => c.includes("-web-"))).toEqual([
      expect.stringMatching(new RegExp(`^${STACK}-web-[12]:running$`)),
    ]);
  }, 150_000);

  it("row 3: up --port P on a running stack when P is taken: refused first, the running LB keeps serving", async () => {
    const lbId = await containerId(`${STACK}-lb`);
    const consulId = await containerId(`${STACK}-consul`);
    const before = await stackContainers();
    const held = [await holdPort(19202), await holdPort(19203)];
    try {
      const lbTaken = await drcon([
        "up",
        ...["--stack", STACK, "--consul-port", String(CONSUL), "--port", "19202"],
      ]);
      expect(lbTaken.code).toBe(1);
      expect(lbTaken.stderr).toBe(
        "Error: 127.0.0.1:19202 (load balancer) is already in use: free it, or choose another port with --port\n",
      );
      const consulTaken = await drcon(["up", ...flags.slice(0, 4), "--consul-port", "19203"]);
      expect(consulTaken.code).toBe(1);
      expect(consulTaken.stderr).toBe(
        "Error: 127.0.0.1:19203 (Consul) is already in use: free it, or choose another port with --consul-port\n",
      );
      const same = await drcon([
        "up",
        ...flags.slice(0, 2),
        "--port",
        "19205",
        "--consul-port",
        "19205",
      ]);
      expect(same.code).toBe(1);
      expect(same.stderr).toBe(
        "Error: 127.0.0.1:19205 is given to both the load balancer and Consul: choose two ports with --port and --consul-port\n",
      );
    } finally {
      for (const s of held) s.close();
    }
    expect(await containerId(`${STACK}-lb`)).toBe(lbId);
    expect(await containerId(`${STACK}-consul`)).toBe(consulId);
    expect(await stackContainers()).toEqual(before);
    expect((await get(lb, "web.localhost")).status).toBe(200);
    const again = await drcon(["up", ...flags]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("already up; nothing changed");
  }, 120_000);

  it("row 17: a bad sync record is 'unknown' to status, and up waits for a good one", async () => {
    const consul = new ConsulApi("127.0.0.1", CONSUL);
    const registrator = `${STACK}-registrator`;
    // Frozen, the registrator cannot overwrite the bad value while status reads it.
    await docker("kill", "--signal", "SIGSTOP", registrator);
    try {
      await consul.kvSet(SYNC_KEY, "{not json");
      const status = await drcon(["status", "--json", "--stack", STACK]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stderr).toBe("");
      const report = JSON.parse(status.stdout);
      expect(
        report.components.find((c: { role: string }) => c.role === "registrator"),
      ).toMatchObject({ state: "running", health: "sync unknown (unreadable record)" });
      await consul.kvSet(SYNC_KEY, JSON.stringify({ at: "yesterday", registered: -1 }));
      const text = await drcon(["status", "--stack", STACK]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/registrator +\S+ +running +sync unknown \(unreadable record\)/);
    } finally {
      await docker("kill", "--signal", "SIGCONT", registrator);
    }
    const start = Date.now();
    const up = await drcon(["up", ...flags]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain("already up; nothing changed");
    console.log(`row 17: up with a bad sync record returned in ${Date.now() - start} ms`);
  }, 120_000);

  it("row 8: --host-ip foo and an address not on this machine are refused naming the flag", async () => {
    const foo = await drcon(["up", "--stack", V6, "--host-ip", "foo"]);
    expect(foo).toMatchObject({
      code: 1,
      stderr: "Error: --host-ip foo: must be an IP address such as 127.0.0.1\n",
    });
    // 192.0.2.1 (TEST-NET-1) is on no interface here: only bound locally, never sent to.
    const notLocal = await drcon(["up", ...v6Flags.slice(0, 2), "--host-ip", "192.0.2.1"]);
    expect(notLocal.code).toBe(1);
    expect(notLocal.stderr).toBe(
      "Error: 192.0.2.1 is not an address of this machine: give --host-ip (or hostIp in drcon.yml) one that is, e.g. 127.0.0.1\n",
    );
    expect(await leftovers(engine as NonNullable<typeof engine>, V6)).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  });

  it("row 8: --host-ip ::1 brings the stack up on IPv6 loopback, URLs bracketed", async () => {
    const up = await drcon(["up", ...v6Flags]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain("Load balancer  http://[::1]:19204");
    expect(up.stdout).toContain("Consul UI      http://[::1]:19205/ui/");
    const scale = await drcon(["scale", "simple=1", "--stack", V6]);
    expect(scale.code, scale.stderr).toBe(0);
    const res = await get("http://[::1]:19204/");
    expect(res.status).toBe(200);
    const status = await drcon(["status", "--json", "--stack", V6]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).urls).toEqual({
      lb: "http://[::1]:19204",
      consul: "http://[::1]:19205",
    });
    const watch = await drcon(
      ["watch", "--stack", V6, "--requests", "10", "--rate", "20", "--json", "--fail-on-error"],
      {},
      60_000,
    );
    expect(watch.code, watch.stderr).toBe(0);
    const summary = JSON.parse(watch.stdout.trim().split("\n").at(-1) ?? "{}");
    expect(summary).toMatchObject({ type: "summary", total: 10, ok: 10 });
  }, 150_000);

  it("row 5: down --remove-attached also removes a container started by hand on the network", async () => {
    const byHand = `${V6}-byhand`;
    await docker("run", "-d", "--name", byHand, "--network", V6, "-e", "SERVICE_NAME=simple", DEMO);
    const down = await drcon(["down", "--volumes", "--remove-attached", "--stack", V6]);
    expect(down.code).toBe(0);
    expect(down.stderr).toBe("");
    expect(down.stdout).toContain(`removed container ${byHand}`);
    expect(await docker("ps", "-a", "--filter", `name=^${byHand}$`, "--format", "{{.Names}}")).toBe(
      "",
    );
    expect(await leftovers(engine as NonNullable<typeof engine>, V6)).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  }, 120_000);

  it("row 5: down with a container started by hand on the network (the README's docker run) removes the stack and disconnects it", async () => {
    const byHand = `${STACK}-byhand`;
    // The README's own example: no drcon label, only the network and SERVICE_NAME.
    await docker(
      "run",
      "-d",
      "--name",
      byHand,
      "--network",
      STACK,
      "-e",
      "SERVICE_NAME=simple",
      DEMO,
    );
    await until(
      async () => (await get(lb)).status === 200,
      15_000,
      "the hand-run container serves",
    );
    const down = await drcon(["down", "--volumes", "--stack", STACK]);
    expect(down.code).toBe(0);
    expect(down.stderr).toBe("");
    expect(down.stdout).toContain(
      `disconnected ${byHand} from network ${STACK}: drcon did not make it, so it keeps running (--remove-attached removes it)`,
    );
    expect(down.stdout).toContain(`removed network ${STACK}`);
    expect(await leftovers(engine as NonNullable<typeof engine>, STACK)).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
    // Not drcon's: still running, on no network of the stack.
    const state = await docker(
      "inspect",
      "--format",
      "{{.State.Running}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
      byHand,
    );
    expect(state.trim()).toBe("true");
  }, 120_000);
});
