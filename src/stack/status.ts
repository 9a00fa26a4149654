import { type ConsulApi, type ServiceHealth, unlessUnanswered } from "../consul/client.js";
import type { ContainerSummary } from "../docker/engine.js";
import { parseSyncRecord, SYNC_KEY } from "./components.js";
import { fetchRoutes, type LbRoutes } from "./lb-routes.js";
import { LABELS, type Role } from "./names.js";
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
}

export interface StatusReport {
  stack: string;
  up: boolean;
  urls: { lb: string; consul: string } | null;
  components: ComponentStatus[];
  services: Array<{ name: string; instances: InstanceStatus[] }>;
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
  if (!running) {
    return { stack: runtime.name, up: false, urls: null, components, services: [] };
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
  setHealth(components, "registrator", syncHealth(synced, now));
  setHealth(components, "lb", routes ? "answering" : "not answering");
  const services = await serviceStatuses(runtime, consul, containers, routes);
  return {
    stack: runtime.name,
    up: Boolean(leader && routes),
    urls: { lb: endpoints.lbUrl, consul: endpoints.consulUrl },
    components,
    services,
  };
}

async function serviceStatuses(
  runtime: StackRuntime,
  consul: ConsulApi,
  containers: ContainerSummary[],
  routes: LbRoutes | undefined,
): Promise<StatusReport["services"]> {
  const registered = await consul.servicesTagged("drcon").catch(() => [] as string[]);
  // Services added with `scale --image` are in no config: their instances' labels name them.
  const labelled = containers
    .filter((c) => c.Labels[LABELS.role] === "instance")
    .map((c) => c.Labels[LABELS.service] ?? "");
  const names = [...new Set([...Object.keys(runtime.config.services), ...registered, ...labelled])]
    .filter(Boolean)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const health = await consul.health(name).catch(() => [] as ServiceHealth[]);
      const routed = new Set(routes?.services[name] ?? []);
      const instances: InstanceStatus[] = health.map((h) => ({
        name: h.meta.drcon_instance ?? h.id,
        address: `${h.address}:${h.port}`,
        health: h.status,
        routed: routed.has(`${h.address}:${h.port}`),
        // Made by `drcon scale`, not started by hand (even if labelled with the stack).
        managed: containers.some(
          (c) => c.Id === h.meta.drcon_container && c.Labels[LABELS.role] === "instance",
        ),
      }));
      // drcon's own instances that Consul does not (yet) know.
      for (const c of containers) {
        if (c.Labels[LABELS.service] !== name) continue;
        if (instances.some((i) => i.name === nameOf(c))) continue;
        instances.push({
          name: nameOf(c),
          address: null,
          health: c.State === "running" ? "not registered" : c.State,
          routed: false,
          managed: true,
        });
      }
      instances.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
      return { name, instances };
    }),
  );
}

/** Why a stack is not up, in one line that says what to run. */
export function notUpMessage(report: StatusReport): string {
  const stopped = report.components.filter((c) => c.state !== "running");
  const why = stopped.length
    ? stopped.map((c) => `${c.role} ${c.state}`)
    : report.components.map((c) => `${c.role}: ${c.health}`);
  const flag = report.stack === "drcon" ? "" : ` --stack ${report.stack}`;
  return `stack ${report.stack} is not up (${why.join(", ")}): run \`drcon up${flag}\``;
}

function setHealth(components: ComponentStatus[], role: ComponentStatus["role"], health: string) {
  const c = components.find((x) => x.role === role);
  if (c) c.health = health;
}

export function nameOf(c: ContainerSummary): string {
  return c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12);
}

/** The registrator's last full sync, as the status table shows it. */
function syncHealth(raw: string | undefined, now: number): string {
  if (!raw) return "not synced";
  const record = parseSyncRecord(raw);
  return record ? `synced ${ago(record.at, now)}` : "sync unknown (unreadable record)";
}

function ago(iso: string, now: number): string {
  return `${Math.max(0, Math.round((now - Date.parse(iso)) / 1000))} s ago`;
}
