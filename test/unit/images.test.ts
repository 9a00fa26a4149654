import { describe, expect, it } from "vitest";
import { DrconError } from "../../src/base/errors.js";
import type { DockerEngine } from "../../src/docker/engine.js";
import { ensureImage, registryUnreachable } from "../../src/services/images.js";

describe("ensureImage", () => {
  const failingPull = (err: Error) =>
    ({
      imageExists: async () => false,
      pullImage: async () => {
        throw err;
      },
    }) as unknown as DockerEngine;

  it("passes an engine that cannot be reached on as it is, by its kind", async () => {
    const unreachable = new DrconError("no engine", { kind: "engine-unreachable" });
    const err = await ensureImage(failingPull(unreachable), "x:1", "missing", () => {}).catch(
      (e: unknown) => e,
    );
    expect(err).toBe(unreachable);
  });

  it("words any other failed pull as one that names the image", async () => {
    const err = await ensureImage(
      failingPull(new Error("denied")),
      "x:1",
      "missing",
      () => {},
    ).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^could not pull x:1 \(denied\)/);
  });
});

describe("registryUnreachable", () => {
  it("names the registry and the reason when no registry answers", () => {
    expect(
      registryUnreachable(
        '(HTTP code 500) server error - Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host',
      ),
    ).toBe("registry-1.docker.io: no such host");
    // Docker 29 with the containerd image store words it differently.
    expect(
      registryUnreachable(
        'failed to resolve reference "docker.io/library/nginx:1.28.0-alpine": failed to do request: Head "https://registry-1.docker.io/v2/library/nginx/manifests/1.28.0-alpine": dial tcp: lookup registry-1.docker.io on 127.0.0.11:53: server misbehaving',
      ),
    ).toBe("registry-1.docker.io: server misbehaving");
    expect(
      registryUnreachable(
        'Get "https://registry-1.docker.io/v2/": dial tcp 54.236.113.205:443: connect: network is unreachable',
      ),
    ).toBe("registry-1.docker.io: network is unreachable");
    expect(
      registryUnreachable(
        'Get "https://registry-1.docker.io/v2/": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)',
      ),
    ).toBe(
      "registry-1.docker.io: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)",
    );
  });

  it("leaves other pull failures alone", () => {
    expect(
      registryUnreachable(
        "pull access denied for drcon/nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      ),
    ).toBeUndefined();
    expect(
      registryUnreachable("manifest for nginx:0.0.1 not found: manifest unknown: manifest unknown"),
    ).toBeUndefined();
  });
});
