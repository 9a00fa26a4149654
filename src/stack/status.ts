import { byName } from "../base/order.js";
import { stackFlag } from "../config/defaults.js";
import { type ConsulApi, type ServiceHealth, unlessUnanswered } from "../consul/client.js";
import {
  DRCON_TAG,
  LABELS,
  type LbRoutes,
  META,
  parseSyncRecord,
  type Role,
  SYNC_KEY,
} from "../contract.js";
import { type ContainerSummary, nameOf } from "../docker/engine.js";
import { readCanary, readHistory } from "./deployed.js";
import { DRAIN_REASON, scaleLockKey } from "./drain.js";
import { fetchRoutes } from "./lb-routes.js";
import { SYNC_STALE_MS, stoppedInstances, syncAgeMs } from "./repair.js";
import { revisionOf } from "./revision.js";
import type { StackRuntime } from "./runtime.js";

export interface ComponentStatus {
  role: Exclude<Role, "instance">;
  name: string;
  state: string;
  health: string;
  uptimeSeconds: number | null;
}

export interface InstanceStatus {
  name: string;
  address: string | null;
  health: string;
  routed: boolean;
  /** False for containers started by hand (docker run ... SERVICE_NAME=x) rather than by drcon. */
  managed: boolean;
  /** The revision it was made from (null when unknown: by hand, or made before revisions). */
  revision: string | null;
  /** Its revision differs from the one deployed last, or else from the configuration's. */
  outdated: boolean;
  /** A canary started by `deploy --canary`, waiting for --promote or --abort. */
  canary: boolean;
}

export interface StatusReport {
  stack: string;
  up: boolean;
  urls: { lb: string; consul: string } | null;
  components: ComponentStatus[];
  services: Array<{ name: string; instances: InstanceStatus[] }>;
  /** What is wrong and what repairs it, one line each (empty when all is well). */
  attention: string[];
}

const ROLES = ["consul", "registrator", "lb"] as const;

export async function runStatus(runtime: StackRuntime, now = Date.now()): Promise<StatusReport> {
  const containers = await runtime.containers();
  const components: ComponentStatus[] = await Promise.all(
    ROLES.map(async (role) => {
      const c = containers.find((x) => x.Labels[LABELS.role] === role);
      const details =
        c?.State === "running" ? await runtime.engine.inspectContainer(c.Id) : undefined;
      const started = details ? Date.parse(details.State.StartedAt) : Number.NaN;
      return {
        role,
        name: c ? nameOf(c) : `${runtime.name}-${role}`,
        state: c?.State ?? "missing",
        health: c ? "unknown" : "-",
        uptimeSeconds: Number.isNaN(started)
          ? null
          : Math.max(0, Math.round((now - started) / 1000)),
      };
    }),
  );
  const running = components.every((c) => c.state === "running");
  const attention = stoppedAttention(runtime.name, components, containers);
  if (!running) {
    // No Consul to ask: drcon's instances as the engine has them.
    const services = await serviceStatuses(runtime, undefined, containers, undefined);
    return { stack: runtime.name, up: false, urls: null, components, services, attention };
  }
  const endpoints = await runtime.endpoints();
  const { consul } = endpoints;
  const [leader, synced, routes] = await Promise.all([
    // A Consul that does not answer fails the command in one line rather than showing a guess.
    consul.leader().catch(unlessUnanswered("")),
    consul.kvGet(SYNC_KEY).catch(() => undefined),
    fetchRoutes(endpoints.lbUrl).catch(() => undefined),
  ]);
  setHealth(components, "consul", leader ? `leader ${leader}` : "no leader");
  const record = parseSyncRecord(synced);
  const syncAge = record ? syncAgeMs(record, now) : undefined;
  setHealth(components, "registrator", syncHealth(synced, syncAge));
  setHealth(components, "lb", routes ? "answering" : "not answering");
  if (leader && (syncAge === undefined || syncAge > SYNC_STALE_MS)) {
    const since =
      syncAge === undefined ? "has recorded no sync" : `has not synced for ${seconds(syncAge)} s`;
    attention.unshift(
      `the registrator ${since}: \`drcon up${stackFlag(runtime.name)}\` restarts it`,
    );
  }
  const services = await serviceStatuses(runtime, consul, containers, routes);
  return {
    stack: runtime.name,
    up: Boolean(leader && routes),
    urls: { lb: endpoints.lbUrl, consul: endpoints.consulUrl },
    components,
    services,
    attention,
  };
}

/** Components and drcon's instances that do not run, and the command that starts them. */
function stoppedAttention(
  stack: string,
  components: ComponentStatus[],
  containers: ContainerSummary[],
): string[] {
  if (components.every((c) => c.state === "missing") && containers.length === 0) return [];
  const stopped = [
    ...components.filter((c) => c.state !== "running").map((c) => `${c.name} (${c.state})`),
    ...stoppedInstances(containers).map((c) => `${nameOf(c)} (${c.State})`),
  ];
  if (stopped.length === 0) return [];
  return [`not running: ${stopped.join(", ")}: \`drcon up${stackFlag(stack)}\` starts them again`];
}

/** What the services' view asks of Consul. */
type ServicesConsul = Pick<ConsulApi, "servicesTagged" | "health" | "lockHeld" | "kvGet">;

/**
 * Every service drcon knows of (configured, registered, or named by its instances' labels), with
 * its instances: Consul's view of each, joined with the engine's containers and the LB's routes.
 * Without Consul (stack not up), the instances as the engine has them.
 */
export async function serviceStatuses(
  runtime: Pick<StackRuntime, "config">,
  consul: ServicesConsul | undefined,
  containers: ContainerSummary[],
  routes: LbRoutes | undefined,
): Promise<StatusReport["services"]> {
  const registered = (await consul?.servicesTagged(DRCON_TAG).catch(() => [])) ?? [];
  // Services added with `scale --image` are in no config: their instances' labels name them.
  const labelled = containers
    .filter((c) => c.Labels[LABELS.role] === "instance")
    .map((c) => c.Labels[LABELS.service] ?? "");
  const names = [...new Set([...Object.keys(runtime.config.services), ...registered, ...labelled])]
    .filter(Boolean)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const [health, scaling, current, canary] = await Promise.all([
        consul ? consul.health(name).catch(() => [] as ServiceHealth[]) : [],
        consul ? consul.lockHeld(scaleLockKey(name)).catch(() => false) : false,
        currentRevision(runtime, consul, name),
        consul ? readCanary(consul, name).catch(() => undefined) : undefined,
      ]);
      const revisionOfContainer = (c: ContainerSummary | undefined) => {
        const revision = c?.Labels[LABELS.revision] ?? null;
        const isCanary = Boolean(revision && revision === canary?.revision);
        const differs = Boolean(current && revision && revision !== current);
        return { revision, outdated: differs && !isCanary, canary: isCanary };
      };
      const routed = new Set(routes?.services[name] ?? []);
      const instances: InstanceStatus[] = health.map((h) => ({
        name: h.meta[META.instance] ?? h.id,
        address: `${h.address}:${h.port}`,
        health: healthText(h, scaling),
        routed: routed.has(`${h.address}:${h.port}`),
        // Made by `drcon scale`, not started by hand (even if labelled with the stack).
        managed: containers.some(
          (c) => c.Id === h.meta[META.container] && c.Labels[LABELS.role] === "instance",
        ),
        ...revisionOfContainer(containers.find((c) => c.Id === h.meta[META.container])),
      }));
      // drcon's own instances that Consul does not (yet) know.
      for (const c of containers) {
        if (c.Labels[LABELS.service] !== name) continue;
        if (instances.some((i) => i.name === nameOf(c))) continue;
        instances.push({
          name: nameOf(c),
          address: null,
          // Without Consul (stack not up) whether it is registered is unknown.
          health: c.State !== "running" ? c.State : consul ? "not registered" : "running",
          routed: false,
          managed: true,
          ...revisionOfContainer(c),
        });
      }
      instances.sort(byName);
      return { name, instances };
    }),
  );
}

/** The revision a service's instances should run: the last one deployed, else the configured. */
async function currentRevision(
  runtime: Pick<StackRuntime, "config">,
  consul: ServicesConsul | undefined,
  service: string,
): Promise<string | undefined> {
  const deployed = consul ? await readHistory(consul, service).catch(() => []) : [];
  const configured = runtime.config.services[service];
  return deployed.at(-1)?.revision ?? (configured ? revisionOf(configured) : undefined);
}

/** Why a stack is not up, in one line that says what to run. */
export function notUpMessage(report: StatusReport): string {
  const stopped = report.components.filter((c) => c.state !== "running");
  const why = stopped.length
    ? stopped.map((c) => `${c.role} ${c.state}`)
    : report.components.map((c) => `${c.role}: ${c.health}`);
  return `stack ${report.stack} is not up (${why.join(", ")}): run \`drcon up${stackFlag(report.stack)}\``;
}

function setHealth(components: ComponentStatus[], role: ComponentStatus["role"], health: string) {
  const c = components.find((x) => x.role === role);
  if (c) c.health = health;
}

/** The registrator's last full sync, as the status table shows it. */
export function syncHealth(raw: string | undefined, syncAge: number | undefined): string {
  if (!raw) return "not synced";
  if (syncAge === undefined) return "sync unknown (unreadable record)";
  return `${syncAge > SYNC_STALE_MS ? "sync stale: last" : "synced"} ${seconds(syncAge)} s ago`;
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}

/**
 * An instance in maintenance is "draining" while a `drcon scale` holds the service's lock, and
 * "in maintenance" otherwise (left by an interrupted scale, which the next scale or up repairs,
 * or put there by hand), rather than a bare "critical".
 */
function healthText(h: ServiceHealth, scaling: boolean): string {
  if (h.maintenance === undefined) return h.status;
  if (h.maintenance === DRAIN_REASON && scaling) return "draining";
  return h.maintenance === DRAIN_REASON ? "in maintenance (interrupted scale)" : "in maintenance";
}
