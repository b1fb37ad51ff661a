// Tiers: members per tier now, and how the tiers filled and moved over time.

import { api } from "../api.js";
import { monthChart, partsChart } from "../charts.js";
import { num, pct, t, term } from "../i18n.js";
import { h, loading, message, table } from "../ui.js";

export async function render(root, { context, stale }) {
  root.append(h("h1", {}, t("tiers.title")));
  const wait = loading();
  root.append(wait);
  const tiers = await api("/tiers");
  if (stale()) return;
  wait.remove();
  const mix = tiers.mix || [];
  const history = tiers.history || [];
  const rules = new Map((context.program?.tiers || []).map((tier) => [tier.name, tier]));

  root.append(h("div", { class: "grid-2" },
    h("section", { class: "panel", "aria-labelledby": "tier-mix-title" },
      h("h2", { id: "tier-mix-title" }, t("tiers.mix")),
      table({
        id: "tier-mix",
        caption: t("tiers.mix"),
        captionHidden: true,
        columns: [
          { key: "tier", label: t("tiers.tier"), header: true,
            render: (r) => h("span", { class: `badge ${r.tier}` }, term("tier", r.tier)) },
          { key: "members", label: t("tiers.members"), numeric: true, render: (r) => num(r.members) },
          { key: "share", label: t("tiers.share"), numeric: true, render: (r) => pct(r.share) },
          { key: "threshold", label: t("tiers.threshold"), numeric: true,
            render: (r) => num(rules.get(r.tier)?.threshold) },
        ],
        rows: mix,
      })),
    partsChart({
      id: "chart-tier-mix", title: t("tiers.mix"),
      items: mix.map((r) => ({ label: term("tier", r.tier), value: r.members })),
    })));

  if (!history.length) {
    root.append(message("info", t("app.noData")));
    return;
  }
  const months = history.map((row) => row.month);
  const names = mix.map((r) => r.tier);
  for (const row of history) {
    for (const name of Object.keys(row.members || {})) if (!names.includes(name)) names.push(name);
  }
  root.append(h("div", { class: "charts" },
    monthChart({
      id: "chart-tiers-over-time", title: t("tiers.overTime"), kind: "bar", stacked: true,
      months,
      series: names.map((name) => ({
        label: term("tier", name), values: history.map((row) => row.members?.[name] ?? 0),
      })),
    }),
    monthChart({
      id: "chart-tier-movement", title: t("tiers.movement"), kind: "bar", months,
      series: [
        { label: t("tiers.upgrades"), values: history.map((row) => row.upgrades) },
        { label: t("tiers.downgrades"), values: history.map((row) => row.downgrades) },
      ],
    })));
}
