import { describe, expect, it } from "vitest";
import { DrconError, isKind } from "../../src/base/errors.js";
import { naturalCompare, pickRandom } from "../../src/base/order.js";
import { elapsed, parseDuration } from "../../src/base/time.js";

describe("base layer", () => {
  it("parses durations", () => {
    expect(parseDuration("3s", "--every")).toBe(3000);
    expect(parseDuration("500ms", "--every")).toBe(500);
    expect(parseDuration("1m", "--for")).toBe(60_000);
    expect(() => parseDuration("soon", "--for")).toThrow("--for soon: write a duration");
    expect(() => parseDuration("0s", "--for")).toThrow("write a duration");
  });

  it("formats elapsed times", () => {
    expect(elapsed(42_500)).toBe("42s");
    expect(elapsed(185_000)).toBe("3m05s");
    expect(elapsed(3_720_000)).toBe("1h02m");
    expect(elapsed(-5)).toBe("0s");
  });

  it("picks distinct random elements, at most as many as there are", () => {
    const picked = pickRandom([1, 2, 3, 4], 3);
    expect(new Set(picked).size).toBe(3);
    expect(pickRandom([1, 2], 5).sort()).toEqual([1, 2]);
    let i = 0;
    const seq = [0.99, 0];
    expect(pickRandom(["a", "b", "c"], 2, () => seq[i++] ?? 0)).toEqual(["c", "a"]);
  });

  it("sorts names naturally", () => {
    expect(["simple-10", "simple-2", "api-1"].sort(naturalCompare)).toEqual([
      "api-1",
      "simple-2",
      "simple-10",
    ]);
  });

  it("tells errors apart by kind, never by text", () => {
    const err = new DrconError("Cannot reach the Docker engine", { kind: "engine-unreachable" });
    expect(isKind(err, "engine-unreachable", "engine-unanswered")).toBe(true);
    expect(isKind(new DrconError("Cannot reach the Docker engine"), "engine-unreachable")).toBe(
      false,
    );
    expect(isKind(new Error("x"), "usage")).toBe(false);
    expect(new DrconError("bad flag").kind).toBe("usage");
  });
});
