import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { LABELS } from "../../src/contract.js";
import { registrationsFor } from "../../src/registrator/registration.js";
import {
  builtImageTag,
  consulSpec,
  instanceSpec,
  lbSpec,
  registratorSpec,
} from "../../src/stack/components.js";

const config = loadConfig({ cwd: "/nonexistent-dir", env: {} });

describe("component specs", () => {
  it("publishes Consul and the LB on 127.0.0.1 only by default", () => {
    expect(consulSpec(config).HostConfig?.PortBindings).toEqual({
      "8500/tcp": [{ HostIp: "127.0.0.1", HostPort: "8500" }],
    });
    expect(lbSpec(config, "drcon-lb:x", "k").HostConfig?.PortBindings).toEqual({
      "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }],
    });
  });

  it("labels everything with the stack and role and names it after the stack", () => {
    const specs = [
      consulSpec(config),
      registratorSpec(config, "r:1", "/var/run/docker.sock", "k"),
      lbSpec(config, "l:1", "k"),
    ];
    expect(specs.map((s) => s.name)).toEqual(["drcon-consul", "drcon-registrator", "drcon-lb"]);
    expect(specs.map((s) => s.Labels?.["io.drcon.role"])).toEqual(["consul", "registrator", "lb"]);
    for (const s of specs) {
      expect(s.Labels?.["io.drcon.stack"]).toBe("drcon");
      expect(s.HostConfig?.NetworkMode).toBe("drcon");
    }
  });

  it("restarts components and instances always (unless-stopped never restarts after a crash)", () => {
    const svc = config.services.simple;
    if (!svc) throw new Error("the default config has a simple service");
    const specs = [
      consulSpec(config),
      registratorSpec(config, "r:1", "/var/run/docker.sock", "route-key"),
      lbSpec(config, "l:1", "route-key"),
      instanceSpec(config, "simple", svc, 1),
    ];
    for (const s of specs) expect(s.HostConfig?.RestartPolicy).toEqual({ Name: "always" });
  });

  it("keeps Consul's data in the stack's volume and script checks off", () => {
    const spec = consulSpec(config);
    expect(spec.HostConfig?.Mounts).toEqual([
      { Type: "volume", Source: "drcon-consul-data", Target: "/consul/data" },
    ]);
    expect(spec.Cmd).toContain("-hcl=enable_script_checks = false");
  });

  it("changes the spec hash when the spec changes, and only then", () => {
    const a = consulSpec(config).Labels?.[LABELS.spec];
    expect(consulSpec(config).Labels?.[LABELS.spec]).toBe(a);
    const moved = { ...config, ports: { ...config.ports, consul: 9500 } };
    expect(consulSpec(moved).Labels?.[LABELS.spec]).not.toBe(a);
  });

  it("declares instances with SERVICE_* variables and publishes no host port", () => {
    const svc = { image: "w:1", port: 80, replicas: 1, env: { A: "b" }, healthPath: "/health" };
    const spec = instanceSpec(config, "simple", svc, 2);
    expect(spec.name).toBe("drcon-simple-2");
    expect(spec.Env).toEqual(["A=b", "SERVICE_80_NAME=simple", "SERVICE_CHECK_HTTP=/health"]);
    expect(spec.HostConfig?.PortBindings).toBeUndefined();
    expect(spec.Labels).toMatchObject({ "io.drcon.service": "simple", "io.drcon.instance": "2" });
  });

  it("an instance of an image exposing several ports is registered as the service on its port only", () => {
    const svc = { image: "c:1", port: 8500, replicas: 1, env: { SERVICE_NAME: "x" } };
    const spec = instanceSpec(config, "c", svc, 1);
    const exposed = ["8300/tcp", "8301/tcp", "8301/udp", "8500/tcp", "8600/tcp", "8600/udp"];
    const { registrations, refused } = registrationsFor(
      {
        id: "c0ffee",
        name: String(spec.name),
        env: spec.Env ?? [],
        labels: spec.Labels ?? {},
        exposedPorts: [...new Set([...exposed, ...Object.keys(spec.ExposedPorts ?? {})])],
        address: "172.18.0.9",
        startedAt: "2026-11-25T02:00:00.000Z",
        health: undefined,
      },
      { stack: "drcon", routeKey: "k" },
    );
    expect(refused).toEqual([]);
    expect(registrations.map((r) => [r.id, r.name, r.port])).toEqual([
      ["drcon-c-1:8500", "c", 8500],
    ]);
  });

  it("tags built images by version and by the hash of their inputs", () => {
    const a = builtImageTag("lb", "0.1.0", ["nginx:1", "tmpl"]);
    expect(a).toMatch(/^drcon-lb:0\.1\.0-[0-9a-f]{10}$/);
    expect(builtImageTag("lb", "0.1.0", ["nginx:2", "tmpl"])).not.toBe(a);
  });
});
