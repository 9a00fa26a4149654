import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_IMAGES } from "../../src/config/defaults.js";
import { loadConfig } from "../../src/config/load.js";

function dirWith(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), "drcon-config-"));
  writeFileSync(join(dir, "drcon.yml"), yaml);
  return dir;
}

const empty = mkdtempSync(join(tmpdir(), "drcon-empty-"));

describe("loadConfig", () => {
  it("gives the embedded default with no file and no environment", () => {
    const c = loadConfig({ cwd: empty, env: {} });
    expect(c.source).toBe("embedded default");
    expect(c.stack).toBe("drcon");
    expect(c.ports).toEqual({ lb: 8080, consul: 8500 });
    expect(c.hostIp).toBe("127.0.0.1");
    expect(c.pull).toBe("missing");
    expect(c.services).toEqual({
      simple: { image: DEFAULT_IMAGES.demo, port: 80, replicas: 1, env: {} },
    });
    for (const image of [...Object.values(c.images), c.services.simple?.image]) {
      expect(image).toMatch(/:[0-9v]/);
      expect(image).not.toMatch(/:latest$/);
    }
  });

  it("reads drcon.yml from the working directory and fills defaults", () => {
    const c = loadConfig({
      cwd: dirWith("stack: demo\nservices:\n  web:\n    image: my/web:1\n    port: 3000\n"),
      env: {},
    });
    expect(c.stack).toBe("demo");
    expect(c.services.web).toEqual({ image: "my/web:1", port: 3000, replicas: 1, env: {} });
  });

  it("lets the environment replace images and the pull policy, and flags win over both", () => {
    const env = {
      DRCON_IMAGE_CONSUL: "drcon-ci/consul:1.8.7",
      DRCON_IMAGE_CONSUL_TEMPLATE: "ct:1",
      DRCON_IMAGE_NGINX: "nginx:x",
      DRCON_IMAGE_NODE: "node:x",
      DRCON_IMAGE_DEMO: "drcon-ci/whoami:1",
      DRCON_PULL: "never",
    };
    const c = loadConfig({ cwd: empty, env, overrides: { pull: "always", stack: "s2", lb: 9000 } });
    expect(c.images).toEqual({
      consul: "drcon-ci/consul:1.8.7",
      consulTemplate: "ct:1",
      nginx: "nginx:x",
      node: "node:x",
    });
    expect(c.services.simple?.image).toBe("drcon-ci/whoami:1");
    expect(c.pull).toBe("always");
    expect(c.stack).toBe("s2");
    expect(c.ports.lb).toBe(9000);
  });

  it("applies DRCON_IMAGE_DEMO only to services on the demo image", () => {
    const c = loadConfig({
      cwd: dirWith("services:\n  simple: {}\n  api:\n    image: my/api:2\n"),
      env: { DRCON_IMAGE_DEMO: "demo:x" },
    });
    expect(c.services.simple?.image).toBe("demo:x");
    expect(c.services.api?.image).toBe("my/api:2");
  });

  it.each([
    ["ports:\n  lb: 70000\n", "ports.lb"],
    ["pull: sometimes\n", "pull"],
    ["services:\n  'x;}':\n    port: 80\n", "services.x;}"],
    ["services:\n  web:\n    image: 'evil image'\n", "services.web.image"],
    ["stack: Bad_Name\n", "stack"],
    ["hostIp: localhost\n", "hostIp"],
    ["colour: red\n", "(top level)"],
    ["defaultService: web\n", "defaultService"],
    ["services:\n  web:\n    healthPath: 'x y'\n", "services.web.healthPath"],
  ])("refuses %j naming the key %s", (yaml, key) => {
    const dir = dirWith(yaml);
    expect(() => loadConfig({ cwd: dir, env: {} })).toThrow(`drcon.yml: ${key}: `);
  });

  it("refuses a bad DRCON_PULL and a bad --stack", () => {
    expect(() => loadConfig({ cwd: empty, env: { DRCON_PULL: "often" } })).toThrow("pull:");
    expect(() => loadConfig({ cwd: empty, env: {}, overrides: { stack: "a;b" } })).toThrow(
      "--stack a;b: must be a DNS label",
    );
  });

  it("names the flag, not the file, when a flag gave the bad value", () => {
    expect(() => loadConfig({ cwd: empty, env: {}, overrides: { hostIp: "foo" } })).toThrow(
      /^--host-ip foo: must be an IP address such as 127\.0\.0\.1$/,
    );
    expect(loadConfig({ cwd: empty, env: {}, overrides: { hostIp: "::1" } }).hostIp).toBe("::1");
    const file = dirWith("hostIp: foo\n");
    expect(() => loadConfig({ cwd: file, env: {} })).toThrow(/drcon\.yml: hostIp: must be an IP/);
  });

  it("names a missing --config file and invalid YAML", () => {
    expect(() => loadConfig({ cwd: empty, env: {}, configPath: "nope.yml" })).toThrow(
      /nope\.yml does not exist: check --config/,
    );
    expect(() => loadConfig({ cwd: dirWith("services: [\n"), env: {} })).toThrow(
      /is not valid YAML/,
    );
  });
});
