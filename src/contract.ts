// The contract: every name and format that the CLI, the registrator (its own image), Consul and
// the LB's template (templates/lb) must agree on, defined once. The template cannot import it:
// test/unit/contract-template.test.ts checks the template against it. Imports nothing of ours.

/** A DNS label: what Consul, nginx server_names and Docker all accept without escaping. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why a name is not usable as a DNS label, or undefined when it is. */
export function dnsLabelProblem(name: string): string | undefined {
  if (name.length === 0) return "it is empty";
  if (name.length > 63) return "it is longer than 63 characters";
  if (!DNS_LABEL.test(name)) {
    return "use only a-z, 0-9 and '-', starting and ending with a letter or digit";
  }
  return undefined;
}

/** Docker labels drcon puts on what it makes, and reads back (the registrator too). */
export const LABELS = {
  stack: "io.drcon.stack",
  role: "io.drcon.role",
  service: "io.drcon.service",
  instance: "io.drcon.instance",
  // What drcon needs to make more instances of a service, carried by each instance, so that a
  // service added with `scale NAME=N --image IMG` needs no drcon.yml entry afterwards.
  image: "io.drcon.image",
  port: "io.drcon.port",
  healthPath: "io.drcon.health-path",
  /** The revision of the service spec the instance was made from (stack/revision.ts). */
  revision: "io.drcon.revision",
  /** Hash of a component's spec: `up` recreates a container only when its spec changed. */
  spec: "io.drcon.spec",
  /** On Consul's data volume: the Consul image that made the data in it. */
  consulImage: "io.drcon.consul-image",
} as const;

/** The values of the `io.drcon.role` label. */
export type Role = "consul" | "registrator" | "lb" | "instance";

/**
 * What a revision may look like (label io.drcon.revision, meta drcon_revision): a tag part,
 * '-', a 7-digit hash.
 */
export const REVISION = /^[a-z0-9][a-z0-9._-]{0,40}-[0-9a-f]{7}$/;

/** Environment the CLI gives the registrator's and the LB's containers. */
export const ENV = {
  stack: "DRCON_STACK",
  network: "DRCON_NETWORK",
  /** The key registrations are signed with (the stack network's id). */
  routeKey: "DRCON_ROUTE_KEY",
  defaultService: "DRCON_DEFAULT_SERVICE",
  consulAddress: "CONSUL_HTTP_ADDR",
} as const;

/** Tag on every registration drcon's registrator makes; the LB template routes only these. */
export const DRCON_TAG = "drcon";

/** Consul service meta the registrator writes; the LB template, `status`, `scale` and `watch` read it. */
export const META = {
  stack: "drcon_stack",
  container: "drcon_container",
  instance: "drcon_instance",
  started: "drcon_started",
  /** The instance's revision (its io.drcon.revision label), when it carries a valid one. */
  revision: "drcon_revision",
  /** Hash of the registration, so a resync re-registers only what changed. */
  hash: "drcon_hash",
  /** HMAC of the registration's id, address and port under the stack's route key (signed). */
  signature: "drcon_sig",
} as const;

/** The Consul key the registrator writes its sync record under after each full sync. */
export const SYNC_KEY = "drcon/registrator/synced";

/** What the registrator writes under SYNC_KEY after each full sync. */
export interface SyncRecord {
  at: string;
  registered: number;
}

export function encodeSyncRecord(record: SyncRecord): string {
  return JSON.stringify(record);
}

/**
 * The sync record, or undefined when the key is missing or holds anything else: the key is
 * writable by anyone who reaches Consul, so a bad value means "unknown", never a crash.
 */
export function parseSyncRecord(raw: string | undefined): SyncRecord | undefined {
  if (!raw) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { at, registered } = value as Record<string, unknown>;
  if (typeof at !== "string" || Number.isNaN(Date.parse(at))) return undefined;
  if (typeof registered !== "number" || !Number.isInteger(registered) || registered < 0) {
    return undefined;
  }
  return { at, registered };
}

/**
 * The LB's own server reports what its loaded configuration routes to at this host and path.
 * `_drcon` cannot collide with a service: service names are DNS labels, which have no underscore.
 */
export const ROUTES_HOST = "_drcon";
export const ROUTES_PATH = "/routes";

/** What the LB's routes answer holds (JSON). */
export interface LbRoutes {
  rendered: string;
  default: string;
  services: Record<string, string[]>;
}

/** The LB's response header naming every instance it tried ("a:80, b:80"; the last served). */
export const UPSTREAM_HEADER = "X-Drcon-Upstream";

/** The start of the LB's 503 text when a service has no healthy instance. */
export const NO_INSTANCE_TEXT = "no healthy instance of service";
