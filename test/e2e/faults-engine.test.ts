// Issue 9 row 15: the Docker engine restarts or crashes with the stack up. The engine is one of
// the test's own (test/e2e/inner-engine.ts: Debian's dockerd in a container), so that the host's
// engine, which other tests use, is never touched. Slow and special: it runs only when
// DRCON_E2E_ENGINE is set (its own step in .ci/run), and needs `test/images/build.sh dind`.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../src/base/wait.js";
import { LABELS } from "../../src/contract.js";
import { drcon, e2eEngine, e2eEnv } from "./harness.js";
import { DIND_IMAGE, INNER_SOCKET, InnerEngine } from "./inner-engine.js";

const STACK = "fe-eng";
const LB = 19580;
const CONSUL = 19581;
const flags = ["--stack", STACK, "--port", String(LB), "--consul-port", String(CONSUL)];
const lbUrl = `http://127.0.0.1:${LB}/`;
const REPLICAS = 3;

const wanted = process.env.DRCON_E2E_ENGINE;
const host = wanted ? await e2eEngine() : undefined;
const ready = host ? await host.imageExists(DIND_IMAGE) : false;
if (wanted === "required" && !ready) {
  throw new Error(
    `DRCON_E2E_ENGINE=required: ${DIND_IMAGE} missing: run bash test/images/build.sh dind`,
  );
}
if (!wanted) {
  console.warn(
    "*** engine-fault tests skipped: set DRCON_E2E_ENGINE=1 (they start an engine of their own)",
  );
}

interface ProbeLine {
  t: number;
  status: number;
}

/** lb-probe.mjs in the inner engine's network namespace: the LB's status changes, as they come. */
function startProbe(netns: string): { lines: ProbeLine[]; child: ChildProcess } {
  const lines: ProbeLine[] = [];
  const child = spawn("nsenter", [
    `--net=${netns}`,
    process.execPath,
    join(import.meta.dirname, "lb-probe.mjs"),
    lbUrl,
    "300",
  ]);
  let buffer = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as ProbeLine);
  });
  return { lines, child };
}

/** The probe's lines as "status for ms" spans, the last one open. */
function outages(lines: ProbeLine[]): string[] {
  return lines.map((l, i) => {
    const next = lines[i + 1];
    return `${l.status || "no answer"}${next ? ` for ${next.t - l.t} ms` : ""}`;
  });
}

describe.skipIf(!wanted || !host)("the Docker engine restarts or crashes with the stack up", () => {
  const inner = new InnerEngine("fe-dind");
  let via: string[] = [];
  let netns = "";
  const env = { DOCKER_HOST: inner.dockerHost, DRCON_DOCKER_SOCKET: INNER_SOCKET };
  const cli = (args: string[]) => drcon(args, env, 300_000, via);

  interface Status {
    up: boolean;
    components: Array<{ role: string; state: string; health: string }>;
    services: Array<{ name: string; instances: Array<{ name: string; routed: boolean }> }>;
    attention: string[];
  }
  const status = async (): Promise<{ code: number; report: Status }> => {
    const res = await cli(["status", "--json", ...flags.slice(0, 2)]);
    return { code: res.code, report: JSON.parse(res.stdout) as Status };
  };
  const routedCount = (report: Status) =>
    report.services.find((s) => s.name === "simple")?.instances.filter((i) => i.routed).length ?? 0;
  /** Waits until `status` says up with `count` instances routed; that report. */
  const allRouted = (count: number) =>
    waitFor(
      async () => {
        const { code, report } = await status();
        return code === 0 && report.up && routedCount(report) === count ? report : undefined;
      },
      `status up with ${count} instances routed`,
      { timeoutMs: 90_000 },
    );

  /**
   * Runs `fault` (which stops or kills the inner dockerd), starts the engine again and waits
   * until the LB answers 200 again. Returns when the engine answered again, and ms to that 200
   * from the engine's start and from its first answer (dockerd restarts containers before its API
   * answers, so the second can be negative).
   */
  async function faultAndBack(
    fault: () => Promise<void>,
    daemonFlags = "",
  ): Promise<{ engineBack: number; fromStartMs: number; fromAnswerMs: number }> {
    const probe = startProbe(netns);
    try {
      await waitFor(
        async () => (probe.lines.at(-1)?.status === 200 ? true : undefined),
        "the LB answering 200 before the fault",
        { timeoutMs: 30_000 },
      );
      const before = probe.lines.length;
      await fault();
      const started = Date.now();
      await inner.startDaemon(daemonFlags);
      const engineBack = Date.now();
      const lb200 = await waitFor(
        async () => {
          const since = probe.lines.slice(before);
          const last = since.at(-1);
          return since.some((l) => l.status !== 200) && last?.status === 200 ? last.t : undefined;
        },
        "the LB answering 200 again after the engine came back",
        { timeoutMs: 120_000 },
      );
      return { engineBack, fromStartMs: lb200 - started, fromAnswerMs: lb200 - engineBack };
    } finally {
      probe.child.kill("SIGTERM");
    }
  }

  /** The fault, then: every container running again, the LB routing to every instance. */
  async function backByItself(label: string, fault: () => Promise<void>): Promise<void> {
    const { engineBack, fromStartMs, fromAnswerMs } = await faultAndBack(fault);
    await waitFor(
      async () => {
        const running = (await stackContainers()).filter((c) => c.State === "running");
        return running.length === 3 + REPLICAS ? true : undefined;
      },
      `all ${3 + REPLICAS} containers running again`,
      { timeoutMs: 60_000 },
    );
    const report = await allRouted(REPLICAS);
    console.log(
      `${label}: LB answered 200 ${fromStartMs} ms after dockerd was started again (${fromAnswerMs} ms after its API answered); status showed all ${REPLICAS} instances routed ${Date.now() - engineBack} ms after the API answered`,
    );
    expect(report.attention).toEqual([]);
  }

  const stackContainers = () => inner.engine.listContainers({ [LABELS.stack]: STACK });

  beforeAll(async () => {
    await inner.start();
    await inner.load(
      [
        e2eEnv.DRCON_IMAGE_CONSUL,
        e2eEnv.DRCON_IMAGE_CONSUL_TEMPLATE,
        e2eEnv.DRCON_IMAGE_NGINX,
        e2eEnv.DRCON_IMAGE_NODE,
        e2eEnv.DRCON_IMAGE_DEMO,
      ].filter((i): i is string => Boolean(i)),
    );
    netns = await inner.netns();
    via = ["nsenter", `--net=${netns}`];
    const up = await cli(["up", ...flags]);
    expect(up.code, `${up.stderr}\n${up.stdout}`).toBe(0);
    const scale = await cli(["scale", `simple=${REPLICAS}`, ...flags.slice(0, 2)]);
    expect(scale.code, scale.stderr).toBe(0);
  }, 600_000);

  afterAll(async () => {
    if (process.env.DRCON_DIND_KEEP) return;
    await cli(["down", "--volumes", ...flags.slice(0, 2)]);
    await inner.remove();
  }, 180_000);

  it("the registrator gets the engine's own socket (DRCON_DOCKER_SOCKET), which doctor names", async () => {
    const doctor = await cli(["doctor", ...flags.slice(0, 2)]);
    expect(doctor.code, doctor.stderr).toBe(0);
    expect(doctor.stdout).toContain(`the registrator gets ${INNER_SOCKET} (DRCON_DOCKER_SOCKET)`);
    const registrator = await inner.engine.inspectContainer(`${STACK}-registrator`);
    expect(registrator?.HostConfig.Binds).toEqual([`${INNER_SOCKET}:/var/run/docker.sock`]);
  });

  it("after a normal engine restart, everything comes back by itself and the LB routes again", async () => {
    await backByItself("engine restart", () => inner.stopDaemon());
  }, 300_000);

  it("after an engine crash (kill -9 of dockerd), everything comes back by itself and the LB routes again", async () => {
    await backByItself("engine crash", () => inner.crashDaemon());
  }, 300_000);

  it("status flags a stale registrator and stopped containers, exits 1 when not up, and up repairs them", async () => {
    const kill = await cli(["kill", `${STACK}-simple-2`, ...flags.slice(0, 2)]);
    expect(kill.code, kill.stderr).toBe(0);
    // A registrator that runs but does nothing (frozen): its sync goes stale.
    await inner.engine.killContainer(`${STACK}-registrator`, "SIGSTOP");
    const stale = await waitFor(
      async () => {
        const { code, report } = await status();
        const health = report.components.find((c) => c.role === "registrator")?.health ?? "";
        return code === 0 && health.startsWith("sync stale") ? report : undefined;
      },
      "status to call the registrator's sync stale",
      { timeoutMs: 90_000 },
    );
    expect(stale.attention.join("\n")).toMatch(/registrator has not synced for \d+ s/);
    expect(stale.attention.join("\n")).toContain(`not running: ${STACK}-simple-2 (exited)`);

    await inner.engine.stopContainer(`${STACK}-lb`, 10);
    const down = await status();
    expect(down.code).toBe(1);
    expect(down.report.up).toBe(false);
    expect(down.report.attention.join("\n")).toContain(`${STACK}-lb (exited)`);

    const up = await cli(["up", ...flags]);
    expect(up.code, `${up.stderr}\n${up.stdout}`).toBe(0);
    expect(up.stdout).toContain("restarted: its sync was stale");
    expect(up.stdout).toContain(`started again ${STACK}-simple-2`);
    const report = await allRouted(REPLICAS);
    expect(report.attention).toEqual([]);
  }, 300_000);

  it("after a live-restore restart, the registrator takes the engine's new socket by itself", async () => {
    // Into live-restore mode (a normal restart), then a restart that keeps the containers running.
    await faultAndBack(() => inner.stopDaemon(), "--live-restore");
    await allRouted(REPLICAS);
    const before = await inner.engine.inspectContainer(`${STACK}-registrator`);
    const probe = startProbe(netns);
    await inner.stopDaemon();
    await inner.startDaemon("--live-restore");
    const back = Date.now();
    // Its mounted socket is the old one: it exits, and its restart policy mounts the new one.
    const restarted = await waitFor(
      async () => {
        const now = await inner.engine.inspectContainer(`${STACK}-registrator`);
        return now?.State.Running && now.State.StartedAt !== before?.State.StartedAt
          ? now
          : undefined;
      },
      "the registrator to restart on the new socket",
      { timeoutMs: 90_000 },
    );
    console.log(
      `live-restore restart: registrator restarted ${Date.parse(restarted.State.StartedAt) - back} ms after the engine answered again`,
    );
    probe.child.kill("SIGTERM");
    console.log(`live-restore restart: LB status changes ${JSON.stringify(outages(probe.lines))}`);
    const scale = await cli(["scale", `simple=${REPLICAS + 1}`, ...flags.slice(0, 2)]);
    expect(scale.code, scale.stderr).toBe(0);
    await allRouted(REPLICAS + 1);
  }, 300_000);
});
