// Container specifications of the stack's three components (pure: no I/O), so that what drcon
// asks of the engine is unit-tested and its hash tells whether a running container is current.
import { createHash } from "node:crypto";
import { stackFlag } from "../config/defaults.js";
import type { Config, ServiceConfig } from "../config/schema.js";
import { ENV, LABELS } from "../contract.js";
import type { ContainerSpec } from "../docker/engine.js";
import { containerName, instanceLabels, instanceName, stackLabels, volumeName } from "./names.js";
import { revisionOf } from "./revision.js";

export const CONSUL_HTTP_PORT = 8500;
export const LB_HTTP_PORT = 80;
/** A host port the stack publishes: whose, for what inside it, and the flag that chooses it. */
export interface PublishedPort {
  role: "lb" | "consul";
  what: string;
  port: number;
  inside: number;
  flag: string;
}

/** The host ports `up` publishes (and `doctor` checks). */
export function publishedPorts(config: Config): PublishedPort[] {
  return [
    {
      role: "lb",
      what: "load balancer",
      port: config.ports.lb,
      inside: LB_HTTP_PORT,
      flag: "--port",
    },
    {
      role: "consul",
      what: "Consul",
      port: config.ports.consul,
      inside: CONSUL_HTTP_PORT,
      flag: "--consul-port",
    },
  ];
}

/**
 * How long a component or instance gets to stop by its own stop signal before SIGKILL: nginx's
 * graceful stop (STOPSIGNAL SIGQUIT) finishes the requests it holds within this time.
 */
export const GRACEFUL_STOP_S = 10;
// `always`, not `unless-stopped`: after an engine crash the engine marks every container as
// stopped by hand, and `unless-stopped` then never starts them again (moby #31735). `docker
// stop`/`docker kill` (drcon's `down`, `scale`, `kill`) still count as deliberate: Docker does
// not restart those until the engine itself restarts.
const RESTART_POLICY = { Name: "always" } as const;

export interface BuiltImages {
  registrator: string;
  lb: string;
}

export function consulSpec(config: Config): ContainerSpec {
  const stack = config.stack;
  return withHash({
    name: containerName(stack, "consul"),
    Image: config.images.consul,
    // The official image's entrypoint switches users and adds flags; calling the binary keeps
    // the same command line on the official image and on the offline stand-in.
    Entrypoint: ["/bin/consul"],
    Cmd: [
      "agent",
      "-server",
      "-bootstrap-expect=1",
      "-ui",
      `-node=${stack}-consul`,
      "-data-dir=/consul/data",
      "-client=0.0.0.0",
      // Faster leader election on a single server: 1.8 s instead of 7 s to a leader.
      "-hcl=performance { raft_multiplier = 1 }",
      "-hcl=enable_script_checks = false",
      "-hcl=disable_update_check = true",
    ],
    Labels: stackLabels(stack, "consul"),
    ExposedPorts: { [`${CONSUL_HTTP_PORT}/tcp`]: {} },
    HostConfig: {
      NetworkMode: stack,
      PortBindings: {
        [`${CONSUL_HTTP_PORT}/tcp`]: [
          { HostIp: config.hostIp, HostPort: String(config.ports.consul) },
        ],
      },
      Mounts: [{ Type: "volume", Source: volumeName(stack), Target: "/consul/data" }],
      RestartPolicy: RESTART_POLICY,
    },
  });
}

export function consulVolumeLabels(config: Config): Record<string, string> {
  return { ...stackLabels(config.stack, "consul"), [LABELS.consulImage]: config.images.consul };
}

/**
 * Why `up` must not give Consul's existing data volume (with these labels) to this config's
 * Consul image: Consul supports no up- or downgrade of its data between arbitrary versions
 * (say 1.8.7 and 1.21.4). Undefined when it may, also for a volume that records no image.
 */
export function consulVolumeProblem(
  config: Config,
  labels: Record<string, string> | undefined,
): string | undefined {
  const madeBy = labels?.[LABELS.consulImage];
  if (!madeBy || madeBy === config.images.consul) return undefined;
  return `volume ${volumeName(config.stack)} holds the data of ${madeBy}, which Consul does not support moving to ${config.images.consul}: run \`drcon down${stackFlag(config.stack)} --volumes\` to start afresh, or keep the old image with DRCON_IMAGE_CONSUL=${madeBy}`;
}

export function registratorSpec(
  config: Config,
  image: string,
  dockerSocket: string,
  routeKey: string,
): ContainerSpec {
  const stack = config.stack;
  return withHash({
    name: containerName(stack, "registrator"),
    Image: image,
    Env: [
      `${ENV.stack}=${stack}`,
      `${ENV.network}=${stack}`,
      `${ENV.routeKey}=${routeKey}`,
      `${ENV.consulAddress}=${containerName(stack, "consul")}:${CONSUL_HTTP_PORT}`,
    ],
    Labels: stackLabels(stack, "registrator"),
    HostConfig: {
      NetworkMode: stack,
      Binds: [`${dockerSocket}:/var/run/docker.sock`],
      RestartPolicy: RESTART_POLICY,
    },
  });
}

/**
 * `routeKey` (the stack network's id, known to Docker's users but not to a container on the
 * network) signs every registration the registrator makes: the LB routes only what it signed.
 */
export function lbSpec(config: Config, image: string, routeKey: string): ContainerSpec {
  const stack = config.stack;
  return withHash({
    name: containerName(stack, "lb"),
    Image: image,
    Env: [
      `${ENV.consulAddress}=${containerName(stack, "consul")}:${CONSUL_HTTP_PORT}`,
      `${ENV.defaultService}=${config.defaultService}`,
      // The template routes only registrations carrying this stack's name (the registrator's meta)
      // and the registrator's signature.
      `${ENV.stack}=${stack}`,
      `${ENV.routeKey}=${routeKey}`,
    ],
    Labels: stackLabels(stack, "lb"),
    ExposedPorts: { [`${LB_HTTP_PORT}/tcp`]: {} },
    HostConfig: {
      NetworkMode: stack,
      PortBindings: {
        [`${LB_HTTP_PORT}/tcp`]: [{ HostIp: config.hostIp, HostPort: String(config.ports.lb) }],
      },
      RestartPolicy: RESTART_POLICY,
    },
  });
}

/**
 * One instance of a service. It declares itself with registrator's SERVICE_* conventions, like
 * a container a person starts by hand, and publishes no host port: the LB reaches it on the
 * stack network. It names only the configured port (SERVICE_<port>_NAME, no SERVICE_NAME): an
 * image that exposes other ports too is registered under the service's name on that port alone.
 */
export function instanceSpec(
  config: Config,
  service: string,
  svc: ServiceConfig,
  index: number,
): ContainerSpec {
  // drcon decides what the instance is registered as; the service's own env cannot rename it.
  const { SERVICE_NAME: _ignored, ...own } = svc.env;
  const env = {
    ...own,
    [`SERVICE_${svc.port}_NAME`]: service,
    ...(svc.healthPath ? { SERVICE_CHECK_HTTP: svc.healthPath } : {}),
  };
  return {
    name: instanceName(config.stack, service, index),
    Image: svc.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...instanceLabels(config.stack, service, index), ...serviceLabels(svc) },
    ExposedPorts: { [`${svc.port}/tcp`]: {} },
    HostConfig: { NetworkMode: config.stack, RestartPolicy: RESTART_POLICY },
  };
}

/** The service's settings that an instance carries as labels (read by serviceFromLabels). */
export function serviceLabels(svc: ServiceConfig): Record<string, string> {
  return {
    [LABELS.image]: svc.image,
    [LABELS.port]: String(svc.port),
    ...(svc.healthPath ? { [LABELS.healthPath]: svc.healthPath } : {}),
    [LABELS.revision]: revisionOf(svc),
  };
}

/** Labels the spec with its own hash: `up` recreates a container only when its spec changed. */
function withHash(spec: ContainerSpec): ContainerSpec {
  const hash = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 12);
  return { ...spec, Labels: { ...spec.Labels, [LABELS.spec]: hash } };
}

/** Tag of an image drcon builds: its version plus a hash of everything that goes into it. */
export function builtImageTag(name: string, version: string, inputs: string[]): string {
  const hash = createHash("sha256").update(inputs.join("\0")).digest("hex").slice(0, 10);
  return `drcon-${name}:${version}-${hash}`;
}
