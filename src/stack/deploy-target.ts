// What `drcon deploy` is asked to roll to (pure): the configured service with --image and --env.

import { DrconError } from "../base/errors.js";
import { IMAGE_REF, type ServiceConfig } from "../config/schema.js";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The configuration's spec for the service, with the image and environment variables given. */
export function deployTarget(
  configured: ServiceConfig,
  image: string | undefined,
  envArgs: string[],
): ServiceConfig {
  if (image !== undefined && !IMAGE_REF.test(image)) {
    throw new DrconError(`--image ${image}: write an image reference such as name:tag`);
  }
  const env = { ...configured.env };
  for (const arg of envArgs) {
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : "";
    if (!ENV_NAME.test(name)) {
      throw new DrconError(`--env ${arg}: write NAME=VALUE, e.g. --env WHOAMI_NAME=b`);
    }
    env[name] = arg.slice(eq + 1);
  }
  return { ...configured, image: image ?? configured.image, env };
}

/** The service's configured spec, or a one-line error naming the known services. */
export function knownService(
  services: Record<string, ServiceConfig>,
  service: string,
): ServiceConfig {
  const svc = services[service];
  if (svc) return svc;
  const known = Object.keys(services).join(", ");
  throw new DrconError(
    `no service named ${service} (known: ${known}): add it to drcon.yml, or start it with drcon scale ${service}=N --image IMG`,
  );
}
