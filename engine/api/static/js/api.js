// The API's own endpoints, with the key the user typed once for this browser session.

const KEY = "loyalty.apiKey";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

export const getKey = () => sessionStorage.getItem(KEY);
export const setKey = (key) => sessionStorage.setItem(KEY, key);
export const clearKey = () => sessionStorage.removeItem(KEY);

/** Listeners told when the API refuses the key (the dashboard goes back to sign-in). */
const refusedListeners = new Set();
export const onKeyRefused = (fn) => refusedListeners.add(fn);

function detailOf(body) {
  if (!body) return "";
  if (typeof body.detail === "string") return body.detail;
  if (Array.isArray(body.detail)) {
    // FastAPI validation errors: [{loc: [..., name], msg}]
    return body.detail.map((d) => `${(d.loc || []).slice(-1)[0] ?? ""}: ${d.msg}`).join("; ");
  }
  return "";
}

/**
 * Call the API: the JSON answer (text for other content types). `query` values that are null,
 * undefined or "" are left out.
 * Throws ApiError (status 0 when the API could not be reached).
 */
export async function api(path, { method = "GET", query, json, text, key,
  accept = "application/json" } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const headers = { "X-API-Key": key ?? getKey() ?? "", Accept: accept };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (text !== undefined) {
    headers["Content-Type"] = "text/plain; charset=utf-8";
    body = text;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body });
  } catch (error) {
    throw new ApiError(0, String(error));
  }
  const type = response.headers.get("Content-Type") || "";
  const payload = type.includes("json") ? await response.json().catch(() => null)
    : await response.text();
  if (!response.ok) {
    const error = new ApiError(response.status, detailOf(payload));
    if (response.status === 401 && key === undefined) {
      clearKey();
      refusedListeners.forEach((fn) => fn(error));
    }
    throw error;
  }
  return payload;
}

/** The API's OpenAPI description (read once; null when it cannot be read). */
let openapi;
async function description() {
  if (openapi === undefined) {
    openapi = await fetch("/openapi.json").then((r) => (r.ok ? r.json() : null)).catch(() => null);
  }
  return openapi;
}

/**
 * The first operation whose path matches `pattern` for `method`, as
 * {path, contentType, field}: how to send a text document to it (`field` is the JSON property
 * that takes the text when the body is JSON). Null when the API has none.
 */
export async function findOperation(method, pattern) {
  const paths = (await description())?.paths || {};
  for (const [path, item] of Object.entries(paths)) {
    const operation = item?.[method.toLowerCase()];
    if (!operation || !pattern.test(path) || path.includes("{")) continue;
    const content = operation.requestBody?.content || {};
    if (content["text/plain"]) return { path, contentType: "text/plain", field: null };
    const schema = content["application/json"]?.schema;
    const resolved = schema?.$ref
      ? openapi.components?.schemas?.[schema.$ref.split("/").pop()] : schema;
    const names = Object.keys(resolved?.properties || {});
    const field = names.find((n) => /program|toml|text|draft/i.test(n)) || names[0] || null;
    return { path, contentType: "application/json", field };
  }
  return null;
}
