// What a Docker event means for registrations (pure). Current engines describe an event by its
// `Type` and `Action` only; the old `status` field is gone.
import type { EngineEvent } from "../docker/engine.js";

export type Intent =
  | { kind: "apply"; container: string }
  | { kind: "remove"; container: string; why: string }
  | { kind: "none" };

// Signals that end a container: it leaves the LB at the kill, before Docker reports it dead.
const FATAL_SIGNALS = new Set(["9", "15", "SIGKILL", "SIGTERM"]);

export function intentOf(event: EngineEvent, network: string): Intent {
  const { Action: action, Actor: actor } = event;
  if (event.Type === "network") {
    const container = actor.Attributes.container;
    if (actor.Attributes.name !== network || !container) return { kind: "none" };
    if (action === "connect") return { kind: "apply", container };
    if (action === "disconnect") return { kind: "remove", container, why: "left the network" };
    return { kind: "none" };
  }
  if (event.Type !== "container") return { kind: "none" };
  const container = actor.ID;
  // "health_status: healthy" and the like: a Docker HEALTHCHECK verdict to pass on.
  if (action === "start" || action === "unpause" || action.startsWith("health_status")) {
    return { kind: "apply", container };
  }
  if (action === "die" || action === "pause" || action === "destroy") {
    return { kind: "remove", container, why: action };
  }
  const signal = actor.Attributes.signal ?? "";
  if (action === "kill" && FATAL_SIGNALS.has(signal)) {
    return { kind: "remove", container, why: `kill ${signal}` };
  }
  return { kind: "none" };
}
