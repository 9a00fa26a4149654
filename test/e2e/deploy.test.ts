// drcon deploy / rollback on a real engine: a service rolls from one revision to another (the
// demo image with two WHOAMI_NAME values) under load, with nothing dropped; a revision that
// never passes its check is rolled back; bad input changes nothing.
import { type ChildProcess, execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsulApi } from "../../src/consul/client.js";
import { scaleLockKey } from "../../src/services/drain.js";
import {
  drcon,
  e2eEngine,
  e2eEnv,
  get,
  instanceContainers,
  type RequestOptions,
} from "./harness.js";

const engine = await e2eEngine();
const STACK = "fde2e";
const LB = 19820;
const CONSUL = 19821;
const flags = ["--stack", STACK];
const lb = `http://127.0.0.1:${LB}`;

/** Running instances as `name revision`, by their labels. */
async function instances(): Promise<string[]> {
  const list = await instanceContainers(engine as NonNullable<typeof engine>, STACK);
  return list
    .map((c) => `${c.Names[0]?.slice(1)} ${c.State} ${c.Labels["io.drcon.revision"]}`)
    .sort();
}

/** The revisions running instances are on. */
async function revisions(): Promise<string[]> {
  const running = (await instances()).filter((i) => i.includes(" running "));
  return [...new Set(running.map((i) => i.split(" ")[2] ?? ""))];
}

interface Outcome {
  kind: string;
  status: number;
  error?: string;
  name?: string;
}

/** One request through the LB; the whoami body's `Name:` line tells the revision that served. */
async function send(
  path: string,
  options: RequestOptions = {},
): Promise<Outcome & { reused: boolean }> {
  try {
    const res = await get(`${lb}${path}`, undefined, { timeoutMs: 10_000, ...options });
    return {
      kind: "",
      status: res.status,
      name: /^Name: ?(.*)$/m.exec(res.body)?.[1] ?? "",
      reused: false,
    };
  } catch (err) {
    const { message, reusedSocket } = err as Error & { reusedSocket?: boolean };
    return { kind: "", status: 0, error: message, reused: Boolean(reusedSocket) };
  }
}

/** One tick of the load every 5 ms: ~200 req/s on fresh connections, ~200 req/s kept alive. */
const TICK_MS = 5;

/**
 * A bounded load through the LB until stopped (at most `maxMs`, so at most maxMs / TICK_MS
 * ticks): ~200 req/s on fresh connections, ~200 req/s on kept-alive ones (the rates),
 * and every second a 2 s request and a POST, so that some are in flight at each drain. A kept-alive request reset before any answer on a
 * reused connection (nginx closes idle ones when it reloads) is sent once more, as Node advises.
 */
function load(maxMs = 120_000) {
  const outcomes: Outcome[] = [];
  const pending: Promise<void>[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  let stopped = false;
  const start = Date.now();
  const record = (kind: string, p: Promise<Outcome>) =>
    pending.push(p.then((o) => void outcomes.push({ ...o, kind })));
  // Retried on a fresh connection: a reload closes every idle kept-alive one at once.
  const keptAlive = async (): Promise<Outcome> => {
    const first = await send("/", { agent });
    return first.error && first.reused ? send("/") : first;
  };
  const loop = (async () => {
    const ticks = maxMs / TICK_MS;
    for (let i = 0; !stopped && i < ticks && Date.now() - start < maxMs; i++) {
      const due = start + i * TICK_MS;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      record("fresh", send("/"));
      record("keep-alive", keptAlive());
      if (i % (1000 / TICK_MS) === 0) {
        record("wait-2s", send("/?wait=2s"));
        record("post", send("/", { method: "POST", body: "x".repeat(1000) }));
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(pending);
      agent.destroy();
      const failed = outcomes.filter((o) => o.status !== 200);
      const byName: Record<string, number> = {};
      for (const o of outcomes) byName[o.name || "(none)"] = (byName[o.name || "(none)"] ?? 0) + 1;
      const byKind: Record<string, number> = {};
      for (const o of outcomes) byKind[o.kind] = (byKind[o.kind] ?? 0) + 1;
      return { outcomes, failed, byName, byKind, seconds: (Date.now() - start) / 1000 };
    },
  };
}

describe.skipIf(!engine)("drcon deploy / rollback", () => {
  beforeAll(async () => {
    await drcon(["down", "--volumes", ...flags]);
    const up = await drcon(["up", ...flags, "--port", String(LB), "--consul-port", String(CONSUL)]);
    expect(up.code, up.stderr).toBe(0);
    const scale = await drcon(["scale", "simple=3", ...flags]);
    expect(scale.code, scale.stderr).toBe(0);
  }, 240_000);
  afterAll(async () => {
    await drcon(["down", "--volumes", ...flags]);
  }, 120_000);

  it("refuses bad input with one line and changes nothing", async () => {
    const before = await instances();
    const refused = async (args: string[], message: RegExp) => {
      const res = await drcon(["deploy", ...args]);
      expect(res.code, args.join(" ")).toBe(1);
      expect(res.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(res.stderr, args.join(" ")).toMatch(message);
    };
    await refused(["web", ...flags], /^Error: no service named web \(known: simple\)/);
    await refused(["simple", "--stack", "fdnotthere"], /stack fdnotthere is not up/);
    await refused(
      ["simple", "--image", "drcon-ci/not-there:1", "--pull", "never", ...flags],
      /image drcon-ci\/not-there:1 is not present locally and the pull policy is "never"/,
    );
    await refused(
      ["simple", "--surge", "0", "--env", "WHOAMI_NAME=b", ...flags],
      /--surge 0: .*use --surge 1 or more/,
    );
    await refused(["simple", "--env", "NOEQUALS", ...flags], /--env NOEQUALS: write NAME=VALUE/);
    await refused(["simple", "--timeout", "soon", ...flags], /--timeout soon: write a duration/);
    // The scale lock held, as by a scale or deploy running on the same service.
    const consul = new ConsulApi("127.0.0.1", CONSUL);
    await consul.withLock(scaleLockKey("simple"), 10_000, () =>
      refused(
        ["simple", "--env", "WHOAMI_NAME=b", ...flags],
        /another drcon scale or deploy is changing simple right now/,
      ),
    );
    const rollback = await drcon(["rollback", "simple", ...flags]);
    expect(rollback.code).toBe(1);
    expect(rollback.stderr.trim()).toBe(
      "Error: simple has no earlier revision to roll back to: drcon deploy records one each time it deploys",
    );
    expect(await instances()).toEqual(before);
  }, 120_000);

  it("deploys revision B under load with 0 failed requests; all 3 instances end on B", async () => {
    const [revisionA] = await revisions();
    const traffic = load();
    // drcon's own view too: requests per revision in watch's summary.
    const watched = drcon(["watch", "--rate", "20", "--duration", "15s", "--json", ...flags]);
    await new Promise((r) => setTimeout(r, 1500));
    const res = await drcon(["deploy", "simple", "--env", "WHOAMI_NAME=b", "--json", ...flags]);
    await new Promise((r) => setTimeout(r, 1500));
    const seen = await traffic.stop();
    const watchLines = (await watched).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const watchSummary = watchLines.find((l) => l.type === "summary");
    expect(res.code, res.stderr).toBe(0);
    const result = JSON.parse(res.stdout);
    console.log(
      `deploy A -> B: ${seen.outcomes.length} requests in ${seen.seconds} s (${JSON.stringify(seen.byKind)}), ${seen.failed.length} failed; served by name: ${JSON.stringify(seen.byName)}`,
    );
    expect(seen.failed.map((o) => `${o.kind} ${o.status} ${o.error}`)).toEqual([]);
    expect(result.stopped).toEqual([1, 2, 3].map((n) => `${STACK}-simple-${n}`));
    expect(result.started).toEqual([4, 5, 6].map((n) => `${STACK}-simple-${n}`));
    expect(result.replaced).toEqual([revisionA]);
    console.log(
      `watch --json during the deploy: ${JSON.stringify(watchSummary.perRevision)}, ${watchSummary.failed} failed`,
    );
    expect(watchSummary.failed).toBe(0);
    expect(Object.keys(watchSummary.perRevision).sort()).toEqual(
      [revisionA, result.revision].sort(),
    );
    const routed = watchLines.filter((l) => l.type === "routing").at(-1);
    expect(
      routed.services[0].instances
        .filter((i: { health: string }) => i.health === "passing")
        .map((i: { revision: string }) => i.revision),
    ).toEqual([result.revision, result.revision, result.revision]);
    expect(await instances()).toEqual(
      [4, 5, 6].map((n) => `${STACK}-simple-${n} running ${result.revision}`),
    );
    // Requests moved from A (no name) to B.
    expect(seen.byName.b).toBeGreaterThan(0);
    expect(seen.byName["(none)"]).toBeGreaterThan(0);
    // Status shows the revision; nothing is outdated.
    const status = JSON.parse((await drcon(["status", "--json", ...flags])).stdout);
    const shown = status.services[0].instances.map((i: { revision: string; outdated: boolean }) => [
      i.revision,
      i.outdated,
    ]);
    expect(shown).toEqual([1, 2, 3].map(() => [result.revision, false]));
    // A scale after the deploy starts the deployed revision, not the configured one.
    expect((await drcon(["scale", "simple=4", ...flags])).code).toBe(0);
    expect(await revisions()).toEqual([result.revision]);
    expect((await drcon(["scale", "simple=3", ...flags])).code).toBe(0);
  }, 240_000);

  it("a revision that never passes its check is rolled back: exit 1, one line, B still serves, 0 failed", async () => {
    const before = await instances();
    const traffic = load();
    const started = Date.now();
    // The stand-in listens on 81 while the check (and the LB) expect 80: never healthy.
    const res = await drcon([
      "deploy",
      "simple",
      "--env",
      "WHOAMI_NAME=b",
      "--env",
      "WHOAMI_PORT_NUMBER=81",
      "--timeout",
      "15s",
      ...flags,
    ]);
    const took = Date.now() - started;
    const seen = await traffic.stop();
    console.log(
      `bad revision: exit ${res.code} after ${took} ms (--timeout 15s); ${seen.outcomes.length} requests, ${seen.failed.length} failed; ${res.stderr.trim()}`,
    );
    expect(res.code).toBe(1);
    const lines = res.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    const serving = before.map((i) => i.split(" ")[0]).join(", ");
    expect(lines[0]).toMatch(
      new RegExp(
        `^Error: deploy of simple to \\S+ stopped: (${STACK}-simple-\\d+) did not pass its check \\(critical\\) within \\d+ s \\(last log line: .*Starting up on port 81.*\\); rolled back \\(removed \\1\\): ${serving} still serve$`,
      ),
    );
    expect(seen.failed.map((o) => `${o.kind} ${o.status} ${o.error}`)).toEqual([]);
    expect(await instances()).toEqual(before);
  }, 240_000);

  it("rollback returns to revision A under load with 0 failed", async () => {
    const traffic = load();
    await new Promise((r) => setTimeout(r, 1000));
    const res = await drcon(["rollback", "simple", "--json", ...flags]);
    const seen = await traffic.stop();
    expect(res.code, res.stderr).toBe(0);
    console.log(
      `rollback B -> A: ${seen.outcomes.length} requests, ${seen.failed.length} failed; by name ${JSON.stringify(seen.byName)}`,
    );
    expect(seen.failed.map((o) => `${o.kind} ${o.status} ${o.error}`)).toEqual([]);
    const result = JSON.parse(res.stdout);
    expect(await revisions()).toEqual([result.revision]);
    expect(await instances()).toHaveLength(3);
  }, 240_000);

  it("--canary 1 then --promote, --canary 1 then --abort: each under load with 0 failed", async () => {
    const [before] = await revisions();
    const step = async (args: string[]) => {
      const traffic = load();
      await new Promise((r) => setTimeout(r, 500));
      const res = await drcon(["deploy", "simple", ...args, "--json", ...flags]);
      // Long enough for the load to reach every instance that serves now.
      await new Promise((r) => setTimeout(r, 1500));
      const seen = await traffic.stop();
      expect(res.code, res.stderr).toBe(0);
      console.log(
        `deploy ${args.join(" ")}: ${seen.outcomes.length} requests, ${seen.failed.length} failed; by name ${JSON.stringify(seen.byName)}`,
      );
      expect(seen.failed.map((o) => `${o.kind} ${o.status} ${o.error}`)).toEqual([]);
      return { result: JSON.parse(res.stdout), seen };
    };
    const canary = await step(["--env", "WHOAMI_NAME=c", "--canary", "1"]);
    expect(canary.result.started).toHaveLength(1);
    expect((await revisions()).sort()).toEqual([before, canary.result.revision].sort());
    expect(await instances()).toHaveLength(4);
    const status = JSON.parse((await drcon(["status", "--json", ...flags])).stdout);
    expect(
      status.services[0].instances
        .filter((i: { canary: boolean }) => i.canary)
        .map((i: { name: string }) => i.name),
    ).toEqual(canary.result.started);
    const promoted = await step(["--promote"]);
    expect(promoted.result.revision).toBe(canary.result.revision);
    expect(await revisions()).toEqual([canary.result.revision]);
    expect(await instances()).toHaveLength(3);

    const second = await step(["--env", "WHOAMI_NAME=d", "--canary", "1"]);
    expect(second.seen.byName.d).toBeGreaterThan(0);
    const aborted = await step(["--abort"]);
    expect(aborted.result.stopped).toEqual(second.result.started);
    expect(await revisions()).toEqual([canary.result.revision]);
    expect(await instances()).toHaveLength(3);
    const again = await drcon(["deploy", "simple", "--abort", ...flags]);
    expect(again.stderr.trim()).toBe("Error: simple has no canary to abort");
  }, 300_000);

  it("Ctrl-C during a deploy rolls back: exit 130, the old instances still serve, no new one left", async () => {
    const before = await instances();
    const traffic = load();
    const child: ChildProcess = execFile(
      process.execPath,
      [
        join(import.meta.dirname, "..", "..", "bin", "run.js"),
        "deploy",
        "simple",
        "--env",
        "WHOAMI_NAME=e",
        ...flags,
      ],
      { env: e2eEnv },
    );
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c) => {
      stdout += c;
    });
    child.stderr?.on("data", (c) => {
      stderr += c;
    });
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    // Interrupt once the second new instance is being started: one old one is gone by then.
    const deadline = Date.now() + 60_000;
    while ((stdout.match(/start \S+ and wait/g) ?? []).length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGINT");
    const code = await exited;
    const seen = await traffic.stop();
    console.log(
      `interrupted deploy: exit ${code}; ${seen.outcomes.length} requests, ${seen.failed.length} failed; ${stderr.trim()}`,
    );
    expect(code).toBe(130);
    expect(seen.failed.map((o) => `${o.kind} ${o.status} ${o.error}`)).toEqual([]);
    const after = await instances();
    expect(await revisions()).toEqual([before[0]?.split(" ")[2]]);
    expect(after.filter((i) => i.includes(" running "))).toHaveLength(3);
  }, 240_000);

  it("with no flags, deploy rolls to what drcon.yml says; status then shows nothing outdated", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fd-deploy-"));
    const config = join(dir, "drcon.yml");
    writeFileSync(config, "services:\n  simple:\n    env: { WHOAMI_NAME: f }\n");
    const res = await drcon(["deploy", "simple", "--json", "-c", config, ...flags]);
    expect(res.code, res.stderr).toBe(0);
    const result = JSON.parse(res.stdout);
    expect(await revisions()).toEqual([result.revision]);
    expect((await get(lb)).body).toMatch(/^Name: f$/m);
    const status = JSON.parse((await drcon(["status", "--json", ...flags])).stdout);
    expect(status.services[0].instances.map((i: { outdated: boolean }) => i.outdated)).toEqual([
      false,
      false,
      false,
    ]);
  }, 240_000);
});
