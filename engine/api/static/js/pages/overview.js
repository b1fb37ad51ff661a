// Overview: the program's figures for a period and their months as charts.

import { api } from "../api.js";
import { monthChart } from "../charts.js";
import { decimal, money, month, num, pct, t } from "../i18n.js";
import { card, field, h, loading, message } from "../ui.js";

export async function render(root, { params, navigate, stale }) {
  const from = params.get("from") || "";
  const to = params.get("to") || "";
  root.append(h("h1", {}, t("overview.title")));
  const wait = loading();
  root.append(wait);
  const [metrics, tiers, whole] = await Promise.all([
    api("/metrics", { query: { from, to, by: "month" } }),
    api("/tiers"),
    // Every month with data, for the period pickers (the period itself when unfiltered).
    from || to ? api("/metrics", { query: { by: "total" } }) : null,
  ]);
  if (stale()) return;
  wait.remove();
  const months = metrics.months || [];
  const overall = metrics.overall || {};
  const currency = metrics.currency;

  const span = monthsBetween((whole || metrics).from, (whole || metrics).to);
  const picker = (name, chosen) => h("select", { name, id: `period-${name}` },
    span.map((m) => h("option", { value: m, selected: m === chosen }, month(m, "long"))));
  const fromInput = picker("from", from || metrics.from);
  const toInput = picker("to", to || metrics.to);
  root.append(h("form", {
    class: "toolbar",
    onsubmit: (event) => {
      event.preventDefault();
      navigate("overview", [], { from: fromInput.value, to: toInput.value });
    },
  }, field(t("period.from"), fromInput), field(t("period.to"), toInput),
  h("button", { type: "submit", class: "button" }, t("period.apply"))));

  if (metrics.from && metrics.to) {
    root.append(h("p", { class: "muted" },
      t("overview.period", { from: month(metrics.from, "long"), to: month(metrics.to, "long") })));
  }

  const membersNow = (tiers.mix || []).reduce((sum, row) => sum + row.members, 0);
  root.append(h("dl", { class: "cards", "aria-label": t("overview.title") },
    card(t("overview.members"), num(membersNow), null, "members"),
    card(t("overview.activeMembers"), num(overall.active_members), null, "active-members"),
    card(t("overview.pointsIssued"), num(overall.points_issued), null, "points-issued"),
    card(t("overview.pointsRedeemed"), num(overall.points_redeemed), null, "points-redeemed"),
    card(t("overview.pointsExpired"), num(overall.points_expired), null, "points-expired"),
    card(t("overview.liability"),
      overall.liability_money != null ? money(overall.liability_money, currency)
        : num(overall.liability_points),
      overall.liability_money != null
        ? t("overview.liabilityNote", { points: num(overall.liability_points) }) : null,
      "liability"),
    card(t("overview.aov"), money(overall.average_order_value, currency), null, "aov"),
    card(t("overview.frequency"), decimal(overall.purchase_frequency),
      t("overview.frequencyNote"), "frequency"),
    card(t("overview.repeat"), pct(overall.repeat_purchase_rate), null, "repeat"),
    card(t("overview.redemptionRate"), pct(overall.redemption_rate), null, "redemption-rate"),
    card(t("overview.nps"), num(overall.nps, { maximumFractionDigits: 1 }),
      t("overview.npsNote", { n: num(overall.survey_responses) }), "nps"),
  ));

  if (!months.length) {
    root.append(message("info", t("app.noData")));
    return;
  }
  const labels = months.map((m) => m.month);
  const col = (name) => months.map((m) => m[name]);
  // Members at each month's end, from the tier history (every member is in one tier).
  const membersAt = new Map((tiers.history || []).map((row) => [
    row.month, Object.values(row.members || {}).reduce((a, b) => a + b, 0)]));
  let carried = null;
  const membersSeries = labels.map((m) => {
    if (membersAt.has(m)) carried = membersAt.get(m);
    return carried;
  });

  const charts = h("div", { class: "charts" });
  root.append(charts);
  charts.append(
    monthChart({
      id: "chart-points", title: t("overview.chart.points"), kind: "bar", months: labels,
      series: [
        { label: t("overview.pointsIssued"), values: col("points_issued") },
        { label: t("overview.pointsRedeemed"), values: col("points_redeemed") },
        { label: t("overview.pointsExpired"), values: col("points_expired") },
      ],
    }),
    monthChart({
      id: "chart-members", title: t("overview.chart.members"), months: labels,
      series: [
        { label: t("overview.members"), values: membersSeries },
        { label: t("overview.activeMembers"), values: col("active_members") },
        { label: t("overview.newMembers"), values: col("new_members") },
      ],
    }),
    monthChart({
      id: "chart-liability", title: t("overview.chart.liability"), months: labels,
      series: [{ label: t("overview.liability"), values: col("liability_points") }],
    }),
    monthChart({
      id: "chart-aov", title: t("overview.chart.aov"), months: labels,
      series: [{ label: t("overview.aov"), values: col("average_order_value") }],
      format: (v) => money(v, currency),
    }),
    monthChart({
      id: "chart-frequency", title: t("overview.chart.frequency"), months: labels,
      series: [{ label: t("overview.frequency"), values: col("purchase_frequency") }],
      format: (v) => decimal(v),
    }),
    monthChart({
      id: "chart-rates", title: t("overview.chart.rates"), months: labels,
      series: [
        { label: t("overview.repeat"), values: col("repeat_purchase_rate") },
        { label: t("overview.redemptionRate"), values: col("redemption_rate") },
      ],
      format: (v) => pct(v),
    }),
    monthChart({
      id: "chart-nps", title: t("overview.chart.nps"), months: labels,
      series: [{ label: t("overview.nps"), values: col("nps") }],
      format: (v) => num(v, { maximumFractionDigits: 1 }),
    }),
  );
}

/** "2025-11".."2026-02" -> every month from the first to the last, inclusive. */
export function monthsBetween(first, last) {
  const months = [];
  if (!/^\d{4}-\d{2}$/.test(first || "") || !/^\d{4}-\d{2}$/.test(last || "")) return months;
  let [y, m] = first.split("-").map(Number);
  const [ly, lm] = last.split("-").map(Number);
  while ((y < ly || (y === ly && m <= lm)) && months.length < 1200) {
    months.push(`${y}-${String(m).padStart(2, "0")}`);
    [y, m] = m === 12 ? [y + 1, 1] : [y, m + 1];
  }
  return months;
}
