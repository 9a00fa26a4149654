import { describe, expect, it } from "vitest";
import { freeIndexes, planRollout } from "../../src/stack/rollout-plan.js";

const old = ["s-1", "s-2", "s-3"];

describe("planRollout", () => {
  it("surge 1: one new instance, then one old one stopped, three times", () => {
    expect(planRollout({ old, taken: [1, 2, 3], surge: 1 })).toEqual([
      { start: [4], stop: ["s-1"] },
      { start: [5], stop: ["s-2"] },
      { start: [6], stop: ["s-3"] },
    ]);
  });

  it("surge 2 over 3: two then one", () => {
    expect(planRollout({ old, taken: [1, 2, 3], surge: 2 })).toEqual([
      { start: [4, 5], stop: ["s-1", "s-2"] },
      { start: [6], stop: ["s-3"] },
    ]);
  });

  it("a surge above the count starts all new ones first", () => {
    expect(planRollout({ old, taken: [1, 2, 3], surge: 5 })).toEqual([
      { start: [4, 5, 6], stop: old },
    ]);
  });

  it("new instances take the lowest numbers no container holds, stopped ones included", () => {
    expect(planRollout({ old: ["s-4", "s-6"], taken: [2, 4, 6], surge: 1 })).toEqual([
      { start: [1], stop: ["s-4"] },
      { start: [3], stop: ["s-6"] },
    ]);
  });

  it("nothing old: nothing to do", () => {
    expect(planRollout({ old: [], taken: [1, 2], surge: 1 })).toEqual([]);
  });

  it("refuses a surge below 1 (a moment with fewer instances serving)", () => {
    expect(() => planRollout({ old, taken: [1, 2, 3], surge: 0 })).toThrow(/--surge 1 or more/);
    expect(() => planRollout({ old, taken: [1, 2, 3], surge: 1.5 })).toThrow(/--surge/);
  });

  it("canary: starts N beside the old ones and stops none", () => {
    expect(planRollout({ old, taken: [1, 2, 3], surge: 1, canary: 1 })).toEqual([
      { start: [4], stop: [] },
    ]);
  });

  it("promote after a canary: the surplus old one stops first, then the rest rolls", () => {
    expect(planRollout({ old, taken: [1, 2, 3, 4], surge: 1, extra: 1 })).toEqual([
      { start: [], stop: ["s-1"] },
      { start: [5], stop: ["s-2"] },
      { start: [6], stop: ["s-3"] },
    ]);
  });
});

describe("freeIndexes", () => {
  it("fills gaps from 1", () => {
    expect(freeIndexes([1, 3], 3)).toEqual([2, 4, 5]);
  });
});
