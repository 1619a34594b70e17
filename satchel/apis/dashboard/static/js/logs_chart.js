// The hourly logs chart on #/logs: GET /api/logs/stats (same filter as the list) drawn as SVG bars
// with DOM calls only. It is redrawn at the width of its frame, so text keeps its size on a phone
// instead of being scaled down with a viewBox.
import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const HOUR_MS = 3600 * 1000;
const MAX_HOURS = 24 * 31; // logs are kept for days, not months; a longer span is not filled hour by hour
const HEIGHT = 200;
const PAD = { top: 12, right: 12, bottom: 40, left: 44 };
const LABEL_WIDTH = 84; // room one x-axis label needs

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  for (const child of children.flat()) if (child !== null && child !== undefined) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

/** "2026-12-05 08:00:00.000Z" -> its time in ms, or NaN. */
function hourOf(date) {
  return Date.parse(String(date).replace(" ", "T"));
}

function label(ms, withDay) {
  const iso = new Date(ms).toISOString(); // UTC, as the logs are
  return withDay ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

/** [{ms, total}] for every hour from the first to the last entry (hours without entries: 0). */
export function hourlySeries(stats) {
  const points = (stats || []).map((p) => ({ ms: hourOf(p.date), total: Number(p.total) || 0 })).filter((p) => !Number.isNaN(p.ms));
  points.sort((a, b) => a.ms - b.ms);
  if (points.length < 2) return points;
  const first = points[0].ms;
  const last = points[points.length - 1].ms;
  if ((last - first) / HOUR_MS > MAX_HOURS) return points;
  const byHour = new Map(points.map((p) => [p.ms, p.total]));
  const out = [];
  for (let ms = first; ms <= last; ms += HOUR_MS) out.push({ ms, total: byHour.get(ms) || 0 });
  return out;
}

/** A round top for the y axis (1, 2, 5 x 10^n) and its step, for about four grid lines. */
function scale(max) {
  if (max <= 4) return { top: Math.max(1, max), step: 1 };
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((v) => v >= rough);
  return { top: Math.ceil(max / step) * step, step };
}

export function summary(series) {
  const total = series.reduce((sum, p) => sum + p.total, 0);
  if (series.length === 0) return "No log entries match.";
  const busiest = series.reduce((a, b) => (b.total > a.total ? b : a));
  const from = label(series[0].ms, true);
  const to = label(series[series.length - 1].ms, true);
  return `${total} log entries from ${from} to ${to} UTC (${series.length} hours); busiest hour ${label(busiest.ms, true)} with ${busiest.total}.`;
}

function draw(series, width, titleText) {
  const plotW = Math.max(40, width - PAD.left - PAD.right);
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const { top, step } = scale(Math.max(0, ...series.map((p) => p.total)));
  const y = (v) => PAD.top + plotH - (v / top) * plotH;
  const slot = plotW / Math.max(1, series.length);
  const barW = Math.max(1, Math.min(slot * 0.8, 40));
  const descId = `chart-desc-${Math.random().toString(36).slice(2)}`;
  const text = summary(series);
  const grid = [];
  for (let v = 0; v <= top; v += step) {
    grid.push(s("line", { class: "chart-grid", x1: PAD.left, x2: PAD.left + plotW, y1: y(v), y2: y(v) }),
      s("text", { class: "chart-label", x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)));
  }
  const every = Math.max(1, Math.ceil(LABEL_WIDTH / slot));
  const ticks = [];
  let lastDay = "";
  series.forEach((p, i) => {
    if (i % every !== 0) return;
    const day = new Date(p.ms).toISOString().slice(0, 10);
    const x = PAD.left + slot * i + slot / 2;
    ticks.push(s("line", { class: "chart-axis", x1: x, x2: x, y1: PAD.top + plotH, y2: PAD.top + plotH + 4 }),
      // centred under its bar, but kept inside the picture (a dated label is about 66px wide)
      s("text", { class: "chart-label", x: Math.min(x, width - 36), y: PAD.top + plotH + 18, "text-anchor": "middle" }, label(p.ms, day !== lastDay)));
    lastDay = day;
  });
  const bars = series.map((p, i) => s("rect", {
    class: "chart-bar", "data-hour": new Date(p.ms).toISOString(), "data-total": p.total,
    x: PAD.left + slot * i + (slot - barW) / 2, y: y(p.total), width: barW, height: Math.max(0, PAD.top + plotH - y(p.total)),
  }, s("title", {}, `${label(p.ms, true)} UTC: ${p.total}`)));
  return s("svg", { class: "chart", width, height: HEIGHT, role: "img", "aria-label": `${titleText}: ${text}`, "aria-describedby": descId },
    s("title", {}, titleText), s("desc", { id: descId }, text),
    grid, s("line", { class: "chart-axis", x1: PAD.left, x2: PAD.left + plotW, y1: PAD.top + plotH, y2: PAD.top + plotH }), ticks, bars,
    s("text", { class: "chart-label chart-caption", x: PAD.left + plotW, y: HEIGHT - 4, "text-anchor": "end" }, "hour (UTC)"));
}

/** The chart's frame; `show(stats)` (re)draws it, `fail(message)` says why there is nothing. */
export function logsChart(titleText = "Log entries per hour") {
  const frame = h("div", { class: "chart-frame" });
  const figure = h("figure", { class: "card chart-card" }, h("figcaption", { class: "chart-caption-title" }, titleText), frame);
  let series = [];
  let failure = "";
  let shownWidth = 0;
  // The observer's first callback can land after `fail`: the failure is state, not only what the frame shows.
  const render = () => {
    const width = Math.floor(frame.clientWidth);
    if (width <= 0) return;
    shownWidth = width;
    const text = failure || summary(series);
    frame.replaceChildren(series.length ? draw(series, width, titleText) : h("p", { class: "hint" }, text));
  };
  new ResizeObserver(() => { if (Math.floor(frame.clientWidth) !== shownWidth) render(); }).observe(frame);
  return {
    figure,
    show(stats) {
      series = hourlySeries(stats);
      failure = "";
      render();
    },
    fail(message) {
      series = [];
      failure = message;
      frame.replaceChildren(h("p", { class: "hint" }, message));
    },
  };
}
