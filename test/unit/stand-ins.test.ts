// The offline stand-ins (test/images/build.sh) stay at the versions of the defaults they stand
// in for, and test/images/ci.env names the images build.sh makes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_IMAGES } from "../../src/config/defaults.js";
import { standInEnv } from "../support/cli.ts";

const buildScript = readFileSync(join(import.meta.dirname, "..", "images", "build.sh"), "utf8");

/** A `NAME=value` assignment at the start of a line of build.sh, without its comment. */
function pinned(name: string): string {
  const match = new RegExp(`^${name}=([^\\s#]+)`, "m").exec(buildScript);
  if (!match?.[1]) throw new Error(`${name} is not set in build.sh`);
  return match[1];
}

/** The tag of a default image, without a leading "v" or a "-alpine" style suffix. */
function defaultVersion(image: string): string {
  return (image.split(":")[1] ?? "").replace(/^v/, "").replace(/-.*$/, "");
}

function series(version: string): number[] {
  return version.split(".").slice(0, 2).map(Number);
}

describe("stand-in images", () => {
  it("run the default's version of node, whoami and consul-template", () => {
    expect(pinned("NODE_VERSION")).toBe(defaultVersion(DEFAULT_IMAGES.node));
    expect(pinned("WHOAMI_VERSION")).toBe(defaultVersion(DEFAULT_IMAGES.demo));
    expect(pinned("CONSUL_TEMPLATE_VERSION")).toBe(defaultVersion(DEFAULT_IMAGES.consulTemplate));
  });

  it("run an nginx at or above the default's", () => {
    const [major = 0, minor = 0] = series(pinned("NGINX_SERIES"));
    const [defaultMajor = 0, defaultMinor = 0] = series(defaultVersion(DEFAULT_IMAGES.nginx));
    expect(major * 1000 + minor).toBeGreaterThanOrEqual(defaultMajor * 1000 + defaultMinor);
  });

  it("are the images ci.env points drcon at", () => {
    const env = standInEnv();
    expect(env.DRCON_IMAGE_CONSUL).toBe(`drcon-ci/consul:${pinned("CONSUL_VERSION")}`);
    expect(env.DRCON_IMAGE_CONSUL_TEMPLATE).toBe(
      `drcon-ci/consul-template:${pinned("CONSUL_TEMPLATE_VERSION")}`,
    );
    expect(env.DRCON_IMAGE_NGINX).toBe(`drcon-ci/nginx:${pinned("NGINX_SERIES")}`);
    expect(env.DRCON_IMAGE_NODE).toBe(`drcon-ci/node:${pinned("NODE_VERSION")}`);
    expect(env.DRCON_IMAGE_DEMO).toBe(`drcon-ci/whoami:${pinned("WHOAMI_VERSION")}`);
    expect(env.DRCON_PULL).toBe("never");
    expect(env.DRCON_CI_OLD_NGINX).toBe(`drcon-ci/nginx:${pinned("OLD_NGINX_SERIES")}`);
  });

  it("include an nginx older than the 1.27.4 the LB's entrypoint asks for", () => {
    const [major = 0, minor = 0] = series(pinned("OLD_NGINX_SERIES"));
    expect(major * 1000 + minor).toBeLessThan(1 * 1000 + 27);
  });
});
