// Dead letters: what the worker refused and why, paged.

import { api } from "../api.js";
import { num, t } from "../i18n.js";
import { foreign, h, loading, ltr, message, pager, table } from "../ui.js";

const PAGE = 50;

export async function render(root, { params, navigate, holdFocus, stale }) {
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  root.append(h("h1", {}, t("dead.title")), h("p", {}, t("dead.intro")));
  const wait = loading();
  root.append(wait);
  const page = await api("/dead-letters", { query: { limit: PAGE, offset } });
  if (stale()) return;
  wait.remove();
  if (!page.total) {
    root.append(message("success", t("dead.none")));
    return;
  }
  root.append(h("p", { id: "dead-count" }, t("dead.count", { n: num(page.total) })));
  root.append(h("section", { class: "panel" }, table({
    id: "dead-letters-table",
    caption: t("dead.title"),
    captionHidden: true,
    columns: [
      { key: "reason", label: t("dead.reason"), render: (d) => foreign(d.reason) },
      { key: "topic", label: t("dead.topic"), render: (d) => ltr(d.topic) },
      { key: "position", label: t("dead.position"), numeric: true,
        render: (d) => ltr(`${num(d.partition)} / ${num(d.offset, { useGrouping: false })}`) },
      { key: "customer", label: t("dead.customer"),
        render: (d) => (d.customer_id ? h("a", {
          href: `#/members/${encodeURIComponent(d.customer_id)}`,
        }, ltr(d.customer_id, "span", "id")) : "—") },
      { key: "event", label: t("dead.event"),
        render: (d) => (d.event_id ? ltr(d.event_id, "span", "id") : "—") },
      { key: "payload", label: t("dead.payload"),
        render: (d) => h("details", {}, h("summary", {}, ltr(preview(d.payload), "code", "preview")),
          h("pre", { class: "payload ltr", dir: "ltr" }, d.payload)) },
    ],
    rows: page.items,
  }),
  pager({
    offset, limit: PAGE, total: page.total,
    onPage: (next) => {
      holdFocus(next > offset ? 'button[data-page="next"]' : 'button[data-page="prev"]');
      navigate("dead-letters", [], { offset: next });
    },
  })));
}

const preview = (text) => (text.length > 32 ? `${text.slice(0, 32)}…` : text);
