// Container -> Consul registrations, following gliderlabs/registrator's SERVICE_* conventions
// in its `-internal` mode (the container's address on the stack network, its exposed ports).
// Pure: the agent feeds it what Docker reports and applies what comes out.
import { createHash, createHmac } from "node:crypto";
import type { Registration } from "../consul/client.js";
import { DRCON_TAG, dnsLabelProblem, LABELS, META, REVISION } from "../contract.js";

/** The parts of a container the mapping reads, taken from `docker inspect`. */
export interface ContainerFacts {
  id: string;
  /** Without Docker's leading slash. */
  name: string;
  env: string[];
  labels: Record<string, string>;
  /** Docker's ExposedPorts keys, e.g. "80/tcp". */
  exposedPorts: string[];
  /** Address on the stack network; undefined when the container is not on it. */
  address: string | undefined;
  /** When the container (last) started, ISO 8601: shown as the instance's age. */
  startedAt: string;
  /** Docker HEALTHCHECK state, undefined when the image declares none. */
  health: "starting" | "healthy" | "unhealthy" | undefined;
}

export interface CheckDefaults {
  interval: string;
  timeout: string;
}

// Consul runs checks no more often than once a second; the registrator's own probe is what
// makes a new instance routable sooner (see agent.ts).
export const CHECK_DEFAULTS: CheckDefaults = { interval: "1s", timeout: "1s" };

export interface Mapping {
  registrations: Registration[];
  /** Why something the container declared was not registered: logged, never applied. */
  refused: string[];
}

const DURATION = /^\d{1,6}(ms|s|m)$/;
const TAG = /^[A-Za-z0-9][A-Za-z0-9._:=-]{0,62}$/;
const HTTP_PATH = /^\/[A-Za-z0-9._~/%-]*$/;

/** What a container asks for, as registrations; `stack` marks them as this registrator's. */
/** Whose registrations these are: the stack, and the key its registrations are signed with. */
export interface Owner {
  stack: string;
  routeKey: string;
}

export function registrationsFor(
  container: ContainerFacts,
  { stack, routeKey }: Owner,
  defaults: CheckDefaults = CHECK_DEFAULTS,
): Mapping {
  const vars = serviceVars(container);
  const refused: string[] = [];
  const ports = container.exposedPorts
    .filter((p) => p.endsWith("/tcp"))
    .map((p) => Number(p.split("/")[0]))
    .sort((a, b) => a - b);
  const declared = vars.SERVICE_NAME !== undefined || ports.some((p) => vars[`SERVICE_${p}_NAME`]);
  // Off the stack network it is another stack's (the engine's events cover every container):
  // not this registrator's to register, nor to log about.
  if (!declared || truthy(vars.SERVICE_IGNORE) || !container.address) {
    return { registrations: [], refused };
  }
  if (ports.length === 0) return { registrations: [], refused: ["it exposes no TCP port"] };

  const registrations: Registration[] = [];
  for (const port of ports) {
    const get = (key: string): string | undefined =>
      vars[`SERVICE_${port}_${key}`] ?? vars[`SERVICE_${key}`];
    if (truthy(vars[`SERVICE_${port}_IGNORE`])) continue;
    const generic = vars.SERVICE_NAME;
    // As registrator does: one generic name over several ports gets the port as a suffix; with
    // no generic name, only the ports named one by one are registered.
    const name =
      vars[`SERVICE_${port}_NAME`] ??
      (generic !== undefined && ports.length > 1 ? `${generic}-${port}` : generic);
    if (name === undefined) continue;
    const problem = dnsLabelProblem(name);
    if (problem) {
      refused.push(`service name ${JSON.stringify(name)} on port ${port}: ${problem}`);
      continue;
    }
    const tags = splitList(get("TAGS"));
    const badTag = tags.find((t) => !TAG.test(t));
    if (badTag !== undefined) {
      refused.push(`tag ${JSON.stringify(badTag)} of ${name}: use letters, digits and . _ : = -`);
      continue;
    }
    const check = checkFor(container, port, get, defaults, refused, name);
    if (!check) continue;
    const registration: Registration = {
      id: `${container.name}:${port}`,
      name,
      address: container.address,
      port,
      tags: [DRCON_TAG, ...tags.filter((t) => t !== DRCON_TAG)],
      meta: {
        [META.stack]: stack,
        [META.container]: container.id,
        [META.instance]: container.name,
        [META.started]: container.startedAt,
        ...revisionMeta(container.labels),
      },
      check,
    };
    registration.meta[META.signature] = signature(registration, routeKey);
    registration.meta[META.hash] = hashOf(registration);
    registrations.push(registration);
  }
  return { registrations, refused };
}

function checkFor(
  container: ContainerFacts,
  port: number,
  get: (key: string) => string | undefined,
  defaults: CheckDefaults,
  refused: string[],
  name: string,
): Registration["check"] | undefined {
  const interval = get("CHECK_INTERVAL") ?? defaults.interval;
  const timeout = get("CHECK_TIMEOUT") ?? defaults.timeout;
  for (const [key, value] of [
    ["SERVICE_CHECK_INTERVAL", interval],
    ["SERVICE_CHECK_TIMEOUT", timeout],
  ] as const) {
    if (!DURATION.test(value)) {
      refused.push(`${key}=${JSON.stringify(value)} of ${name}: write a duration such as 2s`);
      return undefined;
    }
  }
  // A Docker HEALTHCHECK decides: the check is a TTL check the agent keeps at Docker's verdict.
  if (container.health !== undefined) {
    return { ttl: "30s", interval, timeout, status: statusOfHealth(container.health) };
  }
  const path = get("CHECK_HTTP");
  if (path !== undefined) {
    if (!HTTP_PATH.test(path)) {
      refused.push(
        `SERVICE_CHECK_HTTP=${JSON.stringify(path)} of ${name}: write a path such as /health`,
      );
      return undefined;
    }
    return {
      http: `http://${container.address}:${port}${path}`,
      interval,
      timeout,
      status: "critical",
    };
  }
  return { tcp: `${container.address}:${port}`, interval, timeout, status: "critical" };
}

/** The revision label as meta; anything that is not a revision is left out, never passed on. */
function revisionMeta(labels: Record<string, string>): Record<string, string> {
  const revision = labels[LABELS.revision];
  return revision && REVISION.test(revision) ? { [META.revision]: revision } : {};
}

export function statusOfHealth(health: ContainerFacts["health"]): "passing" | "critical" {
  return health === "healthy" ? "passing" : "critical";
}

/** SERVICE_* settings from env and labels; labels win, as in registrator. */
function serviceVars(container: ContainerFacts): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const entry of container.env) {
    const eq = entry.indexOf("=");
    if (eq > 0 && entry.startsWith("SERVICE_")) vars[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  for (const [key, value] of Object.entries(container.labels)) {
    if (key.startsWith("SERVICE_")) vars[key] = value;
  }
  return vars;
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
}

function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
}

/** Everything but the check's current status: a status change alone is not a new definition. */
/**
 * What the LB template recomputes (consul-template's hmacSHA256Hex) before it routes anything: a
 * registration written into Consul by anyone without the key is never routed.
 */
export function signature(r: Pick<Registration, "id" | "address" | "port">, key: string): string {
  return createHmac("sha256", key).update(`${r.id}|${r.address}:${r.port}`).digest("hex");
}

function hashOf(r: Registration): string {
  const { status: _status, ...check } = r.check;
  const stable = { ...r, check, meta: { ...r.meta, [META.hash]: "" } };
  return createHash("sha256").update(JSON.stringify(stable)).digest("hex").slice(0, 12);
}
