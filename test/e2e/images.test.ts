// The images `up` runs: a pull on a machine that reaches no registry (these test machines, as
// CI, reach none: the pull fails for real), and Consul's data volume, which records the Consul
// image that made it and is refused to another.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSUL_IMAGE_LABEL } from "../../src/stack/components.js";
import { drcon, e2eEngine, e2eEnv, leftovers } from "./harness.js";

const run = promisify(execFile);
const engine = await e2eEngine();
const STACK = "fmimages";
const flags = ["--stack", STACK, "--port", "19630", "--consul-port", "19631"];
const VOLUME = `${STACK}-consul-data`;
const STAND_IN_CONSUL = String(e2eEnv.DRCON_IMAGE_CONSUL);
/** The same Consul under another name: to drcon, another Consul image. */
const OTHER_CONSUL = "drcon-e2e/consul:other";

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
    expect((await docker.volumeLabels(VOLUME))?.[CONSUL_IMAGE_LABEL]).toBe(STAND_IN_CONSUL);
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
    expect((await docker.volumeLabels(VOLUME))?.[CONSUL_IMAGE_LABEL]).toBe(STAND_IN_CONSUL);

    // Both ways out the message names work.
    const kept = await drcon(["up", ...flags], { DRCON_IMAGE_CONSUL: STAND_IN_CONSUL });
    expect(kept.code).toBe(0);
    expect((await drcon(["down", "--stack", STACK, "--volumes"])).code).toBe(0);
    const afresh = await drcon(["up", ...flags], { DRCON_IMAGE_CONSUL: OTHER_CONSUL });
    expect(afresh.stderr).toBe("");
    expect(afresh.code).toBe(0);
    expect((await docker.volumeLabels(VOLUME))?.[CONSUL_IMAGE_LABEL]).toBe(OTHER_CONSUL);
  });
});
