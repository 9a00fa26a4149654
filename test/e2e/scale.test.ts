// drcon scale / kill on a real engine: instances come and go while requests flow, and none drops.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drcon, e2eEngine, e2eEnv, get, instanceContainers } from "./harness.js";

const engine = await e2eEngine();
const STACK = "e2escale";
const LB = 18180;
const flags = ["--stack", STACK];
const lb = `http://127.0.0.1:${LB}`;

async function instances(): Promise<string[]> {
  const list = await instanceContainers(engine as NonNullable<typeof engine>, STACK);
  return list.map((c) => `${c.Names[0]?.slice(1)}:${c.State}`).sort();
}

describe.skipIf(!engine)("drcon scale / kill", () => {
  beforeAll(async () => {
    await drcon(["down", "--volumes", ...flags]);
    const up = await drcon(["up", ...flags, "--port", String(LB), "--consul-port", "18510"]);
    expect(up.code, up.stderr).toBe(0);
  });
  afterAll(async () => {
    await drcon(["down", "--volumes", ...flags]);
  });

  it("refuses bad input with one line and changes nothing", async () => {
    const before = await instances();
    for (const arg of [
      "simple=abc",
      "simple=-1",
      "=3",
      "x;}=2",
      "Simple=2",
      "simple=51",
      "web=2",
    ]) {
      const res = await drcon(["scale", arg, ...flags]);
      expect(res.code, arg).not.toBe(0);
      expect(res.stderr.trim().split("\n"), arg).toHaveLength(1);
      expect(res.stderr, arg).toMatch(/^Error: /);
    }
    const notUp = await drcon(["scale", "simple=1", "--stack", "e2enotthere"]);
    expect(notUp.code).not.toBe(0);
    expect(notUp.stderr.trim()).toBe(
      "Error: stack e2enotthere is not up: run `drcon up --stack e2enotthere` first",
    );
    expect(await instances()).toEqual(before);
  });

  it("scale simple=3: 30 requests through the LB reach 3 distinct instances", async () => {
    const res = await drcon(["scale", "simple=3", ...flags, "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const json = JSON.parse(res.stdout);
    expect(json.services[0].started).toEqual([
      `${STACK}-simple-1`,
      `${STACK}-simple-2`,
      `${STACK}-simple-3`,
    ]);
    expect(await instances()).toEqual([1, 2, 3].map((n) => `${STACK}-simple-${n}:running`));
    const upstreams = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await get(lb);
      expect(r.status).toBe(200);
      upstreams.add(String(r.upstream));
    }
    expect(upstreams.size).toBe(3);
  });

  it("drops no request while scaling 3 -> 1 -> 3 and killing two instances", async () => {
    // The load is drcon's own request loop: 20 requests/s for 15 s, every one recorded.
    const traffic = drcon(["watch", "--rate", "20", "--duration", "15s", "--json", ...flags]);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await drcon(["scale", "simple=1", ...flags])).code).toBe(0);
    expect((await drcon(["scale", "simple=3", ...flags])).code).toBe(0);
    const k1 = await drcon(["kill", "simple", ...flags]);
    expect(k1.code, k1.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    const k2 = await drcon(["kill", "simple", ...flags]);
    expect(k2.code, k2.stderr).toBe(0);
    const watched = await traffic;
    expect(watched.code, watched.stderr).toBe(0);
    const events = watched.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const requests = events.filter((e) => e.type === "request");
    expect(requests).toHaveLength(300);
    expect(requests.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.error}`)).toEqual(
      [],
    );
    expect(events.find((e) => e.type === "summary")?.failed).toBe(0);
    console.log(`zero-drop: ${requests.length} requests, all 200`);
    expect((await instances()).filter((i) => i.endsWith(":running"))).toHaveLength(1);
  });

  it("two scales at once never overshoot and leave no orphans", async () => {
    const [a, b] = await Promise.all([
      drcon(["scale", "simple=4", ...flags]),
      drcon(["scale", "simple=4", ...flags]),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(await instances()).toEqual([1, 2, 3, 4].map((n) => `${STACK}-simple-${n}:running`));
  });

  it("scale simple=0 gives 503 naming the service; scale simple=1 brings it back", async () => {
    expect((await drcon(["scale", "simple=0", ...flags])).code).toBe(0);
    expect(await instances()).toEqual([]);
    const empty = await get(lb);
    expect(empty.status).toBe(503);
    expect(empty.body).toContain('"simple"');
    expect((await drcon(["scale", "simple=1", ...flags])).code).toBe(0);
    expect((await get(lb)).status).toBe(200);
  });

  it("kill --every --for --restart keeps killing on a schedule and brings the count back", async () => {
    expect((await drcon(["scale", "simple=3", ...flags])).code).toBe(0);
    const res = await drcon([
      "kill",
      "simple",
      "--count",
      "2",
      "--every",
      "1s",
      "--for",
      "2500ms",
      "--restart",
      "--json",
      ...flags,
    ]);
    expect(res.code, res.stderr).toBe(0);
    const { rounds } = JSON.parse(res.stdout) as {
      rounds: Array<{ killed: string[]; restarted: string[] }>;
    };
    expect(rounds.length).toBeGreaterThanOrEqual(2);
    for (const round of rounds) {
      expect(round.killed).toHaveLength(2);
      expect(round.restarted.sort()).toEqual(round.killed.sort());
    }
    expect(await instances()).toEqual([1, 2, 3].map((n) => `${STACK}-simple-${n}:running`));
    const upstreams = new Set<string>();
    for (let i = 0; i < 60 && upstreams.size < 3; i++)
      upstreams.add(String((await get(lb)).upstream));
    expect(upstreams.size).toBe(3);
  });

  it("scale fails at once, in one line, when a new instance stops before it joins", async () => {
    // The Node image with no program and no input exits at once.
    const res = await drcon([
      "scale",
      "crashy=1",
      "--image",
      String(e2eEnv.DRCON_IMAGE_NODE),
      ...flags,
    ]);
    expect(res.code).not.toBe(0);
    expect(res.stderr.trim().split("\n").at(-1)).toBe(
      `Error: ${STACK}-crashy-1 stopped before it joined the LB (exit code 0): see \`docker logs ${STACK}-crashy-1\`, then run drcon scale again`,
    );
    const again = await drcon([
      "scale",
      "crashy=0",
      "--image",
      String(e2eEnv.DRCON_IMAGE_NODE),
      ...flags,
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect((await instances()).filter((i) => i.includes("crashy"))).toEqual([]);
  });

  it("kill names unknown targets clearly", async () => {
    const res = await drcon(["kill", "nosuch", ...flags]);
    expect(res.code).not.toBe(0);
    expect(res.stderr.trim()).toBe(
      `Error: no service or instance named nosuch in stack ${STACK} (services: simple)`,
    );
  });
});
