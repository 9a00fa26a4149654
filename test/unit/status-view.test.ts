import { describe, expect, it } from "vitest";
import { notUpMessage, type StatusReport } from "../../src/services/status.js";
import { duration, renderStatus, table } from "../../src/ui/status-view.js";

// NO_COLOR is not set here, but vitest's stdout is not a TTY, so chalk emits no colour codes.
const report: StatusReport = {
  stack: "drcon",
  up: true,
  urls: { lb: "http://127.0.0.1:8080", consul: "http://127.0.0.1:8500" },
  components: [
    {
      role: "consul",
      name: "drcon-consul",
      state: "running",
      health: "leader 172.18.0.2:8300",
      uptimeSeconds: 75,
    },
    {
      role: "registrator",
      name: "drcon-registrator",
      state: "running",
      health: "synced 3 s ago",
      uptimeSeconds: 74,
    },
    { role: "lb", name: "drcon-lb", state: "running", health: "answering", uptimeSeconds: 7300 },
  ],
  services: [
    {
      name: "simple",
      instances: [
        {
          name: "drcon-simple-1",
          address: "172.18.0.5:80",
          health: "passing",
          routed: true,
          managed: true,
          revision: "1.11.0-aaaaaaa",
          outdated: true,
          canary: false,
        },
        {
          name: "byhand:simple:80",
          address: "172.18.0.9:80",
          health: "critical",
          routed: false,
          managed: false,
          revision: null,
          outdated: false,
          canary: false,
        },
      ],
    },
  ],
  attention: [],
};

describe("renderStatus", () => {
  it("shows components, URLs and per-service instances with routing", () => {
    const text = renderStatus(report);
    expect(text).toContain("Stack drcon: up");
    expect(text).toMatch(/consul\s+drcon-consul\s+running\s+leader 172\.18\.0\.2:8300\s+1m15s/);
    expect(text).toMatch(/lb\s+drcon-lb\s+running\s+answering\s+2h01m/);
    expect(text).toContain("Load balancer  http://127.0.0.1:8080");
    expect(text).toContain("Service simple: 1 of 2 routed");
    expect(text).toMatch(
      /drcon-simple-1\s+172\.18\.0\.5:80\s+passing\s+yes\s+1\.11\.0-aaaaaaa \(outdated\)/,
    );
    expect(text).toMatch(/byhand:simple:80 \(by hand\)\s+172\.18\.0\.9:80\s+critical\s+no/);
  });

  it("tells how to start a stack that is not there", () => {
    const text = renderStatus({
      ...report,
      up: false,
      urls: null,
      services: [],
      components: report.components.map((c) => ({
        ...c,
        state: "missing",
        health: "-",
        uptimeSeconds: null,
      })),
    });
    expect(text).toContain("Stack drcon: not up");
    expect(text).toContain("start it with `drcon up`");
  });

  it("lists what needs attention with the command that repairs it", () => {
    const line = "not running: drcon-simple-2 (exited): `drcon up` starts them again";
    const text = renderStatus({ ...report, attention: [line] });
    expect(text).toContain(`Needs attention:\n  ${line}`);
    expect(renderStatus(report)).not.toContain("Needs attention");
  });

  it("aligns tables and formats durations", () => {
    expect(table(["A", "BB"], [["xxx", "y"]]).split("\n")).toEqual(["  A    BB", "  xxx  y"]);
    expect([duration(null), duration(5), duration(65), duration(3660)]).toEqual([
      "-",
      "5s",
      "1m05s",
      "1h01m",
    ]);
  });
});

describe("notUpMessage", () => {
  it("names the components that do not run, and the command that repairs them", () => {
    const [consul, registrator, lb] = report.components;
    const down: StatusReport = {
      ...report,
      stack: "demo",
      up: false,
      components: [
        { ...(consul as StatusReport["components"][number]) },
        { ...(registrator as StatusReport["components"][number]), state: "exited" },
        { ...(lb as StatusReport["components"][number]), state: "missing" },
      ],
    };
    expect(notUpMessage(down)).toBe(
      "stack demo is not up (registrator exited, lb missing): run `drcon up --stack demo`",
    );
  });

  it("gives each component's health when all run but the stack does not answer", () => {
    const lb = { ...(report.components[2] as StatusReport["components"][number]) };
    lb.health = "not answering";
    const down = { ...report, up: false, components: [...report.components.slice(0, 2), lb] };
    expect(notUpMessage(down)).toBe(
      "stack drcon is not up (consul: leader 172.18.0.2:8300, registrator: synced 3 s ago, lb: not answering): run `drcon up`",
    );
  });
});
