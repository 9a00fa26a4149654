// The images `up` runs: a pull on a machine that reaches no registry (these test machines, as
// CI, reach none: the pull fails for real), Consul's data volume, which records the Consul image
// that made it and is refused to another, and the demo image's health endpoint (the stand-in's
// is traefik/whoami's) driving drcon's HTTP health check.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../src/base/wait.js";
import { LABELS } from "../../src/contract.js";
import { fetchRoutes } from "../../src/stack/lb-routes.js";
import { drcon, e2eEngine, e2eEnv, get, leftovers } from "./harness.js";

const run = promisify(execFile);
const engine = await e2eEngine();
const STACK = "fmimages";
const flags = ["--stack", STACK, "--port", "19630", "--consul-port", "19631"];
const VOLUME = `${STACK}-consul-data`;
const STAND_IN_CONSUL = String(e2eEnv.DRCON_IMAGE_CONSUL);
/** The same Consul under another name: to drcon, another Consul image. */
const OTHER_CONSUL = "drcon-e2e/consul:other";
const HEALTH_STACK = "fmhealth";
const HEALTH_LB = "http://127.0.0.1:19632";

/** The one line a failed command ends with, and that there is only one such line. */
function errorLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines.filter((l) => l.startsWith("Error:"))).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines.at(-1) ?? "";
}

describe.skipIf(!engine)("images", () => {
  const docker = engine as NonNullable<typeof engine>;
  beforeAll(async () => {
    await drcon(["down", "--volumes", "--stack", STACK]);
    await run("docker", ["tag", STAND_IN_CONSUL, OTHER_CONSUL]);
  });
  afterAll(async () => {
    await drcon(["down", "--volumes", "--stack", STACK]);
    await drcon(["down", "--volumes", "--stack", HEALTH_STACK]);
    await run("docker", ["rmi", OTHER_CONSUL]).catch(() => undefined);
  });

  it("up fails in one line saying what to do when no registry is reachable, and makes nothing", async () => {
    const absent = "drcon-e2e/absent-consul:offline";
    const res = await drcon(["up", ...flags, "--pull", "missing"], { DRCON_IMAGE_CONSUL: absent });
    expect(res.code).toBe(1);
    const line = errorLine(res.stderr);
    console.log(`offline pull: ${line}`);
    expect(line).toMatch(
      new RegExp(`^Error: could not pull ${absent}: no registry reachable \\(.+\\): `),
    );
    expect(line).toContain("`npm run up:offline`");
    expect(await leftovers(docker, STACK)).toEqual({ containers: [], networks: [], volumes: [] });
  });

  it("records the Consul image on Consul's volume, and refuses the volume to another Consul image", async () => {
    const up = await drcon(["up", ...flags]);
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    expect((await docker.volumeLabels(VOLUME))?.[LABELS.consulImage]).toBe(STAND_IN_CONSUL);
    const consulBefore = await docker.inspectContainer(`${STACK}-consul`);

    const other = await drcon(["up", ...flags], { DRCON_IMAGE_CONSUL: OTHER_CONSUL });
    expect(other.code).toBe(1);
    expect(errorLine(other.stderr)).toBe(
      `Error: volume ${VOLUME} holds the data of ${STAND_IN_CONSUL}, which Consul does not support moving to ${OTHER_CONSUL}: run \`drcon down --stack ${STACK} --volumes\` to start afresh, or keep the old image with DRCON_IMAGE_CONSUL=${STAND_IN_CONSUL}`,
    );
    // The running stack is left as it was.
    const consulAfter = await docker.inspectContainer(`${STACK}-consul`);
    expect(consulAfter?.Id).toBe(consulBefore?.Id);
    expect(consulAfter?.State.Running).toBe(true);
    expect((await docker.volumeLabels(VOLUME))?.[LABELS.consulImage]).toBe(STAND_IN_CONSUL);

    // Both ways out the message names work.
    const kept = await drcon(["up", ...flags], { DRCON_IMAGE_CONSUL: STAND_IN_CONSUL });
    expect(kept.code).toBe(0);
    expect((await drcon(["down", "--stack", STACK, "--volumes"])).code).toBe(0);
    const afresh = await drcon(["up", ...flags], { DRCON_IMAGE_CONSUL: OTHER_CONSUL });
    expect(afresh.stderr).toBe("");
    expect(afresh.code).toBe(0);
    expect((await docker.volumeLabels(VOLUME))?.[LABELS.consulImage]).toBe(OTHER_CONSUL);
  });

  it("an instance whose /health is set to 503 (POST /health with a JSON number) leaves the LB", async () => {
    const dir = mkdtempSync(join(tmpdir(), "drcon-e2e-health-"));
    const config = join(dir, "drcon.yml");
    writeFileSync(config, "services:\n  simple:\n    replicas: 2\n    healthPath: /health\n");
    const health = ["--config", config, "--stack", HEALTH_STACK];
    await drcon(["down", "--volumes", ...health]);
    const up = await drcon(["up", ...health, "--port", "19632", "--consul-port", "19633"]);
    expect(up.code, up.stderr).toBe(0);
    const scaled = await drcon(["scale", ...health]);
    expect(scaled.code, scaled.stderr).toBe(0);
    expect((await fetchRoutes(HEALTH_LB)).services.simple).toHaveLength(2);

    // As traefik/whoami: GET /health is an empty 200; POST takes the code it answers from then on.
    const ok = await fetch(`${HEALTH_LB}/health`);
    expect([ok.status, await ok.text()]).toEqual([200, ""]);
    const set = await fetch(`${HEALTH_LB}/health`, { method: "POST", body: "503" });
    expect(set.status).toBe(200);
    const sick = set.headers.get("x-drcon-upstream");
    expect(sick).toBeTruthy();

    const started = Date.now();
    const routed = await waitFor(async () => {
      const simple = (await fetchRoutes(HEALTH_LB)).services.simple ?? [];
      return simple.length === 1 && !simple.includes(String(sick)) ? simple : undefined;
    }, "the LB to drop the instance whose /health answers 503");
    console.log(`/health 503: left the LB ${Date.now() - started} ms after the POST`);
    // Each on a fresh connection, as /routes is read: a connection kept alive from before the
    // reload gets one more answer from the old worker, with the routes it had (the LB's template,
    // keepalive_min_timeout).
    for (let i = 0; i < 5; i++) {
      const res = await get(`${HEALTH_LB}/`);
      expect(res.status).toBe(200);
      expect(res.upstream).toBe(routed[0]);
    }
  });
});
