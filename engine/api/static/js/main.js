// The dashboard shell: sign-in with the API key, language, navigation and hash routes.

import { api, ApiError, clearKey, getKey, onKeyRefused, setKey } from "./api.js";
import { destroyCharts } from "./charts.js";
import { language, setCurrency, setLanguage, t } from "./i18n.js";
import { errorMessage, field, h, message } from "./ui.js";
import * as overview from "./pages/overview.js";
import * as tiers from "./pages/tiers.js";
import * as churn from "./pages/churn.js";
import * as member from "./pages/member.js";
import * as program from "./pages/program.js";
import * as deadLetters from "./pages/dead-letters.js";

const PAGES = [
  { path: "overview", label: "nav.overview", page: overview },
  { path: "tiers", label: "nav.tiers", page: tiers },
  { path: "churn", label: "nav.churn", page: churn },
  { path: "members", label: "nav.member", page: member },
  { path: "program", label: "nav.program", page: program },
  { path: "dead-letters", label: "nav.deadLetters", page: deadLetters },
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const shell = document.getElementById("app");
let signInNotice = null;
let renderCount = 0;

/** What every page shares: the program (currency, catalog, tiers), read once per sign-in. */
export const context = { program: null };

/** The current route: "#/members/cust-1?as_of=..." -> {path, rest, params}. */
export function route() {
  const [pathPart, queryPart = ""] = (window.location.hash.replace(/^#\/?/, "") || "overview")
    .split("?");
  const [path, ...rest] = pathPart.split("/");
  return { path, rest: rest.map(decodeURIComponent), params: new URLSearchParams(queryPart) };
}

/** Go to a route, e.g. navigate("members", ["cust-1"], {as_of: ""}). */
export function navigate(path, rest = [], params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null));
  const tail = rest.length ? "/" + rest.map(encodeURIComponent).join("/") : "";
  const hash = `#/${path}${tail}${query.toString() ? "?" + query : ""}`;
  // The page is not ready from now on: the hashchange event that renders the new route comes
  // later (a task of its own), and until then the old page must not look like the new one.
  main.dataset.ready = "";
  if (window.location.hash === hash) render();
  else window.location.hash = hash;
}

function renderChrome() {
  document.title = t("app.title");
  document.getElementById("brand").textContent = t("app.title");
  document.getElementById("skip-link").textContent = t("app.skip");
  const switcher = document.getElementById("lang-switch");
  switcher.textContent = t("app.switchLanguage");
  switcher.lang = language() === "ar" ? "en" : "ar";
  switcher.setAttribute("aria-label", t("app.switchLanguageLabel"));
  const signOut = document.getElementById("sign-out");
  signOut.textContent = t("app.signOut");
  signOut.hidden = !getKey();
  nav.setAttribute("aria-label", t("app.nav"));
  const current = route().path;
  nav.replaceChildren(h("ul", {}, PAGES.map((p) => h("li", {},
    h("a", {
      href: `#/${p.path}`, "data-nav": p.path,
      "aria-current": p.path === current ? "page" : null,
    }, t(p.label))))));
}

function renderSignIn() {
  destroyCharts();
  shell.classList.add("signed-out");
  nav.hidden = true;
  renderChrome();
  const input = h("input", {
    type: "password", name: "api-key", id: "api-key", autocomplete: "off", required: true,
    spellcheck: "false",
  });
  const status = h("div", { id: "sign-in-status" });
  if (signInNotice) status.append(message("error", signInNotice));
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      status.replaceChildren();
      const key = input.value.trim();
      if (!key) {
        status.append(message("error", t("signin.empty")));
        input.focus();
        return;
      }
      try {
        context.program = await api("/program", { key });
      } catch (error) {
        const text = error instanceof ApiError && error.status === 401 ? t("signin.wrongKey")
          : error instanceof ApiError && error.status === 0 ? t("signin.unreachable")
            : null;
        status.append(text ? message("error", text) : errorMessage(error));
        input.setAttribute("aria-invalid", "true");
        input.select();
        return;
      }
      setKey(key);
      setCurrency(context.program.currency);
      signInNotice = null;
      render();
    },
  }, field(t("signin.key"), input), h("button", { type: "submit", class: "button" },
    t("signin.submit")), status);
  main.replaceChildren(h("section", { class: "sign-in panel", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, t("signin.title")),
    h("p", {}, t("signin.intro")),
    form));
  input.focus();
}

let rendered = false;

async function render() {
  // On the first page load focus stays at the top (the skip link is the first Tab stop);
  // after that, each new page moves focus to its heading for screen-reader users.
  const initial = !rendered;
  rendered = true;
  if (!getKey()) {
    renderSignIn();
    return;
  }
  const mine = ++renderCount;
  destroyCharts();
  shell.classList.remove("signed-out");
  nav.hidden = false;
  renderChrome();
  const current = route();
  const entry = PAGES.find((p) => p.path === current.path) || PAGES[0];
  const container = h("div", { class: "page", "data-page": entry.path });
  main.dataset.ready = "";
  main.replaceChildren(container);
  try {
    if (!context.program) {
      context.program = await api("/program");
      setCurrency(context.program.currency);
    }
    await entry.page.render(container, { ...current, context, navigate, holdFocus,
      stale: () => mine !== renderCount });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return; // sign-in is shown
    if (mine === renderCount) container.append(errorMessage(error));
  }
  if (mine !== renderCount) return;
  const heading = container.querySelector("h1");
  const again = typeof keepFocus === "string" ? container.querySelector(keepFocus) : null;
  if (again && !again.disabled) again.focus({ preventScroll: true });
  else if (heading && !keepFocus && !initial) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  keepFocus = false;
  main.dataset.ready = entry.path;
}

/** The next render leaves focus where it is (switching language) or, given a selector, puts
 * it on the same control of the new page (sorting, paging). */
let keepFocus = false;
const holdFocus = (selector = true) => { keepFocus = selector; };

onKeyRefused(() => {
  signInNotice = t("signin.expired");
  context.program = null;
  renderSignIn();
});

document.getElementById("lang-switch").addEventListener("click", () => {
  setLanguage(language() === "ar" ? "en" : "ar");
  if (getKey()) {
    keepFocus = true;
    render().then(() => document.getElementById("lang-switch").focus());
  } else {
    renderSignIn();
  }
});

document.getElementById("sign-out").addEventListener("click", () => {
  clearKey();
  context.program = null;
  signInNotice = null;
  window.location.hash = "#/overview";
  renderSignIn();
});

// The skip link moves focus to the content; it must not change the hash (the route).
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener("hashchange", () => render());
setLanguage(language());
render();
