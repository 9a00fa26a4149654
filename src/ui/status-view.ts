import { elapsed } from "../base/time.js";
import type { StatusReport } from "../services/status.js";
import { color } from "./colors.js";

/** `drcon status` as text: pure, so it is unit-tested without a stack. */
export function renderStatus(report: StatusReport): string {
  const lines: string[] = [];
  const state = report.up ? color.green("up") : color.yellow("not up");
  lines.push(`Stack ${color.bold(report.stack)}: ${state}`);
  lines.push(
    table(
      ["COMPONENT", "CONTAINER", "STATE", "HEALTH", "UPTIME"],
      report.components.map((c) => [c.role, c.name, c.state, c.health, duration(c.uptimeSeconds)]),
    ),
  );
  if (report.urls) {
    lines.push("", `Load balancer  ${report.urls.lb}`, `Consul UI      ${report.urls.consul}/ui/`);
  }
  for (const s of report.services) {
    lines.push(
      "",
      `Service ${color.bold(s.name)}: ${s.instances.filter((i) => i.routed).length} of ${s.instances.length} routed`,
    );
    if (s.instances.length === 0) continue;
    lines.push(
      table(
        ["INSTANCE", "ADDRESS", "HEALTH", "ROUTED", "REVISION"],
        s.instances.map((i) => [
          i.managed ? i.name : `${i.name} (by hand)`,
          i.address ?? "-",
          i.health,
          i.routed ? "yes" : "no",
          `${i.revision ?? "-"}${i.outdated ? " (outdated)" : i.canary ? " (canary)" : ""}`,
        ]),
      ),
    );
  }
  if (report.attention.length > 0) {
    lines.push("", color.yellow("Needs attention:"), ...report.attention.map((a) => `  ${a}`));
  }
  if (!report.up && report.components.every((c) => c.state === "missing")) {
    lines.push("", `Nothing runs for stack ${report.stack}: start it with \`drcon up\`.`);
  }
  return lines.join("\n");
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [color.dim(line(header)), ...rows.map(line)].map((l) => `  ${l}`).join("\n");
}

/** An uptime: 42s, 3m05s, 1h02m; "-" when the component does not run. */
export function duration(seconds: number | null): string {
  return seconds === null ? "-" : elapsed(seconds * 1000);
}
