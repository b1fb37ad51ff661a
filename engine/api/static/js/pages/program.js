// Program: the version in force, its history, catalog and tiers; check a draft program file
// and, when the API offers it, see the what-if simulation of the draft.

import { api, findOperation } from "../api.js";
import { date, dateTime, money, num, t, term } from "../i18n.js";
import { errorMessage, field, h, loading, ltr, message, table } from "../ui.js";

/** A what-if simulation endpoint (POST, a path naming "simulat"), wired when the API's OpenAPI
 * description lists one. */
const SIMULATION = /simulat/i;

export async function render(root, { stale }) {
  root.append(h("h1", {}, t("program.title")));
  const wait = loading();
  root.append(wait);
  const [program, simulation] = await Promise.all([api("/program"),
    findOperation("post", SIMULATION)]);
  if (stale()) return;
  wait.remove();

  root.append(h("section", { class: "panel", "aria-labelledby": "in-force-title" },
    h("h2", { id: "in-force-title" }, t("program.inForce")),
    h("dl", { class: "cards" },
      h("div", { class: "card", "data-figure": "version" },
        h("dt", {}, t("program.version")), h("dd", { id: "program-version" }, num(program.version))),
      h("div", { class: "card" },
        h("dt", {}, t("program.effective")), h("dd", {}, since(program.effective_from))),
      h("div", { class: "card" },
        h("dt", {}, t("program.currency")), h("dd", {}, ltr(program.currency)))),
    h("p", { class: "muted" }, t("program.hash"), ": ", ltr(program.content_hash, "code")),
    h("details", {}, h("summary", {}, t("program.showFile")),
      h("pre", { class: "program-text", dir: "ltr", lang: "en" }, program.text))));

  root.append(h("div", { class: "grid-2" },
    h("section", { class: "panel", "aria-labelledby": "rewards-title" },
      h("h2", { id: "rewards-title" }, t("program.rewards")),
      table({
        id: "rewards-table", caption: t("program.rewards"), captionHidden: true,
        columns: [
          { key: "name", label: t("program.reward"), header: true, render: (r) => ltr(r.name) },
          { key: "kind", label: t("program.kind"), render: (r) => term("kind", r.kind) },
          { key: "points", label: t("program.points"), numeric: true,
            render: (r) => num(r.points) },
          { key: "value", label: t("program.value"), numeric: true, render: (r) => (
            r.kind === "amount_off" ? money(r.value, program.currency)
              : r.kind === "percent_off" ? num(Number(r.value) / 100, { style: "percent" })
                : "—") },
        ],
        rows: program.rewards,
      })),
    h("section", { class: "panel", "aria-labelledby": "program-tiers-title" },
      h("h2", { id: "program-tiers-title" }, t("program.tiers")),
      table({
        id: "program-tiers", caption: t("program.tiers"), captionHidden: true,
        columns: [
          { key: "name", label: t("tiers.tier"), header: true, render: (r) => term("tier", r.name) },
          { key: "threshold", label: t("tiers.threshold"), numeric: true,
            render: (r) => num(r.threshold) },
          { key: "multiplier", label: t("tiers.multiplier"), numeric: true,
            render: (r) => `×${num(r.multiplier, { maximumFractionDigits: 2 })}` },
        ],
        rows: program.tiers,
      }))));

  root.append(h("section", { class: "panel", "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, t("program.history")),
    table({
      id: "program-history", caption: t("program.history"), captionHidden: true,
      columns: [
        { key: "version", label: t("program.version"), numeric: true, header: true,
          render: (v) => num(v.version) },
        { key: "effective_from", label: t("program.effective"),
          render: (v) => since(v.effective_from, dateTime) },
        { key: "state", label: t("program.state"), render: (v) => {
          const state = v.version === program.version ? "current"
            : v.version > program.version ? "scheduled" : "superseded";
          return h("span", { class: `badge ${state}` }, t(`program.${state}`));
        } },
        { key: "content_hash", label: t("program.hash"),
          render: (v) => (v.content_hash ? ltr(v.content_hash.slice(0, 16) + "…", "code") : "—") },
      ],
      rows: [...program.history].reverse(),
    })));

  root.append(draftSection(simulation));
}

function draftSection(simulation) {
  // The browser's own file button speaks the browser's language; this one speaks ours.
  const fileName = h("span", { id: "draft-file-name", class: "muted", dir: "auto" },
    t("program.noFile"));
  const file = h("input", {
    type: "file", id: "draft-file", accept: ".toml,text/plain", class: "visually-hidden",
    tabindex: "-1", "aria-hidden": "true",
    onchange: () => { fileName.textContent = file.files?.[0]?.name || t("program.noFile"); },
  });
  const choose = h("button", {
    type: "button", class: "button secondary", id: "choose-draft",
    "aria-describedby": "draft-file-name", onclick: () => file.click(),
  }, t("program.chooseFile"));
  const out = h("div", { id: "draft-result", "aria-live": "polite" });
  const simulate = h("button", {
    type: "button", class: "button secondary", id: "simulate", disabled: true,
  }, t("program.simulate"));
  let draftText = null;
  const check = async (event) => {
    event.preventDefault();
    out.replaceChildren();
    simulate.disabled = true;
    if (!file.files?.length) return;
    draftText = await file.files[0].text();
    try {
      const result = await api("/program/drafts/check", { method: "POST", text: draftText });
      out.append(draftReport(result));
      simulate.disabled = !(simulation && result.valid);
    } catch (error) {
      out.append(errorMessage(error));
    }
  };
  simulate.addEventListener("click", async () => {
    const box = h("div", { id: "simulation" }, h("h3", {}, t("program.simulation")), loading());
    out.querySelector("#simulation")?.remove();
    out.append(box);
    try {
      const result = await api(simulation.path, simulation.contentType === "text/plain"
        ? { method: "POST", text: draftText }
        : { method: "POST", json: { [simulation.field || "program"]: draftText } });
      box.replaceChildren(h("h3", {}, t("program.simulation")), simulationReport(result));
    } catch (error) {
      box.replaceChildren(h("h3", {}, t("program.simulation")), errorMessage(error));
    }
  });
  return h("section", { class: "panel", "aria-labelledby": "draft-title" },
    h("h2", { id: "draft-title" }, t("program.draft")),
    h("p", {}, t("program.draftIntro")),
    h("form", { class: "toolbar", onsubmit: check },
      h("div", { class: "field" }, h("span", { class: "label" }, t("program.draftFile")),
        h("div", { class: "file-pick" }, choose, fileName), file),
      h("button", { type: "submit", class: "button", id: "check-draft" }, t("program.check")),
      simulate),
    simulation ? null : message("warning", t("program.simulateUnavailable")),
    out);
}

function draftReport(result) {
  if (!result.valid) {
    return h("div", { class: "message error", role: "alert" },
      h("p", {}, t("program.invalid")),
      h("ul", {}, result.errors.map((e) => h("li", {}, ltr(e)))));
  }
  const parts = [message("success", t("program.valid"))];
  if (!result.changes.length) parts.push(h("p", {}, t("program.noChanges")));
  else {
    parts.push(table({
      id: "draft-changes", caption: t("program.changes"),
      columns: [
        { key: "key", label: t("program.setting"), header: true, render: (c) => ltr(c.key, "code") },
        { key: "current", label: t("program.current"), render: (c) => ltr(show(c.current)) },
        { key: "draft", label: t("program.draftValue"), render: (c) => ltr(show(c.draft)) },
      ],
      rows: result.changes,
    }));
  }
  return h("div", {}, parts);
}

/** The shipped default is in force from the epoch: say "from the start" rather than 1970. */
const since = (value, format = date) => (String(value).startsWith("1970-01-01")
  ? t("program.fromStart") : format(value));

const show = (value) => (value === undefined || value === null ? "—"
  : typeof value === "object" ? JSON.stringify(value) : String(value));

/** The simulation's figures, whatever their nesting: one row per leaf value. */
function simulationReport(result) {
  const rows = [];
  const walk = (value, path) => {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
    } else rows.push({ key: path, value: show(value) });
  };
  walk(result, "");
  return table({
    id: "simulation-table", caption: t("program.simulation"), captionHidden: true,
    columns: [
      { key: "key", label: t("program.setting"), header: true, render: (r) => ltr(r.key, "code") },
      { key: "value", label: t("program.value"), render: (r) => ltr(r.value) },
    ],
    rows,
  });
}
