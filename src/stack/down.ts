import { LABELS } from "./names.js";
import type { StackRuntime } from "./runtime.js";

export interface DownResult {
  stack: string;
  containers: string[];
  networks: string[];
  volumes: string[];
}

/** Removes exactly what carries the stack's label: containers, networks, and volumes if asked. */
export async function runDown(runtime: StackRuntime, removeVolumes: boolean): Promise<DownResult> {
  const { engine } = runtime;
  const selector = { [LABELS.stack]: runtime.name };
  const containers = await runtime.containers();
  await Promise.all(containers.map((c) => engine.removeContainer(c.Id)));
  const networks = await engine.listNetworks(selector);
  for (const n of networks) await engine.removeNetwork(n.Id);
  const volumes = removeVolumes ? await engine.listVolumes(selector) : [];
  for (const v of volumes) await engine.removeVolume(v);
  return {
    stack: runtime.name,
    containers: containers.map((c) => c.Names[0]?.replace(/^\//, "") ?? c.Id).sort(),
    networks: networks.map((n) => n.Name),
    volumes,
  };
}
