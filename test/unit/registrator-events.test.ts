import { describe, expect, it } from "vitest";
import type { EngineEvent } from "../../src/docker/engine.js";
import { intentOf } from "../../src/registrator/events.js";

const event = (Type: string, Action: string, Attributes: Record<string, string> = {}) =>
  ({ Type, Action, Actor: { ID: "c1", Attributes }, time: 1, timeNano: 1 }) as EngineEvent;

describe("intentOf", () => {
  it.each([["start"], ["unpause"], ["health_status: healthy"], ["health_status: unhealthy"]])(
    "registers (again) on container %s",
    (action) => {
      expect(intentOf(event("container", action), "drcon")).toEqual({
        kind: "apply",
        container: "c1",
      });
    },
  );

  it.each(["die", "pause", "destroy"])("deregisters on container %s", (action) => {
    expect(intentOf(event("container", action), "drcon")).toMatchObject({ kind: "remove" });
  });

  it("deregisters at a SIGKILL or SIGTERM, before the container is reported dead", () => {
    expect(intentOf(event("container", "kill", { signal: "9" }), "drcon")).toEqual({
      kind: "remove",
      container: "c1",
      why: "kill 9",
    });
    expect(intentOf(event("container", "kill", { signal: "15" }), "drcon").kind).toBe("remove");
    expect(intentOf(event("container", "kill", { signal: "1" }), "drcon").kind).toBe("none");
  });

  it("follows containers joining and leaving the stack network only", () => {
    const attrs = { name: "drcon", container: "c9" };
    expect(intentOf(event("network", "connect", attrs), "drcon")).toEqual({
      kind: "apply",
      container: "c9",
    });
    expect(intentOf(event("network", "disconnect", attrs), "drcon")).toMatchObject({
      kind: "remove",
      container: "c9",
    });
    expect(intentOf(event("network", "connect", { ...attrs, name: "other" }), "drcon").kind).toBe(
      "none",
    );
  });

  it("ignores what does not change registrations", () => {
    for (const e of [
      event("container", "create"),
      event("container", "exec_start: sh"),
      event("image", "pull"),
    ]) {
      expect(intentOf(e, "drcon").kind).toBe("none");
    }
  });
});
