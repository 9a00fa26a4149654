import { describe, expect, it } from "vitest";
import { dnsLabelProblem, encodeSyncRecord, parseSyncRecord } from "../../src/contract.js";

describe("the DNS-label rule", () => {
  it.each(["simple", "a", "web-2", "a".repeat(63), "0abc"])("accepts %s", (name) => {
    expect(dnsLabelProblem(name)).toBeUndefined();
  });

  it.each(["", "Simple", "x;}", "-a", "a-", "a_b", "a.b", "a".repeat(64), "a b", 'a"'])(
    "refuses %j",
    (name) => {
      expect(dnsLabelProblem(name)).toBeTruthy();
    },
  );
});

describe("the sync record", () => {
  it("reads the record the registrator writes", () => {
    const record = { at: "2026-11-25T17:00:00.000Z", registered: 3 };
    expect(parseSyncRecord(encodeSyncRecord(record))).toEqual(record);
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
