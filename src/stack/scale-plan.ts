// What `drcon scale` is asked to do, and the reconcile plan (pure).
import { DrconError } from "../base/errors.js";
import { dnsLabelProblem } from "../contract.js";

export interface ScaleRequest {
  service: string;
  replicas: number;
}

/** Parses `SERVICE=N` arguments against the known services and the replica limit. */
export function parseScaleArgs(args: string[], known: string[], max: number): ScaleRequest[] {
  const seen = new Set<string>();
  return args.map((arg) => {
    const match = /^([^=]*)=(.*)$/.exec(arg);
    if (!match) throw new DrconError(`${arg}: write SERVICE=N, e.g. simple=3`);
    const [, service = "", count = ""] = match;
    if (service === "") {
      throw new DrconError(`${arg}: name a service before '=' (known: ${known.join(", ")})`);
    }
    const problem = dnsLabelProblem(service);
    if (problem)
      throw new DrconError(`${arg}: "${service}" is not a valid service name: ${problem}`);
    if (!known.includes(service)) {
      throw new DrconError(
        `${arg}: no service named ${service} (known: ${known.join(", ")}); add it to drcon.yml or pass --image`,
      );
    }
    if (!/^\d+$/.test(count)) {
      throw new DrconError(`${arg}: the count must be a whole number from 0 to ${max}`);
    }
    const replicas = Number(count);
    if (replicas > max) {
      throw new DrconError(`${arg}: at most ${max} replicas (raise maxReplicas in drcon.yml)`);
    }
    if (seen.has(service)) throw new DrconError(`${arg}: ${service} is named twice`);
    seen.add(service);
    return { service, replicas };
  });
}

export interface ExistingInstance {
  name: string;
  index: number;
  running: boolean;
}

export interface ScalePlan {
  /** Instance numbers to create and start. */
  start: number[];
  /** Running instances to drain and stop, highest numbers first. */
  stop: string[];
  /** Instances that no longer run (crashed, killed): removed so their numbers are reused. */
  remove: string[];
}

/** Keeps the lowest-numbered running instances, fills the lowest free numbers. */
export function planScale(existing: ExistingInstance[], replicas: number): ScalePlan {
  const running = existing.filter((i) => i.running).sort((a, b) => a.index - b.index);
  const remove = existing.filter((i) => !i.running).map((i) => i.name);
  const stop = running
    .slice(replicas)
    .map((i) => i.name)
    .reverse();
  const taken = new Set(running.slice(0, replicas).map((i) => i.index));
  const start: number[] = [];
  for (let n = 1; start.length < replicas - Math.min(replicas, running.length); n++) {
    if (!taken.has(n)) start.push(n);
  }
  return { start, stop, remove };
}
