import { describe, expect, it } from "vitest";
import {
  dnsLabelProblem,
  instanceLabels,
  instanceName,
  isDnsLabel,
} from "../../src/stack/names.js";

describe("names", () => {
  it.each(["simple", "a", "web-2", "a".repeat(63), "0abc"])("accepts %s", (name) => {
    expect(isDnsLabel(name)).toBe(true);
    expect(dnsLabelProblem(name)).toBeUndefined();
  });

  it.each(["", "Simple", "x;}", "-a", "a-", "a_b", "a.b", "a".repeat(64), "a b", 'a"'])(
    "refuses %j",
    (name) => {
      expect(isDnsLabel(name)).toBe(false);
      expect(dnsLabelProblem(name)).toBeTruthy();
    },
  );

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
