import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { LABELS } from "../../src/contract.js";
import { consulVolumeLabels, consulVolumeProblem } from "../../src/stack/components.js";

const config = loadConfig({ cwd: "/nonexistent-dir", env: { DRCON_IMAGE_CONSUL: "consul:new" } });

describe("Consul's data volume", () => {
  it("records the Consul image that makes it", () => {
    expect(consulVolumeLabels(config)).toEqual({
      "io.drcon.stack": "drcon",
      "io.drcon.role": "consul",
      [LABELS.consulImage]: "consul:new",
    });
  });

  it("may be opened by the image that made it, or when it records none", () => {
    expect(consulVolumeProblem(config, undefined)).toBeUndefined();
    expect(consulVolumeProblem(config, {})).toBeUndefined();
    expect(consulVolumeProblem(config, { [LABELS.consulImage]: "consul:new" })).toBeUndefined();
  });

  it("is refused to another Consul image, saying what to do", () => {
    expect(consulVolumeProblem(config, { [LABELS.consulImage]: "consul:old" })).toBe(
      "volume drcon-consul-data holds the data of consul:old, which Consul does not support moving to consul:new: run `drcon down --volumes` to start afresh, or keep the old image with DRCON_IMAGE_CONSUL=consul:old",
    );
    const demo = { ...config, stack: "demo" };
    expect(consulVolumeProblem(demo, { [LABELS.consulImage]: "consul:old" })).toContain(
      "volume demo-consul-data holds the data of consul:old, which Consul does not support moving to consul:new: run `drcon down --stack demo --volumes`",
    );
  });
});
