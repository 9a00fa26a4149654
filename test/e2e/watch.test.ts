// drcon watch on a real engine with the stand-in images: NDJSON that adds up, a kill seen as
// events, the live view in a real terminal (tmux), and --fail-on-error for CI.
import { execFile, spawnSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drcon, e2eEngine, e2eEnv } from "./harness.js";

const run = promisify(execFile);
const engine = await e2eEngine();
const STACK = "e2ewatch";
const LB = 18280;
const CONSUL = 18580;
const flags = ["--stack", STACK];
const ROOT = join(import.meta.dirname, "..", "..");
const TMUX = `drcon-${STACK}`;
// A tmux server of the test's own, so that nobody's tmux sessions are touched.
const TMUX_SOCKET = ["-L", `drcon-${STACK}`];
const hasTmux = spawnSync("tmux", ["-V"]).status === 0;

interface Line {
  type: string;
  [key: string]: unknown;
}

function ndjson(stdout: string): Line[] {
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Line);
}

async function scale(n: number) {
  const res = await drcon(["scale", `simple=${n}`, ...flags]);
  expect(res.code, res.stderr).toBe(0);
}

async function tmux(...args: string[]): Promise<string> {
  return (await run("tmux", [...TMUX_SOCKET, ...args])).stdout;
}

/** Polls the terminal until `check` holds on what it shows; returns that screen. */
async function screenUntil(check: (screen: string) => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  let screen = "";
  while (Date.now() < deadline) {
    screen = await tmux("capture-pane", "-p", "-t", TMUX).catch(() => screen);
    if (check(screen)) return screen;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}; the screen:\n${screen}`);
}

describe.skipIf(!engine)("drcon watch", () => {
  beforeAll(async () => {
    await tmux("kill-server").catch(() => {});
    await drcon(["down", "--volumes", ...flags]);
    const up = await drcon(["up", ...flags, "--port", String(LB), "--consul-port", String(CONSUL)]);
    expect(up.code, up.stderr).toBe(0);
    await scale(3);
  });
  afterAll(async () => {
    await tmux("kill-server").catch(() => {});
    await drcon(["down", "--volumes", ...flags]);
  });

  it("--json: one request object per request; per-instance counts match the summary, 3 instances", async () => {
    const res = await drcon(["watch", ...flags, "--requests", "60", "--json", "--rate", "50"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe("");
    const lines = ndjson(res.stdout);
    expect(lines.every((l) => typeof l.type === "string")).toBe(true);
    expect(lines[0]?.type).toBe("start");
    const summary = lines[lines.length - 1] as Line & {
      total: number;
      failed: number;
      perInstance: Record<string, number>;
      ratePerSec: number;
    };
    expect(summary.type).toBe("summary");

    const requests = lines.filter((l) => l.type === "request");
    expect(requests).toHaveLength(60);
    expect(new Set(requests.map((r) => r.seq)).size).toBe(60);
    expect(requests.every((r) => r.status === 200 && r.ok === true)).toBe(true);
    const counts: Record<string, number> = {};
    for (const r of requests)
      counts[r.instance as string] = (counts[r.instance as string] ?? 0) + 1;
    expect(counts).toEqual(summary.perInstance);
    expect(Object.keys(counts).sort()).toEqual([
      `${STACK}-simple-1`,
      `${STACK}-simple-2`,
      `${STACK}-simple-3`,
    ]);
    expect(summary).toMatchObject({ total: 60, failed: 0 });
    expect(summary.ratePerSec).toBeGreaterThan(45);
    expect(summary.ratePerSec).toBeLessThan(55);

    const routing = lines.find((l) => l.type === "routing") as Line & {
      services: Array<{
        name: string;
        inSync: boolean;
        instances: Array<{ health: string; routed: boolean }>;
      }>;
    };
    const simple = routing.services.find((s) => s.name === "simple");
    expect(simple?.inSync).toBe(true);
    expect(simple?.instances.filter((i) => i.health === "passing" && i.routed)).toHaveLength(3);
  });

  it("--json: a crash during the run shows as events, Consul and the LB agreeing again", async () => {
    const watching = drcon(["watch", ...flags, "--duration", "5s", "--json", "--rate", "100"]);
    await new Promise((r) => setTimeout(r, 2000));
    const kill = await drcon(["kill", `${STACK}-simple-3`, ...flags]);
    expect(kill.code, kill.stderr).toBe(0);
    const res = await watching;
    expect(res.code, res.stderr).toBe(0);
    const lines = ndjson(res.stdout);
    const events = lines.filter((l) => l.type === "event");
    const kinds = events.map((e) => `${e.kind} ${e.instance ?? ""}`.trim());
    expect(kinds).toContain(`deregistered ${STACK}-simple-3`);
    expect(kinds).toContain(`lb-unrouted ${STACK}-simple-3`);
    const inSync = events.find((e) => e.kind === "in-sync");
    expect(inSync?.afterMs).toEqual(expect.any(Number));
    const summary = lines[lines.length - 1] as Line & {
      total: number;
      failed: number;
      failures: Record<string, number>;
    };
    expect(summary.type).toBe("summary");
    expect(summary.total).toBe(500);
    console.log(
      `watch through a SIGKILL: ${summary.total} requests, ${summary.failed} failed ${JSON.stringify(summary.failures)}; LB agreed with Consul ${inSync?.afterMs} ms after the deregistration`,
    );
    await scale(3);
  });

  it("plain lines when stdout is not a terminal, and one-line errors for bad flags", async () => {
    const res = await drcon(["watch", ...flags, "--requests", "5", "--rate", "20"]);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.split("\n");
    expect(
      lines.filter((l) => /#\d+ {2}200 {2}\S+ ms {2}e2ewatch-simple-\d$/.test(l)),
    ).toHaveLength(5);
    expect(res.stdout).toContain("Summary: 5 requests");
    for (const bad of [
      ["--rate", "0"],
      ["--rate", "9000"],
      ["--concurrency", "0"],
      ["--duration", "1s", "--requests", "5"],
      ["--service", "Bad_Name"],
    ]) {
      const r = await drcon(["watch", ...flags, ...bad]);
      expect(r.code, bad.join(" ")).not.toBe(0);
      expect(r.stderr.trim().split("\n"), bad.join(" ")).toHaveLength(1);
      expect(r.stderr, bad.join(" ")).toMatch(/^Error: --/);
    }
    const notUp = await drcon(["watch", "--stack", "e2enotthere", "--requests", "1"]);
    expect(notUp.stderr.trim()).toBe(
      "Error: stack e2enotthere is not up: run `drcon up --stack e2enotthere` first",
    );
  });

  it("on a terminal: a live table of the 3 instances that follows a kill, and the terminal back on Ctrl-C", async () => {
    if (!hasTmux) {
      if (process.env.DRCON_E2E === "required")
        throw new Error("tmux is missing: apt-get install tmux");
      console.warn("*** the terminal test skipped: tmux is missing (apt-get install tmux)");
      return;
    }
    const env = Object.entries(e2eEnv)
      .filter(([k, v]) => v !== undefined && (k.startsWith("DRCON_") || k === "NO_COLOR"))
      .map(([k, v]) => `${k}=${v}`);
    const command = [
      "env",
      ...env,
      process.execPath,
      join(ROOT, "bin", "run.js"),
      "watch",
      ...flags,
      "--rate",
      "20",
    ].join(" ");
    await tmux(
      "new-session",
      "-d",
      "-s",
      TMUX,
      "-x",
      "160",
      "-y",
      "50",
      `${command}; echo WATCH-EXIT=$?; sleep 120`,
    );

    const row = (n: number) => new RegExp(`${STACK}-simple-${n}\\s+\\S+:80\\s+passing\\s+routed`);
    const first = await screenUntil(
      (s) => [1, 2, 3].every((n) => row(n).test(s)) && /total [1-9]/.test(s),
      15_000,
      "the table shows three passing, routed instances and traffic",
    );
    expect(first).toContain("simple (default): Consul 3 passing, LB routes 3  in sync");
    expect((await tmux("display", "-p", "-t", TMUX, "#{alternate_on} #{cursor_flag}")).trim()).toBe(
      "1 0",
    );

    const kill = await drcon(["kill", `${STACK}-simple-2`, ...flags]);
    expect(kill.code, kill.stderr).toBe(0);
    const after = await screenUntil(
      (s) =>
        s.includes("Consul 2 passing, LB routes 2") &&
        new RegExp(`${STACK}-simple-2\\s+\\S+:80\\s+deregistered\\s+-`).test(s),
      15_000,
      "the table marks the killed instance deregistered and unrouted",
    );
    expect(after).toContain(`${STACK}-simple-2 deregistered`);
    expect(after).toMatch(/LB and Consul agree again after \d+ ms/);

    await tmux("send-keys", "-t", TMUX, "C-c");
    const end = await screenUntil((s) => s.includes("WATCH-EXIT="), 10_000, "watch exits");
    expect(end).toContain("WATCH-EXIT=0");
    expect(end).toMatch(/Summary: \d+ requests/);
    expect(end).toMatch(new RegExp(`${STACK}-simple-3\\s+\\d+`));
    // The normal screen is back, with its cursor.
    expect((await tmux("display", "-p", "-t", TMUX, "#{alternate_on} #{cursor_flag}")).trim()).toBe(
      "0 1",
    );
    await tmux("kill-session", "-t", TMUX);
  });

  it("--fail-on-error exits non-zero when requests fail (no instance of the service)", async () => {
    await scale(0);
    const res = await drcon([
      "watch",
      ...flags,
      "--requests",
      "5",
      "--rate",
      "20",
      "--fail-on-error",
    ]);
    expect(res.code).not.toBe(0);
    expect(res.stdout).toContain("failed by kind: 503 no instance 5");
    expect(res.stderr.trim()).toBe(
      "Error: 5 of 5 requests failed (503 no instance 5), and --fail-on-error was given",
    );
    const ok = await drcon(["watch", ...flags, "--requests", "3", "--rate", "20"]);
    expect(ok.code, "without --fail-on-error failures do not fail the command").toBe(0);
  });
});
