import { describe, expect, it } from "vitest";
import type { ContainerSummary } from "../../src/docker/engine.js";
import { stoppedInstances, syncAgeMs } from "../../src/services/repair.js";

describe("syncAgeMs", () => {
  it("is how long ago the record was written", () => {
    const sync = { at: "2026-01-01T00:00:00.000Z", registered: 3 };
    expect(syncAgeMs(sync, Date.parse("2026-01-01T00:00:42.000Z"))).toBe(42_000);
  });
});

describe("stoppedInstances", () => {
  const container = (name: string, role: string, state: string) =>
    ({
      Id: name,
      Names: [`/${name}`],
      State: state,
      Labels: { "io.drcon.role": role },
    }) as unknown as ContainerSummary;

  it("finds drcon's instances that do not run, never components", () => {
    const found = stoppedInstances([
      container("s-simple-1", "instance", "running"),
      container("s-simple-2", "instance", "exited"),
      container("s-simple-3", "instance", "created"),
      container("s-simple-4", "instance", "restarting"),
      container("s-lb", "lb", "exited"),
    ]);
    expect(found.map((c) => c.Id)).toEqual(["s-simple-2", "s-simple-3"]);
  });
});
