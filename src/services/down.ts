import { DrconError } from "../base/errors.js";
import { LABELS } from "../contract.js";
import { engineMessage, nameOf } from "../docker/engine.js";
import { GRACEFUL_STOP_S } from "../stack/components.js";
import type { StackRuntime } from "../stack/runtime.js";

export interface DownResult {
  stack: string;
  containers: string[];
  /** Containers drcon did not make, detached from the stack network (they keep running). */
  disconnected: string[];
  networks: string[];
  volumes: string[];
}

export interface DownOptions {
  removeVolumes: boolean;
  /** Remove containers started by hand on the stack network instead of detaching them. */
  removeAttached: boolean;
}

/**
 * Removes exactly what carries the stack's label: containers, networks, and volumes if asked.
 * A container started by hand with `--network <stack>` would keep the network alive; it is not
 * drcon's, so it is only detached (or removed with --remove-attached), and named in the result.
 */
export async function runDown(runtime: StackRuntime, options: DownOptions): Promise<DownResult> {
  const { engine } = runtime;
  const selector = { [LABELS.stack]: runtime.name };
  const containers = await runtime.containers();
  // The LB stops first, by its own graceful stop, while the instances behind it still answer the
  // requests it holds; then the rest.
  const lbFirst = (c: (typeof containers)[number]) => c.Labels[LABELS.role] === "lb";
  for (const group of [containers.filter(lbFirst), containers.filter((c) => !lbFirst(c))]) {
    await Promise.all(group.map((c) => engine.stopContainer(c.Id, GRACEFUL_STOP_S)));
  }
  await Promise.all(containers.map((c) => engine.removeContainer(c.Id)));
  const removed = containers.map(nameOf);
  const disconnected: string[] = [];
  const networks = await engine.listNetworks(selector);
  for (const n of networks) {
    for (const attached of await engine.networkContainers(n.Id)) {
      if (options.removeAttached) {
        await engine.removeContainer(attached.id);
        removed.push(attached.name);
      } else {
        await engine.disconnectContainer(n.Id, attached.id);
        disconnected.push(attached.name);
      }
    }
    try {
      await engine.removeNetwork(n.Id);
    } catch (err) {
      throw new DrconError(`network ${n.Name} could not be removed: ${engineMessage(err)}`, {
        cause: err,
      });
    }
  }
  const volumes = options.removeVolumes ? await engine.listVolumes(selector) : [];
  for (const v of volumes) await engine.removeVolume(v);
  return {
    stack: runtime.name,
    containers: removed.sort(),
    disconnected: disconnected.sort(),
    networks: networks.map((n) => n.Name),
    volumes,
  };
}
