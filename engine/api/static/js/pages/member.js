// Member: find a customer, see the balance view (also as of a past time), the full history
// with the rule and program version of every award, and redeem points for a reward.

import { api, ApiError } from "../api.js";
import { date, dateTime, iso, money, num, t, term } from "../i18n.js";
import {
  announce, card, errorMessage, errorText, field, foreign, h, loading, ltr, message, table,
} from "../ui.js";

const HISTORY_PAGE = 25;

export async function render(root, { rest, params, navigate, holdFocus, context, stale }) {
  const customerId = rest[0] || "";
  const asOf = params.get("as_of") || "";
  const historyAfter = Math.max(0, Number(params.get("after")) || 0);
  root.append(h("h1", {}, customerId ? t("member.heading", { id: "" }).trim() : t("member.title")));
  if (customerId) root.querySelector("h1").append(" ", ltr(customerId));

  const idInput = h("input", {
    type: "search", name: "customer-id", id: "customer-id", value: customerId,
    autocomplete: "off", spellcheck: "false", dir: "ltr", required: true,
  });
  const asOfInput = h("input", {
    type: "datetime-local", name: "as-of", id: "as-of", value: asOf.slice(0, 16),
  });
  root.append(h("form", {
    class: "toolbar", role: "search",
    onsubmit: (event) => {
      event.preventDefault();
      const id = idInput.value.trim();
      if (!id) return;
      const when = asOfInput.value ? new Date(asOfInput.value).toISOString() : "";
      navigate("members", [id], { as_of: when });
    },
  }, field(t("member.search"), idInput, t("member.searchHint")),
  field(t("member.asOf"), asOfInput, t("member.asOfHint")),
  h("button", { type: "submit", class: "button", id: "find-member" }, t("member.searchButton"))));
  if (!customerId) {
    idInput.focus();
    return;
  }

  const balanceBox = h("section", { class: "panel", id: "balance", "aria-live": "polite" });
  const redeemBox = h("section", { class: "panel", id: "redeem", "aria-labelledby": "redeem-title" });
  const historyBox = h("section", { class: "panel", id: "history",
    "aria-labelledby": "history-title" });
  root.append(balanceBox);

  let balance;
  try {
    balance = await showBalance(balanceBox, customerId, asOf);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      balanceBox.replaceChildren(message("error", t("member.notFound", { id: customerId })));
      return;
    }
    throw error;
  }
  if (stale()) return;
  root.append(redeemBox, historyBox);
  redeemForm(redeemBox, customerId, context.program, () => balance, async () => {
    balance = await showBalance(balanceBox, customerId, asOf);
    await showHistory(historyBox, customerId, historyAfter, navigate, holdFocus, asOf);
  });
  await showHistory(historyBox, customerId, historyAfter, navigate, holdFocus, asOf);
}

async function showBalance(box, customerId, asOf) {
  const path = `/members/${encodeURIComponent(customerId)}`;
  const [view, upcoming] = await Promise.all([
    api(path, { query: { as_of: asOf } }),
    // The lots expiring next are read from the projection: only for "now".
    asOf ? null : api(`${path}/expiring`, { query: { limit: 5 } }),
  ]);
  const expiring = view.expiring_30d || {};
  const tier = view.tier;
  const next = view.next_tier;
  const toNext = view.points_to_next_tier;
  const progress = h("div", { class: "progress" });
  if (next) {
    const reached = Number(view.qualifying_points || 0);
    progress.append(
      h("progress", {
        max: reached + Number(toNext || 0), value: reached,
        "aria-label": t("member.toNext", { points: num(toNext), tier: term("tier", next) }),
      }),
      h("span", {}, t("member.toNext", { points: num(toNext), tier: term("tier", next) })));
  } else {
    progress.append(h("span", {}, t("member.topTier")));
  }
  const lots = upcoming?.lots || [];
  box.replaceChildren(
    h("h2", {}, t("member.tier"), ": ",
      h("span", { class: `badge ${tier}`, id: "member-tier" }, term("tier", tier))),
    progress,
    h("p", { class: "muted" }, t("member.qualifying", { points: num(view.qualifying_points) })),
    h("dl", { class: "cards" },
      card(t("member.available"), h("span", { id: "balance-available",
        "data-value": view.available }, num(view.available)), null, "available"),
      card(t("member.pending"), num(view.pending), t("member.pendingNote"), "pending"),
      card(t("member.expiring"), num(expiring.points ?? 0),
        expiring.date ? t("member.expiringOn", { date: date(expiring.date) })
          : t("member.nothingExpiring"), "expiring"),
      card(t("member.lifetime"), num(view.lifetime_earned), null, "lifetime"),
      card(t("member.redeemed"), num(view.redeemed), null, "redeemed"),
      card(t("member.expired"), num(view.expired), null, "expired"),
      card(t("member.reversed"), num(view.reversed), null, "reversed"),
      card(t("member.lastActivity"), date(view.last_activity), null, "last-activity")),
    view.as_of ? h("p", { class: "muted" }, t("member.judgedAt", { date: dateTime(view.as_of) }))
      : null,
    lots.length ? table({
      id: "expiring-lots",
      caption: t("member.lots"),
      columns: [
        { key: "expires_at", label: t("member.lotExpires"), nowrap: true,
          render: (l) => date(l.expires_at) },
        { key: "remaining", label: t("member.lotPoints"), numeric: true,
          render: (l) => num(l.remaining) },
        { key: "rule", label: t("member.rule"), render: (l) => (l.rule ? term("rule", l.rule) : "—") },
      ],
      rows: lots,
    }) : null);
  return view;
}

function rewardCost(reward, sku) {
  return (sku && reward.sku_points?.[sku]) || reward.points;
}

function redeemForm(box, customerId, program, currentBalance, afterRedeem) {
  const rewards = program?.rewards || [];
  const select = h("select", { id: "reward", name: "reward" },
    rewards.map((r) => h("option", { value: r.name },
      t("member.rewardCost", { name: `${term("kind", r.kind)} (${r.name})`,
        points: num(r.points) }))));
  const sku = h("input", { type: "text", id: "reward-sku", name: "sku", dir: "ltr",
    autocomplete: "off" });
  const skuField = field(t("member.sku"), sku);
  const showSku = () => {
    const chosen = rewards.find((r) => r.name === select.value);
    skuField.hidden = chosen?.kind !== "free_product";
  };
  select.addEventListener("change", showSku);
  showSku();
  const result = h("div", { id: "redeem-result" });
  const dialog = h("dialog", { id: "confirm-redeem", "aria-labelledby": "confirm-title" });
  document.body.querySelectorAll("dialog#confirm-redeem").forEach((d) => d.remove());
  document.body.append(dialog);

  const open = (event) => {
    event.preventDefault();
    result.replaceChildren();
    const reward = rewards.find((r) => r.name === select.value);
    if (!reward) return;
    let name = reward.name;
    if (reward.kind === "free_product") {
      const code = sku.value.trim();
      if (!code) {
        result.replaceChildren(message("error", t("member.skuNeeded")));
        sku.focus();
        return;
      }
      name = `${reward.name}:${code}`;
    }
    const points = rewardCost(reward, sku.value.trim());
    const requestId = crypto.randomUUID ? crypto.randomUUID()
      : `dash-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const confirm = h("button", { type: "button", class: "button", id: "confirm-yes" },
      t("member.confirm"));
    const cancel = h("button", { type: "button", class: "button secondary", id: "confirm-no",
      onclick: () => dialog.close() }, t("member.cancel"));
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      try {
        const done = await api(`/members/${encodeURIComponent(customerId)}/redemptions`, {
          method: "POST", json: { reward: name, request_id: requestId },
        });
        dialog.close();
        result.replaceChildren(h("div", { class: "message success", role: "status" },
          h("p", {}, t("member.redeemed.ok", { points: num(done.points), reward: iso(name) })),
          h("p", {}, t("member.coupon"), " ",
            h("output", { class: "coupon ltr", id: "coupon", dir: "ltr" }, done.coupon))));
        announce(t("member.redeemed.ok", { points: num(done.points), reward: iso(name) }));
        await afterRedeem();
      } catch (error) {
        dialog.close();
        const text = error instanceof ApiError && error.status === 409
          ? t("member.refused", { detail: error.detail }) : errorText(error);
        result.replaceChildren(message("error", text));
      }
    });
    dialog.replaceChildren(
      h("h2", { id: "confirm-title" }, t("member.confirmTitle")),
      h("p", {}, t("member.confirmText", {
        points: num(points), id: iso(customerId), reward: iso(name),
        available: num(currentBalance()?.available),
      })),
      h("div", { class: "dialog-actions" }, cancel, confirm));
    dialog.showModal();
    confirm.focus();
  };

  box.replaceChildren(
    h("h2", { id: "redeem-title" }, t("member.redeem")),
    h("form", { class: "toolbar", onsubmit: open },
      field(t("member.reward"), select), skuField,
      h("button", { type: "submit", class: "button", id: "redeem-button" },
        t("member.redeemButton"))),
    result);
}

async function showHistory(box, customerId, after, navigate, holdFocus, asOf) {
  const title = () => h("h2", { id: "history-title" }, t("member.history"));
  box.replaceChildren(title(), loading());
  let page;
  try {
    page = await api(`/members/${encodeURIComponent(customerId)}/history`,
      { query: { after, limit: HISTORY_PAGE } });
  } catch (error) {
    box.replaceChildren(title(), errorMessage(error));
    return;
  }
  const items = page.items || [];
  box.replaceChildren(title());
  if (!items.length) {
    box.append(message("info", t("member.noHistory")));
    return;
  }
  box.append(table({
    id: "history-table",
    caption: t("member.history"),
    captionHidden: true,
    columns: [
      { key: "version", label: "#", numeric: true, render: (e) => num(e.version) },
      { key: "at", label: t("member.when"), nowrap: true, render: (e) => dateTime(e.at) },
      { key: "type", label: t("member.event"), render: (e) => term("event", e.type) },
      { key: "points", label: t("member.points"), numeric: true, render: (e) => points(e) },
      { key: "rule", label: t("member.rule"),
        render: (e) => (e.data?.rule ? term("rule", e.data.rule) : "—") },
      { key: "program_version", label: t("member.version"), numeric: true,
        render: (e) => (e.data?.program_version == null ? "—" : num(e.data.program_version)) },
      { key: "source", label: t("member.source"),
        render: (e) => (e.data?.source_event_id ? ltr(e.data.source_event_id, "span", "id")
          : "—") },
      { key: "details", label: t("member.details"), render: (e) => details(e) },
    ],
    rows: items,
  }));
  const first = items[0].version;
  const last = items[items.length - 1].version;
  const go = (next, selector) => {
    holdFocus(selector);
    navigate("members", [customerId], { as_of: asOf, after: next || "" });
  };
  box.append(h("nav", { class: "pager", "aria-label": t("member.history") },
    h("button", {
      type: "button", class: "button secondary", "data-page": "prev", disabled: after <= 0,
      onclick: () => go(Math.max(0, after - HISTORY_PAGE), 'button[data-page="prev"]'),
    }, t("member.older")),
    h("span", {}, t("member.eventsShown", { from: num(first), to: num(last) })),
    h("button", {
      type: "button", class: "button secondary", "data-page": "next", disabled: page.next == null,
      onclick: () => go(page.next, 'button[data-page="next"]'),
    }, t("member.newer"))));
}

/** The points an event moves, signed (+ earned, − spent, reversed or expired). */
function points(event) {
  const d = event.data || {};
  const signed = {
    PointsEarned: d.points, PointsRedeemed: -d.points, PointsExpired: -d.points,
    PointsReversed: d.pending != null ? -(d.pending + d.active) : -d.points,
  }[event.type];
  if (signed == null) return event.type === "PointsActivated" ? num(d.points) : "—";
  return num(signed, { signDisplay: "exceptZero" });
}

/** A short description of what the event says, in the reader's language. */
function details(event) {
  const d = event.data || {};
  switch (event.type) {
    case "OrderPlaced":
      return t("detail.order", { id: iso(d.order_id), total: money(d.total, d.currency) });
    case "OrderRefunded":
      return t("detail.refund", { id: iso(d.order_id), amount: money(d.amount) });
    case "PointsEarned":
      return d.status === "pending" && d.activates_at
        ? t("detail.pendingUntil", { date: date(d.activates_at) })
        : d.expires_at ? t("detail.expires", { date: date(d.expires_at) }) : "—";
    case "PointsActivated":
      return d.expires_at ? t("detail.expires", { date: date(d.expires_at) }) : "—";
    case "PointsRedeemed":
      return h("span", {}, ltr(d.reward, "span", "id"), " · ", t("detail.coupon"), " ",
        ltr(d.coupon, "code", "id"));
    case "TierChanged":
      return t("detail.tier", { from: term("tier", d.from_tier), to: term("tier", d.to_tier) });
    case "SurveyAnswered":
      return t("detail.score", { score: num(d.score) });
    case "FactRecorded":
      return foreign(d.outcome);
    case "ReferralRefused":
      return foreign(d.reason);
    default:
      return "—";
  }
}
