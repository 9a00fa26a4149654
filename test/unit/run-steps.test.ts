import { afterEach, describe, expect, it, vi } from "vitest";
import { InterruptedError } from "../../src/base/errors.js";
import type { Step } from "../../src/services/steps.js";
import { stepRunner } from "../../src/ui/run-steps.js";

const quiet = stepRunner(true);

/** A step that records when it starts and ends, after `ms`. */
function timed(title: string, log: string[], ms = 5): Step {
  return {
    title,
    run: async () => {
      log.push(`start ${title}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${title}`);
    },
  };
}

/** A step that fails with `message`. */
function failing(title: string, message: string): Step {
  return {
    title,
    run: async () => {
      throw new Error(message);
    },
  };
}

describe("stepRunner", () => {
  afterEach(() => vi.restoreAllMocks());

  it("runs steps one after the other, and stops at the first failure with its error", async () => {
    const log: string[] = [];
    const run = quiet([timed("a", log), failing("b", "b broke"), timed("c", log)]);
    await expect(run).rejects.toThrow("b broke");
    expect(log).toEqual(["start a", "end a"]);
  });

  it("runs concurrent sub-steps side by side, and the step ends after them", async () => {
    const log: string[] = [];
    await quiet([
      {
        title: "parent",
        run: async (step) => {
          await step.substeps([timed("x", log, 20), timed("y", log, 20)], { concurrent: true });
          log.push("parent done");
        },
      },
    ]);
    expect(log.slice(0, 2).sort()).toEqual(["start x", "start y"]);
    expect(log.at(-1)).toBe("parent done");
  });

  it("rejects in the step that awaits its sub-steps, so the step can undo what they did", async () => {
    const undone: string[] = [];
    const run = quiet([
      {
        title: "parent",
        run: async (step) => {
          try {
            await step.substeps([failing("x", "x broke")]);
          } catch (err) {
            undone.push((err as Error).message);
            throw err;
          }
        },
      },
    ]);
    await expect(run).rejects.toThrow("x broke");
    expect(undone).toEqual(["x broke"]);
  });

  it("starts no step, nested ones neither, once the signal is aborted", async () => {
    const controller = new AbortController();
    const log: string[] = [];
    const run = quiet(
      [
        {
          title: "a",
          run: async (step) => {
            expect(step.signal).toBe(controller.signal);
            controller.abort(new InterruptedError("SIGINT"));
            await step.substeps([timed("nested", log)]);
          },
        },
        timed("b", log),
      ],
      { signal: controller.signal },
    );
    await expect(run).rejects.toBeInstanceOf(InterruptedError);
    expect(log).toEqual([]);
  });

  it("prints plain lines on stdout when it is no terminal: nested steps, progress, new titles", async () => {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      err.push(String(chunk));
      return true;
    });
    const isTTY = process.stdout.isTTY;
    process.stdout.isTTY = false;
    try {
      await stepRunner(false)([
        {
          title: "Images",
          run: (step) =>
            step.substeps([
              {
                title: "pull a",
                run: async (sub) => {
                  sub.progress("layer 1 of 2");
                  sub.setTitle("a (pulled)");
                },
              },
            ]),
        },
      ]);
    } finally {
      process.stdout.isTTY = isTTY;
    }
    const lines = out.join("").split("\n");
    for (const expected of [/^❯ Images$/, /^❯ pull a$/, /^› layer 1 of 2$/, /^✔ a \(pulled\)/]) {
      expect(
        lines.some((l) => expected.test(l.trim())),
        String(expected),
      ).toBe(true);
    }
    expect(lines.findIndex((l) => /Images/.test(l))).toBeLessThan(
      lines.findIndex((l) => /pull a/.test(l)),
    );
    expect(err).toEqual([]);
  });
});
