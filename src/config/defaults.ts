// The embedded default stack: what `drcon up` runs with no drcon.yml at all.
// Production images are pinned official tags, never `latest`.

export const DEFAULT_IMAGES = {
  consul: "hashicorp/consul:1.21.4",
  consulTemplate: "hashicorp/consul-template:0.41.1",
  nginx: "nginx:1.28.0-alpine",
  node: "node:24.11.1-alpine",
  demo: "traefik/whoami:v1.11.0",
} as const;

export const DEFAULT_CONFIG = {
  stack: "drcon",
  hostIp: "127.0.0.1",
  pull: "missing",
  ports: { lb: 8080, consul: 8500 },
  images: {
    consul: DEFAULT_IMAGES.consul,
    consulTemplate: DEFAULT_IMAGES.consulTemplate,
    nginx: DEFAULT_IMAGES.nginx,
    node: DEFAULT_IMAGES.node,
  },
  defaultService: "simple",
  maxReplicas: 50,
  services: {
    simple: { port: 80, replicas: 1 },
  },
} as const;

/** ` --stack NAME` for a command the user is told to run; "" for the default stack. */
export function stackFlag(stack: string): string {
  return stack === DEFAULT_CONFIG.stack ? "" : ` --stack ${stack}`;
}

/** Environment variables that override the images and the pull policy. */
export const ENV_OVERRIDES = {
  DRCON_IMAGE_CONSUL: "consul",
  DRCON_IMAGE_CONSUL_TEMPLATE: "consulTemplate",
  DRCON_IMAGE_NGINX: "nginx",
  DRCON_IMAGE_NODE: "node",
} as const;
