// The live view of `drcon watch` on a terminal: `renderScreen` draws a WatchView as text (pure,
// unit-tested); `WatchScreen` puts it on the alternate screen a few times a second and gives the
// terminal back as it was, whatever way the command ends.
import ansiEscapes from "ansi-escapes";
import cliTruncate from "cli-truncate";
import { elapsed } from "../base/time.js";
import { clock, failureList, millis, percent, shareBar, sparkline } from "../watch/format.js";
import type { InstanceView, ServiceView } from "../watch/routing-model.js";
import type { WatchView } from "../watch/session.js";
import { color } from "./colors.js";
import { table } from "./status-view.js";

export interface ScreenSize {
  columns: number;
  rows: number;
}

/** The screen as lines, at most `rows` of them, each shorter than `columns`. */
export function renderScreen(view: WatchView, size: ScreenSize): string {
  const width = Math.max(20, size.columns - 1);
  const lines: string[] = [];
  lines.push(...header(view));
  lines.push("");
  lines.push(...routing(view));
  lines.push("");
  lines.push(...traffic(view, width));
  lines.push("");
  const room = size.rows - lines.length - 1;
  lines.push(color.bold("Events"));
  if (room > 0) {
    const recent = view.events.slice(-room);
    if (recent.length === 0) lines.push(color.dim("  none yet"));
    for (const e of recent)
      lines.push(`  ${color.dim(clock(e.t))}  ${eventColor(e.kind)(e.message)}`);
  }
  return lines
    .slice(0, Math.max(1, size.rows))
    .map((l) => cliTruncate(l, width))
    .join("\n");
}

function header(view: WatchView): string[] {
  const { settings } = view;
  const ran = view.now - view.startedAt;
  const progress =
    settings.requests !== undefined
      ? `${view.total}/${settings.requests} requests`
      : settings.durationMs !== undefined
        ? `${elapsed(ran)} of ${elapsed(settings.durationMs)}`
        : `${elapsed(ran)}`;
  const state = view.stopping ? color.yellow("stopping...") : color.dim("Ctrl-C or q stops");
  return [
    `${color.bold("drcon watch")}  ${settings.target.label}  ${settings.rate}/s  ${progress}  ${state}`,
  ];
}

function routing(view: WatchView): string[] {
  const r = view.routing;
  if (!r) return [color.dim("Routing: not known (no stack to ask)")];
  const lb =
    r.lb.reachable === false
      ? color.red("not answering")
      : r.lb.reachable === null
        ? color.dim("no answer yet")
        : `config ${r.lb.rendered ?? "?"}, reloaded ${r.lb.reloads}x${r.lb.lastReloadAt ? ` (last ${elapsed(view.now - r.lb.lastReloadAt)} ago)` : ""}`;
  const consul =
    r.consul.reachable === false
      ? color.red("not answering")
      : r.consul.reachable === null
        ? color.dim("no answer yet")
        : "watching";
  const lines = [`${color.bold("Routing")}  LB: ${lb}  Consul: ${consul}`];
  const target = view.settings.target.service;
  const services = [...r.services].sort((a, b) =>
    a.name === target ? -1 : b.name === target ? 1 : 0,
  );
  for (const svc of services) {
    lines.push(
      serviceLine(svc, svc.name === r.lb.defaultService, view.now, {
        consul: r.consul.reachable !== false,
        lb: r.lb.reachable !== false,
      }),
    );
    if (svc.instances.length === 0) continue;
    const share = view.window.perInstance;
    const shareTotal = view.window.total;
    const rows = svc.instances.map((i) => [
      i.name,
      i.address,
      i.health,
      i.routed ? "routed" : "-",
      i.id ? `${elapsed(i.ageSeconds * 1000)}${i.ageFrom === "seen" ? "+" : ""}` : "-",
      shareBar(share[i.name] ?? share[i.address] ?? 0, shareTotal),
      i.revision ?? "-",
    ]);
    const text = table(
      ["INSTANCE", "ADDRESS", "CONSUL", "LB", "AGE", `SHARE ${view.window.seconds}s`, "REVISION"],
      rows,
    ).split("\n");
    lines.push(text[0] ?? "");
    svc.instances.forEach((i, n) => {
      lines.push(rowColor(i)(text[n + 1] ?? ""));
    });
  }
  return lines;
}

function serviceLine(
  svc: ServiceView,
  isDefault: boolean,
  now: number,
  answering: { consul: boolean; lb: boolean },
): string {
  const name = `${color.bold(svc.name)}${isDefault ? color.dim(" (default)") : ""}`;
  const stale = color.dim(" (last known)");
  const passing = `Consul ${svc.passing} passing${answering.consul ? "" : stale}`;
  const routed = `${svc.lb === null ? "LB ?" : `LB routes ${svc.lb.length}`}${answering.lb ? "" : stale}`;
  const sync =
    svc.lb === null
      ? ""
      : svc.inSync
        ? color.green("in sync")
        : color.yellow(
            `out of sync for ${millis(svc.outOfSyncSince === null ? 0 : now - svc.outOfSyncSince)}`,
          );
  return `${name}: ${passing}, ${routed}  ${sync}`;
}

function rowColor(i: InstanceView): (s: string) => string {
  if (i.health === "deregistered") return color.dim;
  if (i.health === "critical") return color.red;
  if (i.health === "unknown" || i.health === "warning") return color.yellow;
  if (i.health === "passing" && !i.routed) return color.yellow;
  return (s) => s;
}

function traffic(view: WatchView, width: number): string[] {
  // The second under way is partial: the lines show the completed ones.
  const label = 8;
  const span = Math.max(10, Math.min(view.series.length - 1, width - label - 14));
  const done = view.series.slice(0, -1).slice(-span);
  const totals = done.map((b) => b.total);
  const errors = done.map((b) => b.failed);
  const max = Math.max(1, ...totals);
  const last = done[done.length - 1];
  const w = view.window;
  const failures = failureList(view.failures);
  return [
    `${color.bold("Traffic")}  one column a second, ${max}/s at most`,
    `  ${"req/s".padEnd(label - 2)}${color.cyan(sparkline(totals, max))} ${last?.total ?? 0}/s`,
    `  ${"errors".padEnd(label - 2)}${color.red(sparkline(errors, max))} ${last?.failed ?? 0}/s`,
    `  total ${view.total}${view.inFlight > 0 ? ` (+${view.inFlight} in flight)` : ""}  ok ${view.total - view.failed} (${percent(view.total - view.failed, view.total)})  failed ${view.failed}${failures ? ` (${failures})` : ""}`,
    `  last ${w.seconds} s: ${w.total} requests, ${w.failed} failed, p50 ${millis(w.latency.p50)}  p95 ${millis(w.latency.p95)}  p99 ${millis(w.latency.p99)}`,
  ];
}

function eventColor(kind: string): (s: string) => string {
  switch (kind) {
    case "deregistered":
    case "unhealthy":
    case "lb-unreachable":
    case "consul-unreachable":
      return color.red;
    case "out-of-sync":
    case "lb-unrouted":
      return color.yellow;
    case "registered":
    case "healthy":
    case "in-sync":
    case "lb-routed":
      return color.green;
    default:
      return (s) => s;
  }
}

/**
 * The terminal side: the alternate screen buffer (the shell's screen comes back untouched), the
 * cursor hidden, each frame drawn from the top left over the previous one, line by line, each
 * line's rest erased (no clear-screen, so no flicker). Keys: q or Ctrl-C call `onQuit`; the
 * terminal is restored by `stop()`, and on process exit if `stop()` was never reached.
 */
export class WatchScreen {
  private timer: NodeJS.Timeout | undefined;
  private last = "";
  private active = false;
  private readonly restoreOnExit = () => this.restore();
  private readonly onResize = () => {
    this.last = "";
    this.out.write(ansiEscapes.eraseScreen);
    this.draw();
  };
  private readonly onKey = (data: Buffer) => {
    const key = data.toString("utf8");
    if (key === "\u0003" || key === "q" || key === "Q") this.onQuit();
  };
  private view: (() => WatchView) | undefined;

  constructor(
    private readonly onQuit: () => void,
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly input: NodeJS.ReadStream = process.stdin,
    private readonly fps = 8,
  ) {}

  static fits(out: NodeJS.WriteStream = process.stdout): boolean {
    return Boolean(out.isTTY) && (out.columns ?? 0) >= 40 && (out.rows ?? 0) >= 12;
  }

  start(view: () => WatchView): void {
    this.view = view;
    this.active = true;
    process.once("exit", this.restoreOnExit);
    this.out.write(
      ansiEscapes.enterAlternativeScreen +
        ansiEscapes.cursorHide +
        ansiEscapes.eraseScreen +
        ansiEscapes.cursorTo(0, 0),
    );
    this.out.on("resize", this.onResize);
    if (this.input.isTTY) {
      this.input.setRawMode(true);
      this.input.on("data", this.onKey);
      this.input.resume();
    }
    this.draw();
    this.timer = setInterval(() => this.draw(), Math.round(1000 / this.fps));
  }

  draw(): void {
    if (!this.active || !this.view) return;
    const frame = renderScreen(this.view(), {
      columns: this.out.columns ?? 80,
      rows: this.out.rows ?? 24,
    });
    if (frame === this.last) return;
    this.last = frame;
    const lines = frame.split("\n");
    this.out.write(
      ansiEscapes.cursorTo(0, 0) +
        lines.map((l) => l + ansiEscapes.eraseEndLine).join("\n") +
        ansiEscapes.eraseDown,
    );
  }

  /** Leaves the alternate screen: the caller prints the summary on the normal one after. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.out.off("resize", this.onResize);
    process.off("exit", this.restoreOnExit);
    this.restore();
  }

  private restore(): void {
    if (!this.active) return;
    this.active = false;
    if (this.input.isTTY) {
      this.input.off("data", this.onKey);
      this.input.setRawMode(false);
      this.input.pause();
    }
    this.out.write(ansiEscapes.cursorShow + ansiEscapes.exitAlternativeScreen);
  }
}
