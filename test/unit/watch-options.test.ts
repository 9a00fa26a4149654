import { describe, expect, it } from "vitest";
import { DrconError } from "../../src/base/errors.js";
import { parseWatchFlags, resolveTarget, type WatchFlagValues } from "../../src/watch/options.js";

const base: WatchFlagValues = { rate: "5", concurrency: 50, timeout: "5s" };

function problem(flags: Partial<WatchFlagValues>): string {
  try {
    parseWatchFlags({ ...base, ...flags });
  } catch (err) {
    expect(err).toBeInstanceOf(DrconError);
    const message = (err as Error).message;
    expect(message.split("\n")).toHaveLength(1);
    return message;
  }
  throw new Error("accepted");
}

describe("parseWatchFlags", () => {
  it("takes the defaults and well-formed values", () => {
    expect(parseWatchFlags(base)).toEqual({ rate: 5, concurrency: 50, timeoutMs: 5000 });
    expect(
      parseWatchFlags({ ...base, rate: "0.5", service: "web", duration: "1m", concurrency: 1 }),
    ).toEqual({ rate: 0.5, concurrency: 1, service: "web", durationMs: 60_000, timeoutMs: 5000 });
    expect(
      parseWatchFlags({ ...base, rate: "5000", requests: 500, url: "http://127.0.0.1:9/x" }),
    ).toMatchObject({
      rate: 5000,
      requests: 500,
      url: "http://127.0.0.1:9/x",
    });
  });

  it("refuses bad values with one line that names the fix", () => {
    expect(problem({ rate: "0" })).toMatch(/^--rate 0: .*more than 0 and at most 5000/);
    expect(problem({ rate: "5001" })).toMatch(/^--rate 5001:/);
    expect(problem({ rate: "fast" })).toMatch(/^--rate fast:/);
    expect(problem({ rate: "-3" })).toMatch(/^--rate -3:/);
    expect(problem({ concurrency: 0 })).toBe("--concurrency 0: write a whole number of at least 1");
    expect(problem({ concurrency: 5000 })).toBe("--concurrency 5000: at most 1000");
    expect(problem({ requests: 0 })).toBe("--requests 0: write a whole number of at least 1");
    expect(problem({ duration: "soon" })).toBe(
      "--duration soon: write a duration such as 500ms, 3s or 1m",
    );
    expect(problem({ timeout: "0s" })).toMatch(/^--timeout 0s:/);
    expect(problem({ duration: "10s", requests: 5 })).toMatch(
      /--duration and --requests both given: pick one/,
    );
    expect(problem({ service: "web", url: "http://x/" })).toMatch(
      /--service and --url both given: pick one/,
    );
    expect(problem({ service: "Web_1" })).toMatch(
      /^--service Web_1: not a service name: use only a-z/,
    );
    expect(problem({ url: "127.0.0.1:8080" })).toMatch(/^--url 127.0.0.1:8080: write an http:\/\//);
    expect(problem({ url: "ftp://x/" })).toMatch(/^--url ftp:\/\/x\/:/);
  });
});

describe("resolveTarget", () => {
  const lb = "http://127.0.0.1:8080";

  it("sends to the LB's default service at / without a Host header", () => {
    expect(resolveTarget({}, lb, "simple")).toEqual({
      url: "http://127.0.0.1:8080/",
      service: "simple",
      label: "http://127.0.0.1:8080/ (default service simple)",
    });
  });

  it("picks a service with Host: NAME.localhost", () => {
    expect(resolveTarget({ service: "web" }, `${lb}/`, "simple")).toEqual({
      url: "http://127.0.0.1:8080/",
      host: "web.localhost",
      service: "web",
      label: "http://127.0.0.1:8080/ (Host: web.localhost)",
    });
  });

  it("takes --url as given, with or without a stack", () => {
    expect(resolveTarget({ url: "http://127.0.0.1:9000/health" }, undefined, "simple")).toEqual({
      url: "http://127.0.0.1:9000/health",
      label: "http://127.0.0.1:9000/health",
    });
  });
});
