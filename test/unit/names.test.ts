import { describe, expect, it } from "vitest";
import { instanceLabels, instanceName } from "../../src/stack/names.js";

describe("names", () => {
  it("names and labels instances", () => {
    expect(instanceName("drcon", "simple", 3)).toBe("drcon-simple-3");
    expect(instanceLabels("drcon", "simple", 3)).toEqual({
      "io.drcon.stack": "drcon",
      "io.drcon.role": "instance",
      "io.drcon.service": "simple",
      "io.drcon.instance": "3",
    });
  });
});
