// Churn risk: members per RFM grade, and one grade's members (sortable, paged, CSV export):
// the list a merchant takes into a win-back campaign.

import { api } from "../api.js";
import { partsChart } from "../charts.js";
import { currencyCode, date, money, num, t, term } from "../i18n.js";
import { errorMessage, field, h, loading, ltr, message, pager, table } from "../ui.js";

export const GRADES = ["champion", "loyal", "regular", "at_risk"];
const PAGE_SIZES = [25, 50, 100];
const SORTS = ["customer_id", "recency", "last_order", "orders", "spend", "gap"];

export async function render(root, { params, navigate, holdFocus, stale }) {
  const grade = GRADES.includes(params.get("grade")) ? params.get("grade") : "at_risk";
  const limit = PAGE_SIZES.includes(Number(params.get("limit"))) ? Number(params.get("limit")) : 25;
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const sort = SORTS.includes(params.get("sort")) ? params.get("sort") : "recency";
  const dir = params.get("dir") === "asc" ? "asc" : "desc";
  const go = (changes, focus) => {
    holdFocus(focus);
    navigate("churn", [], { grade, limit, offset, sort, dir, ...changes });
  };

  root.append(h("h1", {}, t("churn.title")));
  const wait = loading();
  root.append(wait);
  const [segment, page] = await Promise.all([
    api("/segments/churn", { query: { grade, limit: 1 } }),
    api("/segments/churn/members", { query: { grade, limit, offset, sort, order: dir } }),
  ]);
  if (stale()) return;
  wait.remove();
  const counts = GRADES.map((g) => ({ grade: g, members: segment.counts?.[g] ?? 0 }));

  root.append(h("div", { class: "grid-2" },
    h("section", { class: "panel", "aria-labelledby": "grades-title" },
      h("h2", { id: "grades-title" }, t("churn.grades")),
      segment.engine_time ? h("p", { class: "muted" },
        t("churn.judgedAt", { date: date(segment.engine_time) })) : null,
      table({
        id: "grade-counts",
        caption: t("churn.grades"),
        captionHidden: true,
        columns: [
          { key: "grade", label: t("churn.grade"), header: true,
            render: (r) => h("a", { href: `#/churn?grade=${r.grade}` },
              h("span", { class: `badge ${r.grade}` }, term("grade", r.grade))) },
          { key: "members", label: t("tiers.members"), numeric: true,
            render: (r) => num(r.members) },
        ],
        rows: counts,
      })),
    partsChart({
      id: "chart-grades", title: t("churn.grades"),
      items: counts.map((r) => ({ label: term("grade", r.grade), value: r.members })),
    })));

  const gradeSelect = h("select", {
    id: "grade-select",
    onchange: () => go({ grade: gradeSelect.value, offset: 0 }, "#grade-select"),
  }, GRADES.map((g) => h("option", { value: g, selected: g === grade }, term("grade", g))));
  const sizeSelect = h("select", {
    id: "page-size",
    onchange: () => go({ limit: Number(sizeSelect.value), offset: 0 }, "#page-size"),
  }, PAGE_SIZES.map((n) => h("option", { value: n, selected: n === limit }, num(n))));
  const status = h("div", { id: "export-status" });
  const exportButton = h("button", {
    type: "button", class: "button secondary", id: "export-csv",
    onclick: async () => {
      exportButton.disabled = true;
      status.replaceChildren(message("info", t("churn.exporting")));
      try {
        const csv = await api("/segments/churn/members.csv",
          { query: { grade, sort, order: dir }, accept: "text/csv" });
        saveFile(`churn-${grade}.csv`, csv, "text/csv;charset=utf-8");
        const n = Math.max(0, csv.trim().split(/\r?\n/).length - 1);
        status.replaceChildren(message("success", t("churn.exported", { n: num(n) })));
      } catch (error) {
        status.replaceChildren(errorMessage(error));
      } finally {
        exportButton.disabled = false;
      }
    },
  }, t("churn.export"));

  const list = h("section", { class: "panel", "aria-labelledby": "churn-list-title" },
    h("h2", { id: "churn-list-title" }, t("churn.list", { grade: term("grade", grade) })),
    h("div", { class: "toolbar" },
      field(t("churn.chooseGrade"), gradeSelect),
      field(t("pager.pageSize"), sizeSelect),
      exportButton),
    status);
  root.append(list);
  const items = page.items || [];
  if (!items.length) {
    list.append(message("info", t("churn.empty")));
    return;
  }
  list.append(table({
    id: "churn-table",
    caption: t("churn.list", { grade: term("grade", grade) }),
    captionHidden: true,
    sort: { key: sort, dir },
    onSort: (key) => go({ sort: key, dir: key === sort && dir === "desc" ? "asc" : "desc",
      offset: 0 }, `button[data-sort="${key}"]`),
    columns: [
      { key: "customer_id", label: t("churn.customer"), header: true, sortable: true,
        render: (r) => h("a", { href: `#/members/${encodeURIComponent(r.customer_id)}` },
          ltr(r.customer_id, "span", "id")) },
      { key: "recency", label: t("churn.recency"), numeric: true, sortable: true,
        render: (r) => num(r.recency_days, { maximumFractionDigits: 0 }) },
      { key: "last_order", label: t("churn.lastOrder"), sortable: true, nowrap: true,
        render: (r) => (r.last_order_at ? date(r.last_order_at) : t("churn.never")) },
      { key: "orders", label: t("churn.frequency"), numeric: true, sortable: true,
        render: (r) => num(r.orders) },
      { key: "spend", label: t("churn.value"), numeric: true, sortable: true,
        render: (r) => money(r.spend, currencyCode()) },
      { key: "gap", label: t("churn.gap"), numeric: true, sortable: true,
        render: (r) => num(r.gap_days) },
      { key: "categories", label: t("churn.categories"),
        render: (r) => (r.categories?.length ? ltr(r.categories.join(", ")) : "—") },
      { key: "scores", label: t("churn.rfm"), numeric: true,
        render: (r) => [r.r_score, r.f_score, r.m_score].map((s) => num(s)).join(" / ") },
    ],
    rows: items,
  }));
  list.append(pager({
    offset, limit, total: page.total,
    onPage: (next) => go({ offset: next },
      next > offset ? 'button[data-page="next"]' : 'button[data-page="prev"]'),
  }));
}

/** Hand text to the browser as a downloaded file. */
function saveFile(name, text, type) {
  const link = h("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
