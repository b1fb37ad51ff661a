// Charts with the vendored Chart.js (a classic script: window.Chart). Each chart is a figure
// with a caption, an accessible name and its data as a table, so nothing is only visual.
// In Arabic time runs right to left (the x axis is reversed) and legends/tooltips are RTL.

import { intlLocale, isRtl, month, num, t } from "./i18n.js";
import { h, table } from "./ui.js";

// Colour-blind-safe palette (Okabe–Ito), dark enough on white.
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
  "#000000"];

const live = new Set();

/** Destroy the charts of the page being left. */
export function destroyCharts() {
  for (const chart of live) chart.destroy();
  live.clear();
}

/**
 * A line or bar chart over months.
 * series: [{label, values: number[]}]; months: ["2025-01", ...]; format(value) for ticks.
 */
export function monthChart({ id, title, kind = "line", months, series, format = num,
  stacked = false }) {
  const canvas = h("canvas", { role: "img", "aria-label": title, id });
  const box = h("div", { class: "chart-box" }, canvas);
  const data = table({
    caption: title,
    captionHidden: true,
    columns: [
      { key: "month", label: t("chart.month"), header: true },
      ...series.map((s, i) => ({ key: `s${i}`, label: s.label, numeric: true })),
    ],
    rows: months.map((m, row) => Object.fromEntries([
      ["month", month(m, "long")],
      ...series.map((s, i) => [`s${i}`, format(s.values[row])]),
    ])),
  });
  const figure = h("figure", { class: "panel chart", "data-chart": id },
    h("figcaption", {}, title),
    box,
    h("details", { class: "data" }, h("summary", {}, t("chart.showData")), data));
  if (!window.Chart) return figure; // the table still carries the data
  const rtl = isRtl();
  const font = { family: getComputedStyle(document.documentElement).fontFamily };
  const chart = new window.Chart(canvas, {
    type: kind,
    data: {
      labels: months.map((m) => month(m)),
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.values.map((v) => (v === null || v === undefined ? null : Number(v))),
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length] + (kind === "bar" ? "cc" : "33"),
        borderWidth: 2,
        pointRadius: 2,
        tension: 0.2,
        spanGaps: true,
        fill: false,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      locale: intlLocale(),
      font,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { rtl, textDirection: rtl ? "rtl" : "ltr", labels: { font } },
        tooltip: {
          rtl, textDirection: rtl ? "rtl" : "ltr",
          callbacks: { label: (ctx) => `${ctx.dataset.label}: ${format(ctx.parsed.y)}` },
        },
      },
      scales: {
        x: { reverse: rtl, stacked, ticks: { font, maxRotation: 0, autoSkipPadding: 12 } },
        y: {
          position: rtl ? "right" : "left", stacked, beginAtZero: true,
          ticks: { font, callback: (value) => format(value) },
        },
      },
    },
  });
  live.add(chart);
  return figure;
}

/** A doughnut of parts of a whole (tier mix, grades). items: [{label, value}] */
export function partsChart({ id, title, items, format = num }) {
  const canvas = h("canvas", { role: "img", "aria-label": title, id });
  const figure = h("figure", { class: "panel chart", "data-chart": id },
    h("figcaption", {}, title), h("div", { class: "chart-box" }, canvas));
  if (!window.Chart) return figure;
  const rtl = isRtl();
  const font = { family: getComputedStyle(document.documentElement).fontFamily };
  const chart = new window.Chart(canvas, {
    type: "doughnut",
    data: {
      labels: items.map((i) => i.label),
      datasets: [{
        data: items.map((i) => i.value),
        backgroundColor: items.map((_, i) => PALETTE[i % PALETTE.length]),
        borderColor: "#ffffff",
      }],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      locale: intlLocale(),
      plugins: {
        legend: {
          position: rtl ? "left" : "right", rtl, textDirection: rtl ? "rtl" : "ltr",
          labels: { font },
        },
        tooltip: {
          rtl, textDirection: rtl ? "rtl" : "ltr",
          callbacks: { label: (ctx) => `${ctx.label}: ${format(ctx.parsed)}` },
        },
      },
    },
  });
  live.add(chart);
  return figure;
}
