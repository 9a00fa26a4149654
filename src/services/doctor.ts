import type { Config } from "../config/schema.js";
import type { EngineSocket } from "../docker/connection.js";
import { DockerEngine } from "../docker/engine.js";
import { publishedPorts } from "../stack/components.js";
import { hostPort, isPortFree } from "../stack/ports.js";

export interface DoctorReport {
  engine: { url: string; source: string; version: string; apiVersion: string; os: string };
  /** The socket `up` bind-mounts into the registrator. */
  registratorSocket: EngineSocket;
  images: Array<{ role: string; image: string; present: boolean }>;
  ports: Array<{ name: string; address: string; free: boolean }>;
  pull: string;
}

/** Every image the stack needs, by role: the infrastructure's and each service's. */
export function configuredImages(config: Config): Array<{ role: string; image: string }> {
  return [
    { role: "consul", image: config.images.consul },
    { role: "consul-template", image: config.images.consulTemplate },
    { role: "nginx", image: config.images.nginx },
    { role: "node", image: config.images.node },
    ...Object.entries(config.services).map(([name, s]) => ({
      role: `service ${name}`,
      image: s.image,
    })),
  ];
}

export async function runDoctor(
  config: Config,
  engine = new DockerEngine(),
): Promise<DoctorReport> {
  const version = await engine.version();
  const registratorSocket = await engine.socketForContainers();
  const images = await Promise.all(
    configuredImages(config).map(async (i) => ({
      ...i,
      present: await engine.imageExists(i.image),
    })),
  );
  const ports = await Promise.all(
    publishedPorts(config).map(async (p) => ({
      name: p.what,
      address: hostPort(config.hostIp, p.port),
      free: await isPortFree(config.hostIp, p.port),
    })),
  );
  return {
    engine: { url: engine.endpoint.url, source: engine.endpoint.source, ...version },
    registratorSocket,
    images,
    ports,
    pull: config.pull,
  };
}
