// Small hand-written SVG charts for docs/benchmarks.md: a timeline (lines per series, event
// markers, failure ticks) and horizontal stacked bars. Plain strings; no dependency.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"];
const FONT = 'font-family="sans-serif" font-size="11"';

/** @param {string} s */
const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** @param {number} x */
const f = (x) => (Math.round(x * 10) / 10).toString();

/**
 * Writes `svg` to `path` (directories made as needed).
 * @param {string} path
 * @param {string} svg
 */
export function writeSvg(path, svg) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, svg);
}

/**
 * @typedef {{ name: string, points: Array<[number, number]> }} Series
 * @typedef {{ title: string, unit: string, series: Series[] }} Panel
 * @typedef {{ at: number, label: string, colour: string }} Marker
 */

/**
 * Panels stacked over one time axis (seconds), each with its series as lines; markers are
 * vertical lines across every panel (events); ticks are short red marks under the last panel
 * (failures), one row per name.
 * @param {{ title: string, panels: Panel[], markers: Marker[], ticks: Array<{ name: string, at: number[] }>, endS: number }} chart
 */
export function timelineSvg({ title, panels, markers, ticks, endS }) {
  const width = 900;
  const left = 60;
  const right = 170;
  const panelH = 140;
  const gap = 30;
  const top = 30;
  const tickRowH = 14;
  const ticksTop = top + panels.length * (panelH + gap);
  const height = ticksTop + ticks.length * tickRowH + 40;
  const plotW = width - left - right;
  const x = (/** @type {number} */ s) => left + (s / endS) * plotW;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<title>${esc(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const y0 = top + i * (panelH + gap) + 14;
    const max = Math.max(1, ...panel.series.flatMap((s) => s.points.map((p) => p[1])));
    const y = (/** @type {number} */ v) => y0 + panelH - 14 - (v / max) * (panelH - 14);
    out.push(
      `<text x="${left}" y="${y0 - 2}">${esc(panel.title)} (${esc(panel.unit)}, max ${f(max)})</text>`,
      `<rect x="${left}" y="${y0}" width="${plotW}" height="${panelH - 14}" fill="none" stroke="#ccc"/>`,
    );
    panel.series.forEach((s, j) => {
      const colour = COLOURS[j % COLOURS.length];
      const d = s.points.map((p) => `${f(x(p[0]))},${f(y(p[1]))}`).join(" ");
      out.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.2" points="${d}"/>`);
      out.push(
        `<text x="${left + plotW + 8}" y="${y0 + 12 + j * 14}" fill="${colour}">${esc(s.name)}</text>`,
      );
    });
  });
  for (const m of markers) {
    out.push(
      `<line x1="${f(x(m.at))}" x2="${f(x(m.at))}" y1="${top + 14}" y2="${ticksTop}" stroke="${m.colour}" stroke-opacity="0.45"/>`,
    );
  }
  ticks.forEach((row, i) => {
    const yy = ticksTop + 10 + i * tickRowH;
    out.push(`<text x="${left + plotW + 8}" y="${yy + 4}">${esc(row.name)}</text>`);
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" stroke="#eee"/>`,
      ...row.at.map(
        (t) =>
          `<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${yy - 5}" y2="${yy + 5}" stroke="red" stroke-width="1.5"/>`,
      ),
    );
  });
  const axisY = ticksTop + ticks.length * tickRowH + 14;
  for (let s = 0; s <= endS; s += Math.max(1, Math.round(endS / 10))) {
    out.push(`<text x="${f(x(s))}" y="${axisY}" text-anchor="middle">${s} s</text>`);
  }
  const legend = [...new Map(markers.map((m) => [m.label, m.colour])).entries()];
  legend.forEach(([label, colour], i) => {
    out.push(
      `<text x="${left + i * 120}" y="${axisY + 16}" fill="${colour}">| ${esc(label)}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

/**
 * One horizontal bar of consecutive parts (ms), each labelled, with a scale.
 * @param {{ title: string, parts: Array<{ label: string, ms: number }> }} chart
 */
export function stagesSvg({ title, parts }) {
  const width = 900;
  const left = 20;
  const plotW = width - 2 * left;
  const total = parts.reduce((a, p) => a + Math.max(0, p.ms), 0) || 1;
  const height = 70 + parts.length * 16;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<title>${esc(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  let at = 0;
  parts.forEach((p, i) => {
    const w = (Math.max(0, p.ms) / total) * plotW;
    const colour = COLOURS[i % COLOURS.length];
    out.push(
      `<rect x="${f(left + at)}" y="28" width="${f(Math.max(w, 0.5))}" height="20" fill="${colour}"/>`,
      `<rect x="${left}" y="${58 + i * 16}" width="10" height="10" fill="${colour}"/>`,
      `<text x="${left + 16}" y="${67 + i * 16}">${esc(p.label)}: ${f(p.ms)} ms</text>`,
    );
    at += w;
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
