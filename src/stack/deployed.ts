// The revisions drcon deployed per service, newest last, kept in Consul's KV store: what
// `scale` starts after a deploy, what `status` compares instances with, what `rollback` goes to.
import { z } from "zod";
import { DrconError } from "../base/errors.js";
import { type ServiceConfig, serviceSchema } from "../config/schema.js";
import type { ConsulApi } from "../consul/client.js";
import { REVISION } from "../contract.js";
import { revisionOf } from "./revision.js";
import { StackRuntime } from "./runtime.js";

/** How many deployed revisions each service keeps. */
export const KEPT_REVISIONS = 5;

export interface DeployedRevision {
  revision: string;
  spec: ServiceConfig;
  at: string;
}

const entrySchema = z.strictObject({
  revision: z.string().regex(REVISION),
  spec: serviceSchema,
  at: z.string(),
});

export function deployedKey(service: string): string {
  return `drcon/deploy/${service}`;
}

/**
 * The history as stored, or empty when the key is missing or holds anything else (anyone who
 * reaches Consul can write it): an entry whose spec does not hash to its revision is dropped.
 */
export function parseHistory(raw: string | undefined): DeployedRevision[] {
  if (!raw) return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return [];
  }
  const parsed = z.array(entrySchema).safeParse(value);
  if (!parsed.success) return [];
  return parsed.data.filter((e) => revisionOf(e.spec) === e.revision);
}

/** The history with `spec` appended (the oldest dropped past KEPT_REVISIONS). */
export function appendRevision(
  history: DeployedRevision[],
  spec: ServiceConfig,
  at: Date,
): DeployedRevision[] {
  const entry = {
    revision: revisionOf(spec),
    spec: { ...spec, replicas: 0 },
    at: at.toISOString(),
  };
  return [...history, entry].slice(-KEPT_REVISIONS);
}

export async function readHistory(
  consul: Pick<ConsulApi, "kvGet">,
  service: string,
): Promise<DeployedRevision[]> {
  return parseHistory(await consul.kvGet(deployedKey(service)));
}

export async function writeHistory(
  consul: ConsulApi,
  service: string,
  history: DeployedRevision[],
): Promise<void> {
  await consul.kvSet(deployedKey(service), JSON.stringify(history));
}

/** The spec a service's new instances are made from: the last deployed one, else `configured`. */
export async function currentSpec(
  consul: ConsulApi,
  service: string,
  configured: ServiceConfig,
): Promise<ServiceConfig> {
  const last = (await readHistory(consul, service)).at(-1);
  return last ? { ...last.spec, replicas: configured.replicas } : configured;
}

/** The revision before the current one, or a one-line error when there is none. */
export async function previousRevision(consul: ConsulApi, service: string): Promise<ServiceConfig> {
  const history = await readHistory(consul, service);
  const previous = history.at(-2);
  if (!previous) {
    throw new DrconError(
      `${service} has no earlier revision to roll back to: drcon deploy records one each time it deploys`,
    );
  }
  return previous.spec;
}

/** The runtime with each service's last deployed spec in place of the configured one. */
export async function withDeployedSpecs(
  runtime: StackRuntime,
  consul: ConsulApi,
): Promise<StackRuntime> {
  const entries = await Promise.all(
    Object.entries(runtime.config.services).map(
      async ([name, svc]) => [name, await currentSpec(consul, name, svc)] as const,
    ),
  );
  const config = { ...runtime.config, services: Object.fromEntries(entries) };
  return new StackRuntime(config, runtime.engine);
}

/** Canaries started by `deploy --canary`, waiting for `--promote` or `--abort`. */
export interface Canary {
  revision: string;
  spec: ServiceConfig;
  instances: string[];
}

const canarySchema = z.strictObject({
  revision: z.string().regex(REVISION),
  spec: serviceSchema,
  instances: z.array(z.string()),
});

export function canaryKey(service: string): string {
  return `drcon/canary/${service}`;
}

/** The canary record, or undefined when there is none (or it holds anything else). */
export function parseCanary(raw: string | undefined): Canary | undefined {
  if (!raw) return undefined;
  try {
    const parsed = canarySchema.safeParse(JSON.parse(raw));
    return parsed.success && revisionOf(parsed.data.spec) === parsed.data.revision
      ? parsed.data
      : undefined;
  } catch {
    return undefined;
  }
}

export async function readCanary(
  consul: Pick<ConsulApi, "kvGet">,
  service: string,
): Promise<Canary | undefined> {
  return parseCanary(await consul.kvGet(canaryKey(service)));
}

/** Records the canaries; undefined clears the record. */
export async function writeCanary(
  consul: ConsulApi,
  service: string,
  canary: Canary | undefined,
): Promise<void> {
  await consul.kvSet(canaryKey(service), canary ? JSON.stringify(canary) : "");
}

/** The spec of the service's canaries, or a one-line error when it has none. */
export async function canarySpec(consul: ConsulApi, service: string): Promise<ServiceConfig> {
  const canary = await readCanary(consul, service);
  if (!canary) {
    throw new DrconError(
      `${service} has no canary to promote: start one with drcon deploy ${service} --canary 1`,
    );
  }
  return canary.spec;
}
