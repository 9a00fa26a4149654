import type { ContainerSummary } from "../docker/engine.js";
import { LABELS } from "./names.js";
import type { StackRuntime } from "./runtime.js";
import type { ExistingInstance } from "./scale-plan.js";

export interface Instance extends ExistingInstance {
  id: string;
  service: string;
}

/** drcon's instances of the stack (of one service when given), by their labels. */
export async function listInstances(runtime: StackRuntime, service?: string): Promise<Instance[]> {
  const containers = await runtime.containers("instance");
  return containers
    .filter((c) => service === undefined || c.Labels[LABELS.service] === service)
    .map(toInstance)
    .sort((a, b) => a.index - b.index);
}

function toInstance(c: ContainerSummary): Instance {
  return {
    id: c.Id,
    name: c.Names[0]?.replace(/^\//, "") ?? c.Id,
    service: c.Labels[LABELS.service] ?? "",
    index: Number(c.Labels[LABELS.instance]),
    running: c.State === "running",
  };
}
