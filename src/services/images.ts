import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DrconError, isKind } from "../base/errors.js";
import type { Config, PullPolicy } from "../config/schema.js";
import { LABELS } from "../contract.js";
import { type DockerEngine, engineMessage, type Progress } from "../docker/engine.js";
import { type BuiltImages, builtImageTag } from "../stack/components.js";
import { REGISTRATOR_BUNDLE, TEMPLATES_DIR, VERSION } from "../stack/paths.js";

/** Makes `ref` present locally as the pull policy says; returns what it did. */
export async function ensureImage(
  engine: DockerEngine,
  ref: string,
  policy: PullPolicy,
  progress: Progress,
): Promise<"present" | "pulled"> {
  const present = await engine.imageExists(ref);
  if (present && policy !== "always") return "present";
  if (policy === "never") {
    throw new DrconError(
      `image ${ref} is not present locally and the pull policy is "never": load or build it, or use --pull missing`,
    );
  }
  try {
    await engine.pullImage(ref, progress);
  } catch (err) {
    if (isKind(err, "engine-unreachable", "engine-unanswered")) throw err;
    const message = engineMessage(err).split("\n")[0] ?? "";
    const unreachable = registryUnreachable(message);
    if (unreachable) {
      throw new DrconError(
        `could not pull ${ref}: no registry reachable (${unreachable}): on a machine without internet, build the stand-in images with \`npm run images:offline\` and run \`npm run up:offline\` (in a clone of drcon), or load the images and use --pull never`,
        { cause: err },
      );
    }
    throw new DrconError(
      `could not pull ${ref} (${message}): check the engine's network or registry login, or load the image and use --pull never`,
      { cause: err },
    );
  }
  return "pulled";
}

/**
 * When a pull failed because the engine reached no registry at all (no DNS, no route, a timeout,
 * a refused connection), the registry's host and the reason, e.g. "registry-1.docker.io: no such
 * host"; undefined for anything else (a missing image, a refused login).
 */
export function registryUnreachable(message: string): string | undefined {
  const reason =
    /no such host|server misbehaving|network is unreachable|no route to host|connection refused|i\/o timeout|TLS handshake timeout|Client\.Timeout exceeded|dial tcp|proxyconnect/i.exec(
      message,
    )?.[0];
  if (!reason) return undefined;
  const host = /https?:\/\/([^/"\s]+)/.exec(message)?.[1];
  const detail = /: ([^:]+)$/.exec(message)?.[1]?.trim() ?? reason;
  return host ? `${host}: ${detail}` : detail;
}

/** The tags of the two images drcon builds, derived from everything that goes into them. */
export function builtImageTags(config: Config): BuiltImages {
  if (!existsSync(REGISTRATOR_BUNDLE)) {
    throw new DrconError(`${REGISTRATOR_BUNDLE} is missing: run \`npm run build\` first`);
  }
  return {
    registrator: builtImageTag("registrator", VERSION, [
      config.images.node,
      ...folderContents(join(TEMPLATES_DIR, "registrator")),
      readFileSync(REGISTRATOR_BUNDLE, "utf8"),
    ]),
    lb: builtImageTag("lb", VERSION, [
      config.images.consulTemplate,
      config.images.nginx,
      ...folderContents(join(TEMPLATES_DIR, "lb")),
    ]),
  };
}

/** Builds one of drcon's own images from templates/<name>/ unless that exact tag exists. */
export async function ensureBuilt(
  engine: DockerEngine,
  config: Config,
  name: keyof BuiltImages,
  tag: string,
  progress: Progress,
): Promise<"present" | "built"> {
  if (await engine.imageExists(tag)) return "present";
  const buildargs: Record<string, string> =
    name === "lb"
      ? { CONSUL_TEMPLATE_IMAGE: config.images.consulTemplate, NGINX_IMAGE: config.images.nginx }
      : { NODE_IMAGE: config.images.node };
  await engine.buildImage({
    contextDir: join(TEMPLATES_DIR, name),
    extra: name === "registrator" ? { "registrator.cjs": REGISTRATOR_BUNDLE } : {},
    tag,
    buildargs,
    labels: { [LABELS.role]: name },
    progress,
  });
  return "built";
}

function folderContents(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((f) => `${f}\n${readFileSync(join(dir, f), "utf8")}`);
}
