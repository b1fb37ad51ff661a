// Small DOM helpers: elements, messages, tables (sortable headers), pagers, CSV.

import { ApiError } from "./api.js";
import { num, t } from "./i18n.js";

/** h("p", {class: "x", onclick: fn}, "text", child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Text that stays left-to-right inside Arabic (ids, codes, SKUs). */
export const ltr = (text, tag = "span", extra = "") => h(tag, {
  class: extra ? `ltr ${extra}` : "ltr", dir: "ltr",
}, text);

/** Text from the engine (reasons, outcomes: English) laid out in its own direction. */
export const foreign = (text) => h("span", { dir: "auto", lang: "en", class: "foreign" }, text);

export function message(kind, text) {
  const role = kind === "error" ? "alert" : "status";
  return h("div", { class: `message ${kind}`, role }, text);
}

/** The message a person can act on for an error from the API. */
export function errorText(error) {
  if (error instanceof ApiError) {
    if (error.status === 0) return t("error.unreachable");
    if (error.status === 404) return t("error.notFound", { detail: error.detail });
    return t("error.generic", { detail: error.detail || `HTTP ${error.status}` });
  }
  return t("error.generic", { detail: String(error?.message || error) });
}

export function errorMessage(error) {
  return message("error", errorText(error));
}

export function announce(text) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  window.setTimeout(() => { region.textContent = text; }, 50);
}

export function loading() {
  return h("p", { class: "muted", role: "status" }, t("app.loading"));
}

/**
 * A table. columns: [{key, label, numeric, nowrap, header, sortable, render(row)}]; render
 * returns a Node or text.
 * sort: {key, dir: "asc"|"desc"}; onSort(key) is called when a sortable header is pressed.
 */
export function table({ caption, columns, rows, sort, onSort, captionHidden = false, id }) {
  const head = h("tr", {}, columns.map((col) => {
    const th = h("th", { scope: "col", class: col.numeric ? "num" : null });
    if (col.sortable && onSort) {
      const state = sort?.key === col.key ? (sort.dir === "asc" ? "ascending" : "descending")
        : "none";
      th.setAttribute("aria-sort", state);
      th.append(h("button", {
        type: "button", class: "sort", "data-sort": col.key,
        "aria-label": t("churn.sortBy", { column: col.label }), onclick: () => onSort(col.key),
      }, col.label));
    } else {
      th.textContent = col.label;
    }
    return th;
  }));
  const body = rows.map((row) => h("tr", {}, columns.map((col) => {
    const value = col.render ? col.render(row) : row[col.key];
    const cell = h(col.header ? "th" : "td", {
      class: col.numeric ? "num" : col.nowrap ? "nowrap" : null, scope: col.header ? "row" : null,
    });
    append(cell, [value ?? "—"]);
    return cell;
  })));
  return h("div", { class: "table-wrap" },
    h("table", { id },
      caption ? h("caption", { class: captionHidden ? "visually-hidden" : null }, caption) : null,
      h("thead", {}, head),
      h("tbody", {}, body)));
}

/** Previous/next paging with "1–50 of 230". */
export function pager({ offset, limit, total, onPage }) {
  const shown = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return h("nav", { class: "pager", "aria-label": t("pager.label") },
    h("button", {
      type: "button", class: "button secondary", "data-page": "prev",
      disabled: offset <= 0, onclick: () => onPage(Math.max(0, offset - limit)),
    }, t("pager.prev")),
    h("span", { "aria-live": "polite" },
      t("pager.status", { from: num(shown), to: num(last), total: num(total) })),
    h("button", {
      type: "button", class: "button secondary", "data-page": "next",
      disabled: offset + limit >= total, onclick: () => onPage(offset + limit),
    }, t("pager.next")));
}

/** A labelled form field. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const parts = [h("label", { for: id }, label), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("small", { id: hintId, class: "muted" }, hint));
  }
  return h("div", { class: "field" }, parts);
}

/** A figure card for a <dl class="cards">. */
export function card(label, value, note, testId) {
  return h("div", { class: "card", "data-figure": testId },
    h("dt", {}, label),
    h("dd", {}, value, note ? h("span", { class: "note" }, note) : null));
}
