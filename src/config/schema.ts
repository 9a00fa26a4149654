import { isIP } from "node:net";
import { z } from "zod";
import { DNS_LABEL } from "../contract.js";
import { DEFAULT_CONFIG, DEFAULT_IMAGES } from "./defaults.js";

export const PULL_POLICIES = ["missing", "always", "never"] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

// Loose on purpose: Docker itself validates references; this only keeps spaces, quotes and
// shell or config metacharacters out of anything drcon passes on.
export const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/;

const dnsLabel = z
  .string()
  .regex(DNS_LABEL, "must be a DNS label (a-z, 0-9 and '-', at most 63 characters)");
const port = z.number().int().min(1).max(65535);
const image = z.string().regex(IMAGE_REF, "must be an image reference such as name:tag");

export const serviceSchema = z.strictObject({
  image: image.default(DEFAULT_IMAGES.demo),
  port: port.default(80),
  replicas: z.number().int().min(0).default(1),
  healthPath: z
    .string()
    .regex(/^\/[A-Za-z0-9._~/-]*$/, "must be a URL path such as /health")
    .optional(),
  env: z.record(z.string(), z.string()).default({}),
});

export const configSchema = z
  .strictObject({
    // The stack name prefixes every container, so it stays short.
    stack: dnsLabel.max(30).default(DEFAULT_CONFIG.stack),
    hostIp: z
      .string()
      .refine((v) => isIP(v) !== 0, "must be an IP address such as 127.0.0.1")
      .default(DEFAULT_CONFIG.hostIp),
    pull: z.enum(PULL_POLICIES).default(DEFAULT_CONFIG.pull),
    ports: z
      .strictObject({ lb: port.default(8080), consul: port.default(8500) })
      .default(DEFAULT_CONFIG.ports),
    images: z
      .strictObject({
        consul: image.default(DEFAULT_IMAGES.consul),
        consulTemplate: image.default(DEFAULT_IMAGES.consulTemplate),
        nginx: image.default(DEFAULT_IMAGES.nginx),
        node: image.default(DEFAULT_IMAGES.node),
      })
      .default(DEFAULT_CONFIG.images),
    // The service at `/` of the LB; the first service when not given.
    defaultService: dnsLabel.optional(),
    maxReplicas: z.number().int().min(1).max(1000).default(DEFAULT_CONFIG.maxReplicas),
    services: z
      .record(dnsLabel, serviceSchema)
      .refine((s) => Object.keys(s).length > 0, "must name at least one service")
      .default(() => ({ simple: { image: DEFAULT_IMAGES.demo, port: 80, replicas: 1, env: {} } })),
  })
  .refine((c) => c.defaultService === undefined || c.defaultService in c.services, {
    message: "must be one of the services",
    path: ["defaultService"],
  })
  .transform((c) => ({ ...c, defaultService: c.defaultService ?? firstKey(c.services) }));

function firstKey(record: Record<string, unknown>): string {
  return Object.keys(record)[0] ?? DEFAULT_CONFIG.defaultService;
}

export type Config = z.infer<typeof configSchema>;
export type ServiceConfig = Config["services"][string];
