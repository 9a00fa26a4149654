import { describe, expect, it } from "vitest";
import { DrconError } from "../../src/base/errors.js";
import { waitFor } from "../../src/base/wait.js";

describe("waitFor", () => {
  it("polls through passing errors until a value comes", async () => {
    let n = 0;
    const value = await waitFor(
      async () => {
        n++;
        if (n < 3) throw new Error("not yet");
        return n === 3 ? "ready" : undefined;
      },
      "it",
      { intervalMs: 1 },
    );
    expect(value).toBe("ready");
  });

  it("times out naming what it waited for and the last error", async () => {
    await expect(
      waitFor(
        async () => {
          throw new Error("refused");
        },
        "the thing",
        { timeoutMs: 30, intervalMs: 5 },
      ),
    ).rejects.toThrow("timed out after 0.03 s waiting for the thing (last error: refused)");
  });

  it("gives up at once on a DrconError: a definite answer", async () => {
    let n = 0;
    const started = Date.now();
    await expect(
      waitFor(
        async () => {
          n++;
          throw new DrconError("it stopped");
        },
        "it",
        { timeoutMs: 5000, intervalMs: 1 },
      ),
    ).rejects.toThrow("it stopped");
    expect(n).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
