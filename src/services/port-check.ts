import { DrconError } from "../base/errors.js";
import { LABELS } from "../contract.js";
import { publishedPorts } from "../stack/components.js";
import { hostPort, portState } from "../stack/ports.js";
import type { StackRuntime } from "../stack/runtime.js";

/**
 * Checks, before `up` touches anything, that the LB's and Consul's host ports can be published.
 * A port that this stack's own running container already publishes is its own: it stays. Any
 * other taken port is refused now, so that a running LB is never removed for a port it cannot get.
 */
export async function checkPorts(runtime: StackRuntime): Promise<void> {
  const { hostIp, ports } = runtime.config;
  if (ports.lb === ports.consul) {
    throw new DrconError(
      `${hostPort(hostIp, ports.lb)} is given to both the load balancer and Consul: choose two ports with --port and --consul-port`,
    );
  }
  const running = (await runtime.containers()).filter((c) => c.State === "running");
  for (const w of publishedPorts(runtime.config)) {
    const own = running.find((c) => c.Labels[LABELS.role] === w.role);
    const ownsIt = own?.Ports.some(
      (p) => p.PrivatePort === w.inside && p.PublicPort === w.port && p.IP === hostIp,
    );
    if (ownsIt) continue;
    const state = await portState(hostIp, w.port);
    if (state === "in-use") {
      throw new DrconError(
        `${hostPort(hostIp, w.port)} (${w.what}) is already in use: free it, or choose another port with ${w.flag}`,
      );
    }
    if (state === "not-local") {
      throw new DrconError(
        `${hostIp} is not an address of this machine: give --host-ip (or hostIp in drcon.yml) one that is, e.g. 127.0.0.1`,
      );
    }
  }
}
