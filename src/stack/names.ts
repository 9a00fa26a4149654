// Names that end up in Docker, Consul and nginx. Everything here is validated, so that no
// name taken from a config file, a flag or a container's environment can inject configuration.
import type { ContainerSummary } from "../docker/engine.js";
import { DrconError } from "../ui/errors.js";

/** A DNS label: what Consul, nginx server_names and Docker all accept without escaping. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

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
} as const;

export type Role = "consul" | "registrator" | "lb" | "instance";

export function isDnsLabel(name: string): boolean {
  return DNS_LABEL.test(name);
}

/** Why a name is not usable, or undefined when it is. */
export function dnsLabelProblem(name: string): string | undefined {
  if (name.length === 0) return "it is empty";
  if (name.length > 63) return "it is longer than 63 characters";
  if (!DNS_LABEL.test(name)) {
    return "use only a-z, 0-9 and '-', starting and ending with a letter or digit";
  }
  return undefined;
}

export function containerName(stack: string, role: Exclude<Role, "instance">): string {
  return `${stack}-${role}`;
}

export function instanceName(stack: string, service: string, index: number): string {
  return `${stack}-${service}-${index}`;
}

export function volumeName(stack: string): string {
  return `${stack}-consul-data`;
}

export function stackLabels(stack: string, role: Role): Record<string, string> {
  return { [LABELS.stack]: stack, [LABELS.role]: role };
}

export function instanceLabels(
  stack: string,
  service: string,
  index: number,
): Record<string, string> {
  return {
    ...stackLabels(stack, "instance"),
    [LABELS.service]: service,
    [LABELS.instance]: String(index),
  };
}

/** A container holds a name drcon needs but drcon did not make it: never touched, refused. */
export function notMadeByDrcon(name: string): DrconError {
  return new DrconError(
    `a container named ${name} exists that drcon did not make: remove or rename it, or use another --stack`,
  );
}

/** A container's name as the user sees it (without Docker's leading slash). */
export function nameOf(c: ContainerSummary): string {
  return c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12);
}
