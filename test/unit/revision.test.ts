import { describe, expect, it } from "vitest";
import { REVISION } from "../../src/contract.js";
import { type ContainerDetails, demultiplexed } from "../../src/docker/engine.js";
import { respawnSpec } from "../../src/services/deploy.js";
import { deployTarget } from "../../src/stack/deploy-target.js";
import { appendRevision, KEPT_REVISIONS, parseHistory } from "../../src/stack/deployed.js";
import { imageTag, revisionOf } from "../../src/stack/revision.js";

const svc = { image: "traefik/whoami:v1.11.0", port: 80, replicas: 3, env: { A: "1" } };

describe("revisionOf", () => {
  it("is the image tag plus a short hash, and ignores the replica count and env order", () => {
    const r = revisionOf(svc);
    expect(r).toMatch(/^v1\.11\.0-[0-9a-f]{7}$/);
    expect(r).toMatch(REVISION);
    expect(revisionOf({ ...svc, replicas: 1 })).toBe(r);
    expect(revisionOf({ ...svc, env: { B: "2", A: "1" } })).toBe(
      revisionOf({ ...svc, env: { A: "1", B: "2" } }),
    );
  });

  it("changes with the image, an env value, the port or the health path", () => {
    const r = revisionOf(svc);
    expect(revisionOf({ ...svc, image: "traefik/whoami:v1.10.0" })).not.toBe(r);
    expect(revisionOf({ ...svc, env: { A: "2" } })).not.toBe(r);
    expect(revisionOf({ ...svc, port: 81 })).not.toBe(r);
    expect(revisionOf({ ...svc, healthPath: "/health" })).not.toBe(r);
  });

  it("takes the tag from any image reference", () => {
    expect(imageTag("localhost:5000/app")).toBe("latest");
    expect(imageTag("localhost:5000/app:2.0")).toBe("2.0");
    expect(imageTag("app@sha256:abc")).toBe("latest");
    expect(imageTag("drcon-ci/whoami:1.11.0")).toBe("1.11.0");
  });
});

describe("deploy history", () => {
  it("keeps the last revisions and drops anything that is not one", () => {
    let history = parseHistory(undefined);
    for (let i = 0; i < KEPT_REVISIONS + 2; i++) {
      history = appendRevision(history, { ...svc, env: { N: String(i) } }, new Date(0));
    }
    expect(history).toHaveLength(KEPT_REVISIONS);
    expect(parseHistory(JSON.stringify(history))).toEqual(history);
    expect(parseHistory("{")).toEqual([]);
    expect(parseHistory(JSON.stringify([{ ...history[0], revision: "x-0000000" }]))).toEqual([]);
  });
});

describe("deployTarget", () => {
  it("applies --image and --env over the configured spec", () => {
    expect(deployTarget(svc, "app:2", ["B=x=y", "A=3"])).toEqual({
      ...svc,
      image: "app:2",
      env: { A: "3", B: "x=y" },
    });
    expect(deployTarget(svc, undefined, [])).toEqual(svc);
  });

  it("refuses a bad image or env in one line", () => {
    expect(() => deployTarget(svc, "a b", [])).toThrow(/--image a b: write an image reference/);
    expect(() => deployTarget(svc, undefined, ["=1"])).toThrow(/--env =1: write NAME=VALUE/);
    expect(() => deployTarget(svc, undefined, ["X"])).toThrow(/--env X/);
  });
});

describe("respawnSpec", () => {
  it("makes an old instance again under another name and number, with its image, env and labels", () => {
    const details = {
      Id: "abc",
      Name: "/drcon-simple-1",
      Config: {
        Image: "app:1",
        Env: ["A=1", "SERVICE_80_NAME=simple"],
        Labels: { "io.drcon.instance": "1", "io.drcon.revision": "1-aaaaaaa" },
        ExposedPorts: { "80/tcp": {} },
      },
      HostConfig: { NetworkMode: "drcon", RestartPolicy: { Name: "always" } },
    } as unknown as ContainerDetails;
    expect(respawnSpec(details, "drcon-simple-7", 7)).toEqual({
      name: "drcon-simple-7",
      Image: "app:1",
      Env: ["A=1", "SERVICE_80_NAME=simple"],
      Labels: { "io.drcon.instance": "7", "io.drcon.revision": "1-aaaaaaa" },
      ExposedPorts: { "80/tcp": {} },
      HostConfig: { NetworkMode: "drcon", RestartPolicy: { Name: "always" } },
    });
  });
});

describe("demultiplexed", () => {
  it("reads the engine's framed log stream, and plain text as it is", () => {
    const frame = (stream: number, text: string) => {
      const body = Buffer.from(text);
      const head = Buffer.alloc(8);
      head[0] = stream;
      head.writeUInt32BE(body.length, 4);
      return Buffer.concat([head, body]);
    };
    expect(demultiplexed(Buffer.concat([frame(1, "a\n"), frame(2, "b\n")]))).toBe("a\nb\n");
    expect(demultiplexed(Buffer.from("plain text\n"))).toBe("plain text\n");
  });
});
