// The Docker door on a real engine: a labelled network, the stand-in Consul on 127.0.0.1 with a
// leader, and a label-scoped clean-up that leaves nothing behind.
import { afterAll, describe, expect, it } from "vitest";
import { ConsulApi } from "../../src/consul/client.js";
import { LABELS } from "../../src/contract.js";
import { isPortFree } from "../../src/stack/ports.js";
import { e2eEngine, e2eEnv, leftovers } from "./harness.js";

const engine = await e2eEngine();
const STACK = "e2efoundation";
const PORT = 18500;
const labels = { [LABELS.stack]: STACK, [LABELS.role]: "consul" };

describe.skipIf(!engine)("Docker module on a real engine", () => {
  const docker = engine as NonNullable<typeof engine>;

  async function cleanUp() {
    for (const c of await docker.listContainers({ [LABELS.stack]: STACK }))
      await docker.removeContainer(c.Id);
    for (const n of await docker.listNetworks({ [LABELS.stack]: STACK }))
      await docker.removeNetwork(n.Id);
    for (const v of await docker.listVolumes({ [LABELS.stack]: STACK }))
      await docker.removeVolume(v);
  }

  afterAll(cleanUp);

  it("starts Consul on a labelled network, published on 127.0.0.1 only, and it elects a leader", async () => {
    await cleanUp();
    const made = await docker.ensureNetwork(STACK, labels);
    expect(made.created).toBe(true);
    expect(await docker.ensureNetwork(STACK, labels)).toEqual({ id: made.id, created: false });
    const id = await docker.createContainer({
      name: `${STACK}-consul`,
      Image: e2eEnv.DRCON_IMAGE_CONSUL,
      Entrypoint: ["/bin/consul"],
      Cmd: ["agent", "-dev", "-client=0.0.0.0"],
      Labels: labels,
      ExposedPorts: { "8500/tcp": {} },
      HostConfig: {
        NetworkMode: STACK,
        PortBindings: { "8500/tcp": [{ HostIp: "127.0.0.1", HostPort: String(PORT) }] },
      },
    });
    await docker.startContainer(id);
    const details = await docker.inspectContainer(id);
    expect(details?.NetworkSettings.Ports["8500/tcp"]).toEqual([
      { HostIp: "127.0.0.1", HostPort: String(PORT) },
    ]);
    expect(details?.NetworkSettings.Networks[STACK]?.IPAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await isPortFree("127.0.0.1", PORT)).toBe(false);
    const leader = await new ConsulApi("127.0.0.1", PORT).waitForLeader(30_000);
    expect(leader).toMatch(/:8300$/);
  });

  it("removes everything carrying the stack's label and nothing is left", async () => {
    await cleanUp();
    expect(await leftovers(docker, STACK)).toEqual({ containers: [], networks: [], volumes: [] });
    expect(await isPortFree("127.0.0.1", PORT)).toBe(true);
  });
});
