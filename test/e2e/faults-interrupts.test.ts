// Issue 9, interruptions and draining: real SIGINT/SIGTERM sent to the real CLI process in the
// middle of `scale` and `up`, and a scale-down with requests in flight to an app that exits at
// once on SIGTERM (as traefik/whoami does). Every run must leave nothing half made, and the
// next command must repair what a forced exit left.
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { ConsulApi } from "../../src/consul/client.js";
import { fetchRoutes } from "../../src/stack/lb-routes.js";
import { drcon, e2eEngine, e2eEnv, leftovers, until } from "./harness.js";

const engine = await e2eEngine();
const docker = engine as NonNullable<typeof engine>;
const RUN = join(import.meta.dirname, "..", "..", "bin", "run.js");
// The demo image's stand-in exits at once on SIGTERM, as the real traefik/whoami does.
const DEMO_IMAGE = String(e2eEnv.DRCON_IMAGE_DEMO);

interface Stack {
  name: string;
  lb: number;
  consul: number;
  flags: string[];
}

function stack(name: string, lb: number, consul: number): Stack {
  return {
    name,
    lb,
    consul,
    flags: ["--stack", name],
  };
}

function upArgs(s: Stack): string[] {
  return ["up", ...s.flags, "--port", String(s.lb), "--consul-port", String(s.consul)];
}

async function up(s: Stack): Promise<void> {
  await drcon(["down", "--volumes", ...s.flags]);
  const res = await drcon(upArgs(s));
  expect(res.code, res.stderr).toBe(0);
}

/** The CLI as a child process, so the test can signal it at the step it wants. */
class Cli {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [RUN, ...args], { env: e2eEnv });
    this.child.stdout?.on("data", (d) => {
      this.stdout += d;
    });
    this.child.stderr?.on("data", (d) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  /** Resolves once stdout shows `pattern` (the step to interrupt has begun). */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stdout)) {
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`never saw ${pattern}; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await sleep(20);
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }
}

interface Answer {
  method: string;
  status: number | string;
  upstream?: string;
}

/** A request through the LB that the instance answers after `wait` (the stand-in's ?wait=). */
function slowRequest(s: Stack, method: "GET" | "POST", wait: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      `http://127.0.0.1:${s.lb}/?wait=${wait}`,
      { method, agent: false, timeout: 30_000 },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({
            method,
            status: res.statusCode ?? 0,
            upstream: res.headers["x-drcon-upstream"] as string | undefined,
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ method, status: err.message }));
    req.end(method === "POST" ? "a body the app reads" : undefined);
  });
}

/** GETs and POSTs in flight at once, half each. */
function requestsInFlight(s: Stack, count: number, wait: string): Promise<Answer[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => slowRequest(s, i % 2 ? "POST" : "GET", wait)),
  );
}

async function health(s: Stack) {
  return new ConsulApi("127.0.0.1", s.consul).health("simple");
}

async function routes(s: Stack): Promise<string[]> {
  return ((await fetchRoutes(`http://127.0.0.1:${s.lb}`)).services.simple ?? []).sort();
}

async function runningInstances(s: Stack): Promise<string[]> {
  const list = await docker.listContainers({
    "io.drcon.stack": s.name,
    "io.drcon.role": "instance",
  });
  return list
    .filter((c) => c.State === "running")
    .map((c) => c.Names[0]?.slice(1) ?? "")
    .sort();
}

/**
 * Scales 2 -> 1 with slow requests in flight and returns once the scale is waiting for them:
 * the moment to interrupt it.
 */
async function scaleDownWhileDraining(s: Stack): Promise<{ cli: Cli; load: Promise<Answer[]> }> {
  const two = await drcon(["scale", "simple=2", ...s.flags]);
  expect(two.code, two.stderr).toBe(0);
  const load = requestsInFlight(s, 6, "4s");
  await sleep(500);
  const cli = new Cli(["scale", "simple=1", ...s.flags]);
  await cli.waitFor(/waiting for requests in flight/);
  return { cli, load };
}

async function downAndExpectNothingLeft(s: Stack): Promise<void> {
  const res = await drcon(["down", "--volumes", ...s.flags]);
  expect(res.code, res.stderr).toBe(0);
  expect(await leftovers(docker, s.name)).toEqual({ containers: [], networks: [], volumes: [] });
}

// Generous: the machine is shared, and one test waits for scale's 60 s join timeout.
const TIMEOUT = { timeout: 150_000 };

describe.skipIf(!engine)(
  "faults: interruptions and draining (issue 9 rows 1, 2, 6, 18)",
  TIMEOUT,
  () => {
    const drain = stack("fidrain", 19184, 19185);
    const scale = stack("fiscale", 19180, 19181);
    const upStack = stack("fiup", 19182, 19183);

    afterAll(async () => {
      for (const s of [drain, scale, upStack]) await drcon(["down", "--volumes", ...s.flags]);
    });

    it("row 18: scaling 2 -> 1 an app that exits at once on SIGTERM cuts no GET or POST in flight", async () => {
      console.log(`row 18 image: ${DEMO_IMAGE}`);
      await up(drain);
      const two = await drcon(["scale", "simple=2", ...drain.flags]);
      expect(two.code, two.stderr).toBe(0);
      const [kept] = await routes(drain);
      // 4 s: still in flight when the scale below, started half a second later, drains.
      const load = requestsInFlight(drain, 12, "4s");
      await sleep(500); // all twelve reached an instance and wait there
      const started = Date.now();
      const down = await drcon(["scale", "simple=1", ...drain.flags]);
      console.log(
        `row 18: scale 2 -> 1 took ${Date.now() - started} ms; ${down.stdout.match(/requests in flight done after \d+ ms/)?.[0] ?? "(no drain figure)"}`,
      );
      expect(down.code, down.stderr).toBe(0);
      const answers = await load;
      console.log(
        `row 18: ${answers.filter((a) => a.status === 200).length} of ${answers.length} answered 200`,
      );
      expect(answers.map((a) => `${a.method} ${a.status}`)).toEqual(
        answers.map((a) => `${a.method} 200`),
      );
      // Some of them were in flight to the instance that was stopped: the case under test.
      const drained = answers.filter((a) => a.upstream !== kept);
      console.log(`row 18: ${drained.length} of them were served by the instance stopped`);
      expect(drained.length).toBeGreaterThan(0);
      expect(await routes(drain)).toHaveLength(1);
      await downAndExpectNothingLeft(drain);
    });

    it("row 1: Ctrl-C while scale drains puts the instance back in service, frees the lock, exits 130", async () => {
      await up(scale);
      const { cli, load } = await scaleDownWhileDraining(scale);
      const signalled = Date.now();
      cli.signal("SIGINT");
      expect(await cli.exited).toBe(130);
      console.log(`row 1: scale exited ${Date.now() - signalled} ms after SIGINT`);
      expect(cli.stderr.trim().split("\n")).toEqual([
        `Interrupted by SIGINT: put ${scale.name}-simple-2 back in service; no lock left held`,
      ]);
      // Nothing in maintenance, both instances routed again, the lock free, no request cut.
      expect((await health(scale)).map((h) => [h.status, h.maintenance])).toEqual([
        ["passing", undefined],
        ["passing", undefined],
      ]);
      expect(
        await new ConsulApi("127.0.0.1", scale.consul).lockHeld("drcon/locks/scale/simple"),
      ).toBe(false);
      expect(await runningInstances(scale)).toEqual([
        `${scale.name}-simple-1`,
        `${scale.name}-simple-2`,
      ]);
      const exited = Date.now();
      await until(async () => (await routes(scale)).length === 2, 30_000, "both instances routed");
      console.log(
        `row 1: the LB routed the instance put back ${Date.now() - exited} ms after exit`,
      );
      expect((await load).map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
      // The same scale runs to the end at once: no lock held, nothing in the way.
      const again = await drcon(["scale", "simple=1", ...scale.flags]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain(`stopped ${scale.name}-simple-2`);
    });

    it("row 1: a second signal leaves at once; status names the instance left in maintenance; the next up puts it back", async () => {
      const { cli, load } = await scaleDownWhileDraining(scale);
      // Both signals pending at once, so the second arrives before any clean-up can finish. Node
      // hands them over in either order: the second one decides the exit code and the line.
      cli.signal("SIGSTOP");
      cli.signal("SIGINT");
      cli.signal("SIGTERM");
      cli.signal("SIGCONT");
      const code = await cli.exited;
      const second = code === 130 ? "SIGINT" : "SIGTERM";
      expect([130, 143]).toContain(code);
      expect(cli.stderr.trim().split("\n")).toEqual([
        `Interrupted again by ${second}: left at once; an instance being drained may be left in maintenance: the next drcon scale or up puts it back`,
      ]);
      const left = (await health(scale)).filter((h) => h.maintenance !== undefined);
      expect(left.map((h) => h.meta.drcon_instance)).toEqual([`${scale.name}-simple-2`]);
      const status = await drcon(["status", ...scale.flags, "--json"]);
      const shown = JSON.parse(status.stdout).services[0].instances.map(
        (i: { name: string; health: string }) => `${i.name} ${i.health}`,
      );
      console.log(`row 1: status right after a forced exit: ${shown.join(", ")}`);
      // Not "draining": the command that held the service's lock no longer runs.
      expect(shown[1]).toBe(`${scale.name}-simple-2 in maintenance (interrupted scale)`);
      const started = Date.now();
      const repair = await drcon(upArgs(scale));
      console.log(`row 1: up repaired in ${Date.now() - started} ms`);
      expect(repair.code, repair.stderr).toBe(0);
      expect(repair.stdout).toContain(`put ${scale.name}-simple-2 back in service`);
      expect((await health(scale)).map((h) => h.status)).toEqual(["passing", "passing"]);
      await until(async () => (await routes(scale)).length === 2, 30_000, "both instances routed");
      expect((await load).map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    });

    // The stand-in listens on 80; registered on 81 it never passes its check, so never joins.
    const NEVER_JOINS = ["scale", "never=1", "--image", DEMO_IMAGE, "--port", "81", ...scale.flags];

    it("row 6: an instance that scale gives up on (interrupted before it joined) is removed again", async () => {
      const cli = new Cli(NEVER_JOINS);
      await cli.waitFor(/start fiscale-never-1/);
      await until(
        async () => (await runningInstances(scale)).includes("fiscale-never-1"),
        60_000,
        "fiscale-never-1 to run",
      );
      cli.signal("SIGTERM");
      expect(await cli.exited).toBe(143);
      expect(cli.stderr.trim().split("\n")).toEqual([
        "Interrupted by SIGTERM: removed fiscale-never-1 (it had not joined the LB); no lock left held",
      ]);
      expect(await runningInstances(scale)).toEqual([
        `${scale.name}-simple-1`,
        `${scale.name}-simple-2`,
      ]);
      const all = await docker.listContainers({
        "io.drcon.stack": scale.name,
        "io.drcon.service": "never",
      });
      expect(all).toEqual([]);
    });

    it("row 6: an instance that never joins is removed when scale gives up (60 s), in one line", async () => {
      const started = Date.now();
      const res = await drcon(NEVER_JOINS);
      console.log(`row 6: scale gave up after ${Date.now() - started} ms`);
      expect(res.code).toBe(1);
      expect(res.stderr.trim().split("\n")).toEqual([
        "Error: timed out after 60 s waiting for fiscale-never-1 to join the LB, so it was removed again: check that its image serves on port 81 (--port), then run drcon scale again",
      ]);
      const all = await docker.listContainers({
        "io.drcon.stack": scale.name,
        "io.drcon.service": "never",
      });
      expect(all).toEqual([]);
    });

    it("kill --restart returns once the restarted instances are routed again", async () => {
      const res = await drcon(["kill", "simple", "--count", "2", "--restart", ...scale.flags]);
      expect(res.code, res.stderr).toBe(0);
      // No polling: right when kill returns, the LB routes both instances.
      expect(await routes(scale)).toHaveLength(2);
      await downAndExpectNothingLeft(scale);
    });

    it("row 2: Ctrl-C or SIGTERM during up removes what the run made; the next up brings the stack up", async () => {
      await drcon(["down", "--volumes", ...upStack.flags]);
      const args = [
        "up",
        ...upStack.flags,
        "--port",
        String(upStack.lb),
        "--consul-port",
        String(upStack.consul),
      ];
      for (const [sig, step, code] of [
        ["SIGINT", /❯ Consul/, 130],
        ["SIGTERM", /❯ Registrator/, 143],
      ] as const) {
        const cli = new Cli(args);
        await cli.waitFor(step);
        cli.signal(sig);
        expect(await cli.exited).toBe(code);
        const line = cli.stderr.trim().split("\n");
        console.log(`row 2: ${line.join(" | ")}`);
        expect(line).toHaveLength(1);
        expect(line[0]).toMatch(
          new RegExp(
            `^Interrupted by ${sig}: removed what this run made \\(.*container fiup-consul, volume fiup-consul-data, network fiup\\)$`,
          ),
        );
        expect(await leftovers(docker, upStack.name)).toEqual({
          containers: [],
          networks: [],
          volumes: [],
        });
      }
      const again = await drcon(args);
      expect(again.code, again.stderr).toBe(0);
      await downAndExpectNothingLeft(upStack);
    });
  },
);
