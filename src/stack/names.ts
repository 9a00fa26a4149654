// Names drcon gives what it makes in Docker (containers, the volume) and the labels it puts on
// them; the names and the label keys themselves are the contract's (src/contract.ts).
import { DrconError } from "../base/errors.js";
import { LABELS, type Role } from "../contract.js";

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
