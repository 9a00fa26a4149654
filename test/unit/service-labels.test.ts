import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { instanceSpec } from "../../src/stack/components.js";
import { serviceFromLabels } from "../../src/stack/instances.js";

const config = loadConfig({ cwd: "/nonexistent-dir", env: {} });

describe("a service's settings carried by its instances' labels", () => {
  it("reads back what instanceSpec wrote (the env stays in the config)", () => {
    const svc = { image: "w:1", port: 8080, replicas: 3, env: { A: "b" }, healthPath: "/health" };
    const labels = instanceSpec(config, "web", svc, 2).Labels ?? {};
    expect(labels).toMatchObject({
      "io.drcon.image": "w:1",
      "io.drcon.port": "8080",
      "io.drcon.health-path": "/health",
    });
    expect(serviceFromLabels(labels)).toEqual({
      image: "w:1",
      port: 8080,
      replicas: 0,
      env: {},
      healthPath: "/health",
    });
    const plain = instanceSpec(config, "web", { ...svc, healthPath: undefined }, 1).Labels ?? {};
    expect(plain["io.drcon.health-path"]).toBeUndefined();
    expect(serviceFromLabels(plain)?.healthPath).toBeUndefined();
  });

  it("gives undefined for missing or invalid labels", () => {
    expect(serviceFromLabels({})).toBeUndefined();
    expect(serviceFromLabels({ "io.drcon.port": "80" })).toBeUndefined();
    expect(serviceFromLabels({ "io.drcon.image": "w:1", "io.drcon.port": "x" })).toBeUndefined();
    expect(serviceFromLabels({ "io.drcon.image": "w:1", "io.drcon.port": "0" })).toBeUndefined();
    expect(serviceFromLabels({ "io.drcon.image": "a b", "io.drcon.port": "80" })).toBeUndefined();
    expect(
      serviceFromLabels({
        "io.drcon.image": "w:1",
        "io.drcon.port": "80",
        "io.drcon.health-path": "health;",
      }),
    ).toBeUndefined();
  });
});
