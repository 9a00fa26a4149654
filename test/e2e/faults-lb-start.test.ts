// The LB's first start while Consul does not answer (frozen with docker pause): nginx must start
// on its bootstrap configuration after the entrypoint's 10 s first-render limit, answer 503
// meanwhile, and take the real routes once Consul answers again. And an nginx image too old
// for the LB's configuration: `up` fails in one line that names the fix, and leaves nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, drcon, e2eEngine, e2eEnv, get, leftovers, until } from "./harness.js";

const engine = await e2eEngine();
const STACK = "flstart";
const LB_PORT = 19840;
const CONSUL_PORT = 19841;
const upFlags = ["--stack", STACK, "--port", String(LB_PORT), "--consul-port", String(CONSUL_PORT)];
/** A second LB, started by hand from the stack LB's own image and settings. */
const probeLb = `${STACK}-lb-first-start`;

describe.skipIf(!engine)("the LB's first start without Consul", () => {
  beforeAll(async () => {
    await drcon(["down", "--stack", STACK, "--volumes"]);
    const up = await drcon(["up", ...upFlags, "--pull", "never"]);
    expect(up.code, up.stderr).toBe(0);
    const scale = await drcon(["scale", "simple=1", "--stack", STACK]);
    expect(scale.code, scale.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await docker("unpause", `${STACK}-consul`).catch(() => "");
    await docker("rm", "-f", probeLb).catch(() => "");
    await drcon(["down", "--stack", STACK, "--volumes"]);
  }, 120_000);

  it("serves its bootstrap 503 while Consul is frozen, then the routes once it answers", async () => {
    const lb = JSON.parse(await docker("inspect", `${STACK}-lb`))[0];
    await docker("pause", `${STACK}-consul`);
    const env = (lb.Config.Env as string[]).flatMap((e) => ["--env", e]);
    await docker(
      "run",
      "-d",
      "--name",
      probeLb,
      "--network",
      STACK,
      "--publish",
      "127.0.0.1::80",
      ...env,
      lb.Config.Image,
    );
    const port = (await docker("port", probeLb, "80/tcp")).split("\n")[0]?.split(":").pop();
    const url = `http://127.0.0.1:${port}/`;
    // Generous: the entrypoint gives its first render 10 s, then nginx starts.
    const started = await until(
      async () => (await get(url)).status === 503,
      60_000,
      "bootstrap 503",
    );
    const answer = await get(url);
    expect(answer.body).toContain("no routes from Consul yet");
    console.log(`LB answered its bootstrap 503 ${started} ms after docker run, Consul frozen`);

    await docker("unpause", `${STACK}-consul`);
    const routed = await until(async () => (await get(url)).status === 200, 60_000, "routed 200");
    console.log(`LB routed 200 ${routed} ms after Consul was unpaused`);
  }, 180_000);
});

describe.skipIf(!engine)("an nginx image older than the LB needs", () => {
  const stack = "flold";
  const flags = ["--stack", stack, "--port", "19842", "--consul-port", "19843"];
  afterAll(async () => {
    await drcon(["down", "--stack", stack, "--volumes"]);
  }, 120_000);

  it("up fails in one line naming the setting, and removes what it made", async () => {
    // Debian bookworm's nginx 1.22 (test/images/build.sh): a real nginx without keepalive_min_timeout.
    const old = String(e2eEnv.DRCON_CI_OLD_NGINX);
    const up = await drcon(["up", ...flags], { DRCON_IMAGE_NGINX: old });
    console.log(`up with ${old}: exit ${up.code}; stderr: ${up.stderr.trim()}`);
    expect(up.code).toBe(1);
    const lines = up.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /flold-lb stopped instead of answering: .*nginx 1\.22\.\d+ is older than 1\.27\.4/,
    );
    expect(lines[0]).toContain("DRCON_IMAGE_NGINX");
    expect(await leftovers(engine as NonNullable<typeof engine>, stack)).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  }, 180_000);
});
