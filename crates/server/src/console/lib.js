// Shared helpers of the console's views: building elements, calling the API, showing a view,
// and the small formatting rules every view uses the same way.

export const session = { me: null };

const ROLES = ["viewer", "agent", "builder", "admin"];
/** Whether the signed-in person's role is at least `role`: views show only what it can do.
 *  `audit`: may read the audit trail (admins, and people with the auditor grant). */
export function can(role) {
  if (role === "audit") return !!session.me && (session.me.audit === true || session.me.role === "admin");
  return !!session.me && ROLES.indexOf(session.me.role) >= ROLES.indexOf(role);
}

/** An element: attributes (`on…` are listeners, `text` the text; null/false are left out)
 *  and children (nested arrays flattened; null, undefined and false left out). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...nodes(children));
  return el;
}

/** Children as nodes: arrays flattened, strings as text, nothing for null/undefined/false —
 *  never "[object HTMLElement]" or "null" on the page. */
export function nodes(list) {
  const out = [];
  for (const c of [list].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    out.push(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return out;
}

/** Replaces an element's children (with the same rules as `h`). */
export function put(el, ...children) { el.replaceChildren(...nodes(children)); return el; }

export class ApiError extends Error {
  constructor(message, status, code, details) {
    super(message);
    this.status = status; this.code = code; this.details = details;
  }
}

/** A JSON API call with the session cookie and the CSRF header; errors carry the server's
 *  message, code and details. */
export async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { "x-lumosflow-csrf": "1" } };
  if (body !== undefined) { opts.headers["content-type"] = "application/json"; opts.body = JSON.stringify(body); }
  // An answer that arrives after the person went to another page is not drawn: the view
  // that asked is gone, and drawing it would cover the page they are on.
  const asked = nav.seq;
  let resp;
  try { resp = await fetch(path, opts); } catch { throw new ApiError("lumosflow did not answer: is the server running?", 0); }
  const text = await resp.text();
  if (asked !== nav.seq) throw Object.assign(new ApiError("the page changed before the answer came", 0), { stale: true });
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!resp.ok) {
    const e = data && data.error;
    // The session ended (signed out elsewhere, expired, its key revoked): back to sign-in
    // rather than an error about API keys.
    if (resp.status === 401 && session.me && path.startsWith("/api/")) {
      session.me = null;
      window.dispatchEvent(new CustomEvent("lumosflow:signed-out"));
    }
    throw new ApiError((e && e.message) || `HTTP ${resp.status}`, resp.status, e && e.code, e && e.details);
  }
  return data;
}

const main = () => document.getElementById("main");

/** Shows a view: its title in the tab, its content in <main>, focus on its heading so
 *  screen readers announce the new page. */
export function show(title, ...content) {
  document.title = `${title} · lumosflow`;
  const m = main();
  m.replaceChildren(...nodes(content));
  const heading = m.querySelector("h1");
  if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
}

/** A notice: `ok` is a status, `bad` an alert. Errors that mean "set something up first"
 *  say where to do it in the console. */
export function message(kind, text) {
  const el = h("div", { class: `msg ${kind}`, role: kind === "bad" ? "alert" : "status" }, text);
  if (kind === "bad" && /no connection named/.test(text)) {
    el.append(" ", can("admin") ? h("a", { href: "#/connections" }, "Connect Lumos on the Connections page.") : "Ask an admin to connect Lumos.");
  }
  return el;
}

export function errorMessage(err) { return message("bad", err.message || String(err)); }

const FINAL = ["completed", "failed", "canceled", "denied", "expired"];
export function isFinal(status) { return FINAL.includes(status); }

const STATUS_WORDS = { pending_approval: "waiting for approval", dry_run: "dry run" };
export function statusBadge(s) { return h("span", { class: `badge status-${s}` }, STATUS_WORDS[s] || s); }

export function when(t) { return t ? new Date(t).toLocaleString() : ""; }

/** Run ids are time-ordered (UUIDv7): their first characters are the same for every run of
 *  the same minute, so the short form is the random end. */
export function shortId(id) { return id ? id.slice(-8) : ""; }
/** A button that copies `text` and says so beside it (a secret shown once is copied whole,
 *  not half-selected by hand). */
export function copyButton(text, what) {
  const said = h("span", { class: "muted", role: "status" });
  const button = h("button", { type: "button", class: "secondary small", "aria-label": `Copy ${what}`, onclick: async () => {
    try { await navigator.clipboard.writeText(text); said.textContent = " Copied."; }
    catch { said.textContent = " Select it and copy it by hand: this browser did not let the page copy."; }
  } }, "Copy");
  return h("span", {}, button, said);
}

export function runLink(id) { return h("a", { href: `#/runs/${encodeURIComponent(id)}`, class: "mono", title: id, "aria-label": `Run ${shortId(id)}` }, shortId(id)); }

const WORDS = { id: "ID", url: "URL", api: "API", sso: "SSO", mfa: "MFA", ui: "UI" };
/** A field name as people read it: `given_name` → "Given name", `app_id` → "App ID". */
export function label(key) {
  const words = String(key).replace(/([a-z])([A-Z])/g, "$1 $2").split(/[_\s.]+/).filter(Boolean)
    .map((w) => WORDS[w.toLowerCase()] || w.toLowerCase());
  if (!words.length) return String(key);
  words[0] = words[0][0].toUpperCase() + words[0].slice(1);
  return words.join(" ");
}

/** Runs `fn` with `button` disabled and marked busy, so a double click cannot do it twice. */
export async function busy(button, fn, busyText) {
  if (button.disabled) return;
  const text = button.textContent;
  button.disabled = true; button.setAttribute("aria-busy", "true");
  if (busyText) button.textContent = busyText;
  try { return await fn(); } finally {
    button.disabled = false; button.removeAttribute("aria-busy");
    if (busyText) button.textContent = text;
  }
}

/** The current route: `#/view/arg?x=y` → { view, arg, params }. */
export function currentRoute() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const [view = "", arg] = path.split("/");
  return { view, arg: arg ? decodeURIComponent(arg) : null, params: new URLSearchParams(query) };
}

/** A table whose rows turn into labelled cards on narrow screens (see app.css). */
export function listTable(label_, columns, rows, empty) {
  if (!rows.length) return h("p", { class: "muted" }, empty || "Nothing here yet.");
  return h("div", { class: "scroll" }, h("table", { class: "list", "aria-label": label_ },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c || h("span", { class: "sr-only" }, "Actions"))))),
    // On phones each cell shows its column's name, unless it is empty.
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c, i) => h("td", { "data-label": c === "" || c === null ? null : columns[i] || null }, c)))))));
}

/** A labelled form field. */
export function field(id, text, control, help) {
  if (help) control.setAttribute("aria-describedby", `${id}-help`);
  return h("div", { class: "field" }, h("label", { for: id }, text), control, help ? h("span", { class: "help", id: `${id}-help` }, help) : null);
}

/** Counts the views shown: a poll of an old view stops once another view opened. */
export const nav = { seq: 0 };

/** Polls `fn` every `ms` (a number, or a function giving the next wait) until it returns
 *  true or another view opened. */
export function poll(fn, ms = 1000) {
  const token = nav.seq;
  return new Promise((resolve) => {
    const tick = async () => {
      if (nav.seq !== token) return resolve(false);
      let done = false;
      try { done = await fn(); } catch { done = false; }
      if (done) return resolve(true);
      setTimeout(tick, typeof ms === "function" ? ms() : ms);
    };
    tick();
  });
}
