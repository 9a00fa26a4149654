import { describe, expect, it } from "vitest";
import { normaliseSignal } from "../../src/services/kill.js";
import { parseScaleArgs, planScale } from "../../src/stack/scale-plan.js";

const known = ["simple", "api"];

describe("parseScaleArgs", () => {
  it("parses SERVICE=N pairs", () => {
    expect(parseScaleArgs(["simple=3", "api=0"], known, 50)).toEqual([
      { service: "simple", replicas: 3 },
      { service: "api", replicas: 0 },
    ]);
  });

  it.each([
    ["simple=abc", "simple=abc: the count must be a whole number from 0 to 50"],
    ["simple=-1", "simple=-1: the count must be a whole number from 0 to 50"],
    ["simple=1.5", "whole number"],
    ["simple=", "whole number"],
    ["=3", "=3: name a service before '=' (known: simple, api)"],
    ["simple", "simple: write SERVICE=N"],
    ["web=2", "no service named web (known: simple, api)"],
    ["x;}=2", 'x;}=2: "x;}" is not a valid service name'],
    ["Simple=2", "not a valid service name"],
    ["simple=51", "simple=51: at most 50 replicas"],
  ])("refuses %s", (arg, message) => {
    expect(() => parseScaleArgs([arg], known, 50)).toThrow(message);
  });

  it("refuses a service named twice", () => {
    expect(() => parseScaleArgs(["simple=1", "simple=2"], known, 50)).toThrow("named twice");
  });
});

const inst = (index: number, running = true) => ({ name: `drcon-simple-${index}`, index, running });

describe("planScale", () => {
  it("starts the lowest free numbers when scaling up", () => {
    expect(planScale([inst(1)], 3)).toEqual({ start: [2, 3], stop: [], remove: [] });
    expect(planScale([inst(2), inst(5)], 4)).toEqual({ start: [1, 3], stop: [], remove: [] });
  });

  it("stops the highest numbers first when scaling down", () => {
    expect(planScale([inst(1), inst(2), inst(3)], 1)).toEqual({
      start: [],
      stop: ["drcon-simple-3", "drcon-simple-2"],
      remove: [],
    });
    expect(planScale([inst(1), inst(2)], 0).stop).toEqual(["drcon-simple-2", "drcon-simple-1"]);
  });

  it("removes dead instances and reuses their numbers", () => {
    expect(planScale([inst(1), inst(2, false), inst(3)], 3)).toEqual({
      start: [2],
      stop: [],
      remove: ["drcon-simple-2"],
    });
  });

  it("does nothing when the count is right", () => {
    expect(planScale([inst(1), inst(2)], 2)).toEqual({ start: [], stop: [], remove: [] });
    expect(planScale([], 0)).toEqual({ start: [], stop: [], remove: [] });
  });
});

describe("kill helpers", () => {
  it("normalises signals and refuses junk", () => {
    expect(normaliseSignal("kill")).toBe("SIGKILL");
    expect(normaliseSignal("SIGTERM")).toBe("SIGTERM");
    expect(normaliseSignal("9")).toBe("9");
    expect(() => normaliseSignal("KILL; rm")).toThrow("--signal");
  });
});
