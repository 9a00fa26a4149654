import { describe, expect, it } from "vitest";
import { parseSyncRecord } from "../../src/stack/components.js";

describe("parseSyncRecord", () => {
  it("reads the record the registrator writes", () => {
    const raw = JSON.stringify({ at: "2026-11-25T17:00:00.000Z", registered: 3 });
    expect(parseSyncRecord(raw)).toEqual({ at: "2026-11-25T17:00:00.000Z", registered: 3 });
  });

  it("gives undefined (unknown) for a missing key and for anything it cannot trust", () => {
    for (const raw of [
      undefined,
      "",
      "not json",
      "{",
      "null",
      "42",
      '"2026-11-25T17:00:00.000Z"',
      "[]",
      "{}",
      '{"at":"yesterday","registered":1}',
      '{"at":42,"registered":1}',
      '{"at":"2026-11-25T17:00:00.000Z"}',
      '{"at":"2026-11-25T17:00:00.000Z","registered":"3"}',
      '{"at":"2026-11-25T17:00:00.000Z","registered":-1}',
      '{"at":"2026-11-25T17:00:00.000Z","registered":1.5}',
    ]) {
      expect(parseSyncRecord(raw), String(raw)).toBeUndefined();
    }
  });
});
