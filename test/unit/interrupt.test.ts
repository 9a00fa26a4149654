import { describe, expect, it } from "vitest";
import { InterruptedError, interruption } from "../../src/base/errors.js";
import { untilAborted, waitFor } from "../../src/base/wait.js";
import { captureInterrupts } from "../../src/ui/interrupt.js";

describe("InterruptedError", () => {
  it("exits 128 + the signal's number and says what was cleaned up, on one line", () => {
    const sigint = new InterruptedError("SIGINT");
    expect(sigint.exitCode).toBe(130);
    expect(sigint.message).toBe("Interrupted by SIGINT");
    const after = sigint.after("put drcon-simple-2 back in service; no lock left held");
    expect(after.exitCode).toBe(130);
    expect(after.message).toBe(
      "Interrupted by SIGINT: put drcon-simple-2 back in service; no lock left held",
    );
    expect(new InterruptedError("SIGTERM").exitCode).toBe(143);
  });

  it("is found as the reason of an aborted signal, and only there", () => {
    const controller = new AbortController();
    expect(interruption(controller.signal)).toBeUndefined();
    controller.abort(new InterruptedError("SIGTERM"));
    expect(interruption(controller.signal)?.signal).toBe("SIGTERM");
    const other = new AbortController();
    other.abort(new Error("not an interruption"));
    expect(interruption(other.signal)).toBeUndefined();
  });
});

describe("waits end on an interrupt", () => {
  it("waitFor stops polling with the interruption", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new InterruptedError("SIGINT")), 20);
    await expect(
      waitFor(async () => undefined, "never", { intervalMs: 5, signal: controller.signal }),
    ).rejects.toBeInstanceOf(InterruptedError);
  });

  it("untilAborted settles with the work, or with the interruption as soon as it comes", async () => {
    expect(await untilAborted(Promise.resolve(7), new AbortController().signal)).toBe(7);
    const controller = new AbortController();
    const never = new Promise<number>(() => {});
    setTimeout(() => controller.abort(new InterruptedError("SIGTERM")), 10);
    await expect(untilAborted(never, controller.signal)).rejects.toThrow("Interrupted by SIGTERM");
    await expect(untilAborted(Promise.resolve(1), controller.signal)).rejects.toBeInstanceOf(
      InterruptedError,
    );
  });
});

describe("captureInterrupts", () => {
  it("turns the first SIGINT into an aborted signal and gives the signals back on dispose", () => {
    const before = process.listenerCount("SIGINT");
    const interrupts = captureInterrupts("nothing is left");
    expect(process.listenerCount("SIGINT")).toBe(before + 1);
    expect(process.listenerCount("SIGTERM")).toBeGreaterThan(0);
    process.emit("SIGINT", "SIGINT");
    expect(interruption(interrupts.signal)?.signal).toBe("SIGINT");
    interrupts.dispose();
    expect(process.listenerCount("SIGINT")).toBe(before);
  });
});
