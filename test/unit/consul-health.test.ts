import { describe, expect, it } from "vitest";
import { toHealth } from "../../src/consul/client.js";

// Entries as Consul 1.8's /v1/health/service/<name> returns them: the node's checks (serfHealth)
// beside the instance's own, plus Consul's maintenance check while it is in maintenance mode.
const serf = (status = "passing") => ({ CheckID: "serfHealth", ServiceID: "", Status: status });
const own = (id: string, status: string) => ({
  CheckID: `service:${id}`,
  ServiceID: id,
  Status: status,
  Notes: "",
});
const entry = (id: string, checks: object[], meta?: Record<string, string>) => ({
  Node: { Node: "consul", Address: "172.18.0.2" },
  Service: {
    ID: id,
    Service: "simple",
    Tags: ["drcon"],
    Address: "172.18.0.5",
    Port: 80,
    ...(meta ? { Meta: meta } : {}),
  },
  Checks: checks,
});

describe("toHealth", () => {
  it("gives each instance its address, meta and the status of its checks", () => {
    const meta = { drcon_instance: "drcon-simple-1", drcon_container: "c1" };
    expect(
      toHealth([entry("drcon-simple-1:80", [serf(), own("drcon-simple-1:80", "passing")], meta)]),
    ).toEqual([
      {
        id: "drcon-simple-1:80",
        service: "simple",
        address: "172.18.0.5",
        port: 80,
        meta,
        status: "passing",
      },
    ]);
  });

  it("takes the worst of the instance's checks: warning over passing, critical over both", () => {
    const statuses = toHealth([
      entry("a:80", [serf(), own("a:80", "warning")]),
      entry("b:80", [
        serf(),
        own("b:80", "passing"),
        { ...own("b:80", "critical"), CheckID: "b2" },
      ]),
      entry("c:80", [serf("critical"), own("c:80", "passing")]),
      entry("d:80", [serf("warning"), own("d:80", "critical")]),
    ]).map((h) => [h.id, h.status]);
    expect(statuses).toEqual([
      ["a:80", "warning"],
      ["b:80", "critical"],
      // The node's agent is failing: nothing on it is healthy, whatever its own check says.
      ["c:80", "critical"],
      ["d:80", "critical"],
    ]);
  });

  it("counts only the node's serfHealth and the instance's own checks", () => {
    const [h] = toHealth([
      entry("a:80", [
        serf(),
        own("a:80", "passing"),
        // Another node-level check, and another service's check: neither is this instance's.
        { CheckID: "memory", ServiceID: "", Status: "critical" },
        own("other:80", "critical"),
      ]),
    ]);
    expect(h?.status).toBe("passing");
  });

  it("marks an instance in maintenance with its reason, and counts it critical", () => {
    const [drained, byHand] = toHealth([
      entry("a:80", [
        serf(),
        own("a:80", "passing"),
        {
          CheckID: "_service_maintenance:a:80",
          ServiceID: "a:80",
          Status: "critical",
          Notes: "drcon scale: draining",
        },
      ]),
      // No notes at all: still in maintenance, with an empty reason.
      entry("b:80", [
        serf(),
        own("b:80", "passing"),
        { CheckID: "_service_maintenance:b:80", ServiceID: "b:80", Status: "critical" },
      ]),
    ]);
    expect(drained).toMatchObject({ status: "critical", maintenance: "drcon scale: draining" });
    expect(byHand).toMatchObject({ status: "critical", maintenance: "" });
  });

  it("leaves maintenance out when there is none, and meta empty when Consul sends none", () => {
    const [h] = toHealth([entry("a:80", [serf(), own("a:80", "critical")])]);
    expect(h).toEqual({
      id: "a:80",
      service: "simple",
      address: "172.18.0.5",
      port: 80,
      meta: {},
      status: "critical",
    });
    expect(h && "maintenance" in h).toBe(false);
  });
});
