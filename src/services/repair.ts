// What an engine restart or crash can leave behind, repaired by `up` and flagged by `status`:
// drcon's instances that are not running, and a registrator whose sync is stale (running, but
// no longer reaching the engine or Consul).

import { waitFor } from "../base/wait.js";
import type { ConsulApi } from "../consul/client.js";
import { LABELS, parseSyncRecord, SYNC_KEY, type SyncRecord } from "../contract.js";
import { type ContainerSummary, nameOf } from "../docker/engine.js";
import { fetchRoutes } from "../stack/lb-routes.js";
import type { StackRuntime } from "../stack/runtime.js";

/** The registrator syncs every 10 s: a last sync older than this means it is stuck. */
export const SYNC_STALE_MS = 30_000;
const RESYNC_GRACE_MS = 12_000;

export function syncAgeMs(sync: SyncRecord, now: number): number {
  return Math.max(0, now - Date.parse(sync.at));
}

/**
 * drcon's own instances (not hand-run containers) that do not run: exited, created, dead. One
 * that is restarting is left to its restart policy.
 */
export function stoppedInstances(containers: ContainerSummary[]): ContainerSummary[] {
  return containers.filter(
    (c) => c.Labels[LABELS.role] === "instance" && !["running", "restarting"].includes(c.State),
  );
}

/**
 * Restarts the registrator when it runs but its last sync is stale (e.g. it lost the engine's
 * socket); true when it did. Its next sync is for the caller to wait for.
 */
export async function restartStaleRegistrator(
  runtime: StackRuntime,
  consul: ConsulApi,
  name: string,
): Promise<boolean> {
  const read = async () => parseSyncRecord(await consul.kvGet(SYNC_KEY));
  const fresh = (sync: SyncRecord | undefined) =>
    sync && syncAgeMs(sync, Date.now()) <= SYNC_STALE_MS ? sync : undefined;
  const sync = await read();
  if (fresh(sync)) return false;
  // No record at all: Consul may just have come back without its data; one resync writes it.
  const written =
    !sync &&
    (await waitFor(async () => fresh(await read()), "a sync", { timeoutMs: RESYNC_GRACE_MS }).catch(
      () => undefined,
    ));
  if (written) return false;
  await runtime.engine.restartContainer(name, 5);
  return true;
}

/** Starts drcon's instances that do not run, and waits until the LB routes each; their names. */
export async function startStoppedInstances(
  runtime: StackRuntime,
  lbUrl: string,
): Promise<string[]> {
  const stopped = stoppedInstances(await runtime.containers("instance"));
  await Promise.all(
    stopped.map(async (c) => {
      await runtime.engine.startContainer(c.Id);
      const details = await runtime.engine.inspectContainer(c.Id);
      const ip = details?.NetworkSettings.Networks[runtime.name]?.IPAddress;
      const service = c.Labels[LABELS.service] ?? "";
      const addresses = Object.keys(details?.Config.ExposedPorts ?? {}).map(
        (p) => `${ip}:${p.split("/")[0]}`,
      );
      await waitFor(
        async () => {
          const routed = (await fetchRoutes(lbUrl)).services[service] ?? [];
          return addresses.some((a) => routed.includes(a)) ? true : undefined;
        },
        `${nameOf(c)} to join the LB again`,
      );
    }),
  );
  return stopped.map(nameOf).sort();
}
