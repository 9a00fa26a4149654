import { describe, expect, it } from "vitest";
import { DRCON_TAG, META } from "../../src/contract.js";
import {
  type ContainerFacts,
  registrationsFor,
  signature,
} from "../../src/registrator/registration.js";

const OWNER = { stack: "drcon", routeKey: "the-network-id" };

const base: ContainerFacts = {
  id: "c0ffee",
  name: "drcon-simple-1",
  env: ["PATH=/bin", "SERVICE_NAME=simple"],
  labels: {},
  exposedPorts: ["80/tcp"],
  address: "172.18.0.5",
  startedAt: "2026-11-25T02:00:00.000Z",
  health: undefined,
};

const map = (over: Partial<ContainerFacts>) => registrationsFor({ ...base, ...over }, OWNER);

describe("registrationsFor", () => {
  it("registers the container's address on the stack network and its exposed port, with a TCP check", () => {
    const { registrations, refused } = map({});
    expect(refused).toEqual([]);
    expect(registrations).toHaveLength(1);
    const [r] = registrations;
    expect(r).toMatchObject({
      id: "drcon-simple-1:80",
      name: "simple",
      address: "172.18.0.5",
      port: 80,
      tags: [DRCON_TAG],
      check: { tcp: "172.18.0.5:80", interval: "1s", timeout: "1s", status: "critical" },
    });
    expect(r?.meta).toMatchObject({
      [META.stack]: "drcon",
      [META.container]: "c0ffee",
      [META.instance]: "drcon-simple-1",
      [META.started]: "2026-11-25T02:00:00.000Z",
    });
    expect(r?.meta[META.hash]).toMatch(/^[0-9a-f]{12}$/);
  });

  it("signs id, address and port with the route key, as the LB template checks (HMAC-SHA256)", () => {
    const [r] = map({}).registrations;
    // echo -n 'drcon-simple-1:80|172.18.0.5:80' | openssl dgst -sha256 -hmac the-network-id
    expect(r?.meta[META.signature]).toBe(
      "c548318131089c30f8adc7d124a589b1a71a96898c71951e31aa961c9ae82df3",
    );
    const other = { id: "drcon-simple-1:80", address: "172.18.0.6", port: 80 };
    expect(signature(other, OWNER.routeKey)).not.toBe(r?.meta[META.signature]);
    expect(signature({ ...other, address: "172.18.0.5" }, "another-key")).not.toBe(
      r?.meta[META.signature],
    );
  });

  it("ignores containers that declare no SERVICE_NAME, or SERVICE_IGNORE", () => {
    expect(map({ env: ["PATH=/bin"] }).registrations).toEqual([]);
    expect(map({ env: ["SERVICE_NAME=simple", "SERVICE_IGNORE=true"] }).registrations).toEqual([]);
    expect(map({ env: ["SERVICE_NAME=simple", "SERVICE_IGNORE=0"] }).registrations).toHaveLength(1);
  });

  it("takes SERVICE_NAME from a label too, the label winning over the environment", () => {
    expect(map({ env: [], labels: { SERVICE_NAME: "web" } }).registrations[0]?.name).toBe("web");
    expect(map({ labels: { SERVICE_NAME: "web" } }).registrations[0]?.name).toBe("web");
  });

  it("names several ports as registrator does: SERVICE_<port>_NAME, else name-port", () => {
    const { registrations } = map({
      exposedPorts: ["8080/tcp", "80/tcp", "53/udp"],
      env: ["SERVICE_NAME=app", "SERVICE_8080_NAME=admin", "SERVICE_8080_TAGS=internal"],
    });
    expect(registrations.map((r) => [r.id, r.name, r.port, r.tags])).toEqual([
      ["drcon-simple-1:80", "app-80", 80, [DRCON_TAG]],
      ["drcon-simple-1:8080", "admin", 8080, [DRCON_TAG, "internal"]],
    ]);
  });

  it("registers a port named only by SERVICE_<port>_NAME, and skips SERVICE_<port>_IGNORE", () => {
    const { registrations } = map({
      exposedPorts: ["80/tcp", "9000/tcp"],
      env: ["SERVICE_9000_NAME=metrics", "SERVICE_80_IGNORE=1"],
    });
    expect(registrations.map((r) => r.name)).toEqual(["metrics"]);
  });

  it("with no SERVICE_NAME, registers only the ports named one by one (never `undefined-<port>`)", () => {
    const { registrations } = map({
      exposedPorts: ["8300/tcp", "8500/tcp", "8600/tcp", "8600/udp"],
      env: ["SERVICE_8500_NAME=c"],
    });
    expect(registrations.map((r) => [r.name, r.port])).toEqual([["c", 8500]]);
  });

  it("uses an HTTP check for SERVICE_CHECK_HTTP, with SERVICE_CHECK_INTERVAL and _TIMEOUT", () => {
    const [r] = map({
      env: [
        "SERVICE_NAME=simple",
        "SERVICE_CHECK_HTTP=/health",
        "SERVICE_CHECK_INTERVAL=2s",
        "SERVICE_CHECK_TIMEOUT=500ms",
      ],
    }).registrations;
    expect(r?.check).toEqual({
      http: "http://172.18.0.5:80/health",
      interval: "2s",
      timeout: "500ms",
      status: "critical",
    });
  });

  it("follows a Docker HEALTHCHECK with a TTL check at Docker's verdict", () => {
    expect(map({ health: "starting" }).registrations[0]?.check).toMatchObject({
      ttl: "30s",
      status: "critical",
    });
    expect(map({ health: "healthy" }).registrations[0]?.check.status).toBe("passing");
    expect(map({ health: "unhealthy" }).registrations[0]?.check.status).toBe("critical");
  });

  it("keeps the hash when only the status changes, and changes it when the definition does", () => {
    const hash = (over: Partial<ContainerFacts>) => map(over).registrations[0]?.meta[META.hash];
    expect(hash({ health: "healthy" })).toBe(hash({ health: "unhealthy" }));
    expect(hash({ address: "172.18.0.6" })).not.toBe(hash({}));
  });

  it.each([
    ["x;}", "not a DNS label"],
    ["Simple", "upper case"],
    ["a b", "a space"],
    ["simple\n}server{", "a newline"],
    ["a".repeat(64), "too long"],
    ["", "empty"],
  ])("refuses the service name %j (%s) with a reason, registering nothing", (name) => {
    const { registrations, refused } = map({ env: [`SERVICE_NAME=${name}`] });
    expect(registrations).toEqual([]);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toContain("service name");
  });

  it.each([
    ["SERVICE_TAGS=ok,bad tag", "tag"],
    ["SERVICE_CHECK_HTTP=/x;y", "SERVICE_CHECK_HTTP"],
    ["SERVICE_CHECK_HTTP=http://evil/", "SERVICE_CHECK_HTTP"],
    ["SERVICE_CHECK_INTERVAL=1s;", "SERVICE_CHECK_INTERVAL"],
    ["SERVICE_CHECK_TIMEOUT=soon", "SERVICE_CHECK_TIMEOUT"],
  ])("refuses %s", (setting, named) => {
    const { registrations, refused } = map({ env: ["SERVICE_NAME=simple", setting] });
    expect(registrations).toEqual([]);
    expect(refused[0]).toContain(named);
  });

  it("passes over a container off the stack network silently; refuses one without a TCP port", () => {
    expect(map({ address: undefined })).toEqual({ registrations: [], refused: [] });
    expect(map({ exposedPorts: ["53/udp"] }).refused).toEqual(["it exposes no TCP port"]);
  });
});
