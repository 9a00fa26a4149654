import { type ServiceConfig, serviceSchema } from "../config/schema.js";
import { LABELS } from "../contract.js";
import { type ContainerSummary, nameOf } from "../docker/engine.js";
import { notMadeByDrcon } from "./names.js";
import { StackRuntime } from "./runtime.js";
import type { ExistingInstance } from "./scale-plan.js";

export interface Instance extends ExistingInstance {
  id: string;
  service: string;
  /** The revision it was made from; undefined for an instance made before drcon labelled it. */
  revision: string | undefined;
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
    name: nameOf(c),
    service: c.Labels[LABELS.service] ?? "",
    index: Number(c.Labels[LABELS.instance]),
    running: c.State === "running",
    revision: c.Labels[LABELS.revision],
  };
}

/**
 * A service's settings read back from one of its instances' labels, validated as drcon.yml is;
 * undefined when they are missing (an instance made before drcon labelled them) or invalid.
 */
export function serviceFromLabels(labels: Record<string, string>): ServiceConfig | undefined {
  const image = labels[LABELS.image];
  const healthPath = labels[LABELS.healthPath];
  if (!image) return undefined;
  const parsed = serviceSchema.safeParse({
    image,
    port: Number(labels[LABELS.port]),
    replicas: 0,
    ...(healthPath ? { healthPath } : {}),
  });
  return parsed.success ? parsed.data : undefined;
}

/**
 * The runtime with the services its instances carry in their labels added, for those that the
 * configuration does not name (added with `scale NAME=N --image IMG`). The configuration wins.
 */
export async function withLabelledServices(runtime: StackRuntime): Promise<StackRuntime> {
  const services: Record<string, ServiceConfig> = {};
  const instances = await runtime.containers("instance");
  // Lowest numbers first: the longest-running instance speaks for its service.
  instances.sort((a, b) => Number(a.Labels[LABELS.instance]) - Number(b.Labels[LABELS.instance]));
  for (const c of instances) {
    const name = c.Labels[LABELS.service];
    if (!name || name in services || name in runtime.config.services) continue;
    const svc = serviceFromLabels(c.Labels);
    if (svc) services[name] = svc;
  }
  if (Object.keys(services).length === 0) return runtime;
  const config = { ...runtime.config, services: { ...runtime.config.services, ...services } };
  return new StackRuntime(config, runtime.engine);
}

/**
 * Refuses when a container that drcon did not make holds the name of an instance to start. One
 * that carries this stack's instance labels for the service was made by a concurrent drcon.
 */
export async function refuseForeignHolder(
  runtime: StackRuntime,
  name: string,
  service: string,
): Promise<void> {
  const holder = await runtime.engine.inspectContainer(name);
  if (!holder) return;
  const labels = holder.Config.Labels ?? {};
  const ours =
    labels[LABELS.stack] === runtime.name &&
    labels[LABELS.role] === "instance" &&
    labels[LABELS.service] === service;
  if (!ours) throw notMadeByDrcon(name);
}
