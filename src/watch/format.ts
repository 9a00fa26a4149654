// Small text formats shared by the watch renderers (pure).
import { FAILURE_KINDS, FAILURE_LABELS, type FailureKind } from "./stats.js";

const pad2 = (n: number) => String(n).padStart(2, "0");

/** Local wall-clock time, HH:MM:SS.mmm (or HH:MM:SS without `millis`). */
export function clock(t: number, millis = true): string {
  const d = new Date(t);
  const base = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return millis ? `${base}.${String(d.getMilliseconds()).padStart(3, "0")}` : base;
}

/** A latency: 0.42 ms, 3.1 ms, 250 ms, 1.25 s; "-" when unknown. */
export function millis(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "-";
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 10) return `${value.toFixed(1)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(2)} s`;
}

const BARS = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

/**
 * One character per value, scaled to `max` (default: the largest value): a space for 0, at least
 * the lowest bar for anything above 0, so that a single error among thousands still shows.
 */
export function sparkline(values: number[], max = Math.max(0, ...values)): string {
  return values
    .map((v) => {
      if (!(v > 0) || !(max > 0)) return " ";
      const level = Math.ceil((Math.min(v, max) / max) * BARS.length) - 1;
      return BARS[Math.max(0, Math.min(BARS.length - 1, level))];
    })
    .join("");
}

/** A share as a bar of `width` cells and a percentage: "█████░░░░░  50%". */
export function shareBar(part: number, total: number, width = 10): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, part / total)) : 0;
  const full = Math.round(ratio * width);
  const pct = `${Math.round(ratio * 100)}%`.padStart(4);
  return `${"█".repeat(full)}${"░".repeat(width - full)} ${pct}`;
}

/** "refused 2, 503 no instance 1", only the kinds that happened; "" when none did. */
export function failureList(failures: Partial<Record<FailureKind, number>>): string {
  return FAILURE_KINDS.filter((k) => (failures[k] ?? 0) > 0)
    .map((k) => `${FAILURE_LABELS[k]} ${failures[k]}`)
    .join(", ");
}

/** A percentage with up to one decimal, never rounding a failure away to 100%. */
export function percent(part: number, total: number): string {
  if (total === 0) return "-";
  const value = (part / total) * 100;
  if (part < total && value > 99.9) return "99.9%";
  return `${Number(value.toFixed(1))}%`;
}
