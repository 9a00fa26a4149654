import { describe, expect, it } from "vitest";
import { DrconError, isKind } from "../../src/base/errors.js";
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

  it("times out as a DrconError of kind timeout, with the caller's message", async () => {
    const err = await waitFor(async () => undefined, "it", {
      timeoutMs: 20,
      intervalMs: 5,
      timeoutMessage: (last) => `no luck (${last ?? "never failed"})`,
    }).catch((e: unknown) => e);
    expect(isKind(err, "timeout")).toBe(true);
    expect((err as Error).message).toBe("no luck (never failed)");
  });

  it("asks at least once, even with no time to wait", async () => {
    expect(await waitFor(async () => "now", "it", { timeoutMs: 0 })).toBe("now");
  });

  it("lets the caller say which errors are worth another try", async () => {
    let n = 0;
    const failing = async () => {
      n++;
      throw new Error("refused");
    };
    await expect(
      waitFor(failing, "it", { timeoutMs: 5000, intervalMs: 1, retry: () => false }),
    ).rejects.toThrow("refused");
    expect(n).toBe(1);
  });

  it("ends with the signal's reason once aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("Ctrl-C"));
    await expect(
      waitFor(async () => undefined, "it", { signal: controller.signal }),
    ).rejects.toThrow("Ctrl-C");
  });
});
