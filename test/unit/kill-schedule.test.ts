import { describe, expect, it } from "vitest";
import { nextRoundIn } from "../../src/services/kill.js";

describe("nextRoundIn", () => {
  it("ends after one round without --every", () => {
    expect(nextRoundIn({ forMs: 0 }, 1, 0, 10)).toBeUndefined();
  });

  it("keeps rounds on the schedule: due at start + n * every, while within --for", () => {
    const schedule = { every: 3000, forMs: 10_000 };
    expect(nextRoundIn(schedule, 1, 1000, 1200)).toBe(2800);
    expect(nextRoundIn(schedule, 2, 1000, 6500)).toBe(500);
    expect(nextRoundIn(schedule, 3, 1000, 10_100)).toBe(0);
    // Rounds at 0, 3, 6 and 9 s: a fifth would be due at 12 s, past --for.
    expect(nextRoundIn(schedule, 4, 1000, 10_200)).toBeUndefined();
  });

  it("starts a late round at once, so a slow round does not cost a round", () => {
    expect(nextRoundIn({ every: 1000, forMs: 5000 }, 1, 0, 2500)).toBe(0);
  });
});
