import { DrconError } from "../base/errors.js";
import { stackFlag } from "../config/defaults.js";
import type { Config } from "../config/schema.js";
import { ConsulApi } from "../consul/client.js";
import { LABELS, type Role } from "../contract.js";
import { type ContainerSummary, DockerEngine } from "../docker/engine.js";
import { CONSUL_HTTP_PORT, LB_HTTP_PORT } from "./components.js";
import { httpUrl, urlHost } from "./ports.js";

/** Where a running stack's published ports are, read off its containers. */
export interface StackEndpoints {
  consul: ConsulApi;
  lbUrl: string;
  consulUrl: string;
}

/** A stack as it runs on the engine: its containers, found by label, and how to reach it. */
export class StackRuntime {
  constructor(
    readonly config: Config,
    readonly engine: DockerEngine = new DockerEngine(),
  ) {}

  get name(): string {
    return this.config.stack;
  }

  async containers(role?: Role): Promise<ContainerSummary[]> {
    const labels: Record<string, string> = { [LABELS.stack]: this.name };
    if (role) labels[LABELS.role] = role;
    return this.engine.listContainers(labels);
  }

  /** The running stack's endpoints, or a one-line error telling the user to `drcon up`. */
  async endpoints(): Promise<StackEndpoints> {
    const running = (await this.containers()).filter((c) => c.State === "running");
    const consul = published(running, "consul", CONSUL_HTTP_PORT);
    const lb = published(running, "lb", LB_HTTP_PORT);
    if (!consul || !lb) {
      throw new DrconError(
        `stack ${this.name} is not up: run \`drcon up${stackFlag(this.name)}\` first`,
      );
    }
    return endpointsAt(consul, lb);
  }

  /** Where this config publishes the stack: what `up` makes, before it runs. */
  configuredEndpoints(): StackEndpoints {
    const { hostIp, ports } = this.config;
    return endpointsAt({ ip: hostIp, port: ports.consul }, { ip: hostIp, port: ports.lb });
  }
}

/** The endpoints of a Consul and an LB published at these host addresses. */
function endpointsAt(
  consul: { ip: string; port: number },
  lb: { ip: string; port: number },
): StackEndpoints {
  const consulApi = new ConsulApi(urlHost(consul.ip), consul.port);
  return { consul: consulApi, consulUrl: consulApi.url, lbUrl: httpUrl(lb.ip, lb.port) };
}

export function published(
  containers: ContainerSummary[],
  role: Role,
  privatePort: number,
): { ip: string; port: number } | undefined {
  const container = containers.find((c) => c.Labels[LABELS.role] === role);
  const binding = container?.Ports.find((p) => p.PrivatePort === privatePort && p.PublicPort);
  if (!binding) return undefined;
  return { ip: binding.IP || "127.0.0.1", port: binding.PublicPort };
}
