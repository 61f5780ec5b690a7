// lumosflow console: a small single-page app over the JSON API. No build step, no CDN.
"use strict";

const main = document.getElementById("main");
let me = null;

// ---------------------------------------------------------------- helpers

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { "x-lumosflow-csrf": "1" } };
  if (body !== undefined) { opts.headers["content-type"] = "application/json"; opts.body = JSON.stringify(body); }
  const resp = await fetch(path, opts);
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!resp.ok) {
    const err = new Error((data && data.error && data.error.message) || `HTTP ${resp.status}`);
    err.status = resp.status; err.details = data && data.error && data.error.details;
    throw err;
  }
  return data;
}

function show(...nodes) { main.replaceChildren(...nodes); main.focus(); }
function message(kind, text) { return h("div", { class: `msg ${kind}`, role: kind === "bad" ? "alert" : "status", text }); }
function statusCell(s) { return h("span", { class: `status-${s}`, text: s }); }
function when(t) { return t ? new Date(t).toLocaleString() : ""; }
function cellText(v) { return v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v); }

function columns(items) {
  const cols = [];
  for (const it of items.slice(0, 200)) for (const [k, v] of Object.entries(it || {})) if (v !== null && !cols.includes(k)) cols.push(k);
  return cols;
}

// A table whose headers sort it (click or Enter/Space on the header button).
function sortableTable(items, label) {
  const cols = columns(items);
  let sortCol = null, asc = true;
  const tbody = h("tbody");
  const render = () => {
    const rows = [...items];
    if (sortCol) rows.sort((a, b) => (cellText(a[sortCol]).localeCompare(cellText(b[sortCol]), undefined, { numeric: true })) * (asc ? 1 : -1));
    tbody.replaceChildren(...rows.map((it) => h("tr", {}, cols.map((c) => h("td", { text: cellText(it[c]) })))));
  };
  const head = h("tr", {}, cols.map((c) => h("th", { scope: "col" }, h("button", { type: "button", onclick: () => { asc = sortCol === c ? !asc : true; sortCol = c; render(); } }, c))));
  render();
  return h("div", { class: "scroll" }, h("table", { "aria-label": label }, h("thead", {}, head), tbody));
}

// A run's output: items as a sortable table (the first ones, more on request) with
// downloads of the whole output streamed by the server; any other output as JSON.
function outputView(run, label, ...controls) {
  const out = run.output;
  const links = run.output_links;
  const downloads = links ? ["csv", "json", "ndjson"].map((f) =>
    h("a", { class: "button secondary", href: links[f], download: "" }, `Download ${f.toUpperCase()}`)) : [];
  if (!out || !Array.isArray(out.items)) {
    return [h("div", { class: "row" }, ...controls, ...downloads), h("pre", { text: JSON.stringify(out, null, 2) })];
  }
  const items = [...out.items];
  const count = run.items ? run.items.count : items.length;
  let next = links && links.next_items;
  const status = h("span", { role: "status" });
  const holder = h("div");
  const failed = h("div");
  const redraw = () => {
    status.textContent = out.page ? `Page ${out.page} of ${out.pages} — ${out.total} total` : items.length < count ? `Showing ${items.length} of ${count} items` : `${count} items`;
    holder.replaceChildren(sortableTable(items, label));
    more.hidden = !next;
  };
  const more = h("button", { type: "button", class: "secondary", onclick: async () => {
    try {
      const page = await api("GET", next);
      items.push(...page.items); next = page.next; redraw();
    } catch (err) { failed.replaceChildren(message("bad", err.message)); }
  } }, "Show more");
  redraw();
  return [h("div", { class: "row" }, status, ...controls, ...downloads), holder, h("div", { class: "row" }, more), failed];
}

// ---------------------------------------------------------------- views

async function login() {
  document.getElementById("nav").hidden = true;
  let options = { sso: null, key: true };
  try { options = await api("GET", "/console/sign-in"); } catch { /* the key form still works */ }
  const parts = [h("h1", { text: "Sign in" })];
  if (options.sso) {
    // Back to the page that was being opened once the identity provider has signed us in.
    const back = encodeURIComponent("/" + (location.hash || ""));
    parts.push(h("p", {}, h("a", { class: "button", id: "sso", href: `/console/oidc/login?return_to=${back}` }, `Sign in with ${options.sso}`)));
  }
  let input = null;
  if (options.key) {
    input = h("input", { type: "password", id: "key", name: "key", autocomplete: "off", required: true, placeholder: "lfk_…" });
    const out = h("div");
    const form = h("form", { class: "stack", onsubmit: async (e) => {
      e.preventDefault();
      try { me = await api("POST", "/console/login", { key: input.value }); if (!location.hash) location.hash = "#/workflows"; route(); }
      catch (err) { out.replaceChildren(message("bad", err.message)); }
    } }, h("label", { for: "key" }, "API key ", h("span", { class: "help" }, "from `lumosflow keys create`")), input, h("div", {}, h("button", { type: "submit" }, "Sign in")), out);
    if (options.sso) parts.push(h("h2", { text: "Or with an API key" }));
    parts.push(form);
  }
  show(...parts);
  if (input && !options.sso) input.focus();
}

async function workflows() {
  const [installed, installable] = await Promise.all([api("GET", "/api/v1/workflows"), api("GET", "/api/v1/workflows?installable=true")]);
  const out = h("div");
  const rows = installed.map((w) => h("tr", {},
    h("td", {}, h("a", { href: `#/run/${w.id}` }, w.name)),
    h("td", { text: w.bundle ? w.bundle.name : "custom" }),
    h("td", { text: w.version ? `v${w.version}${w.edited ? " (edited)" : ""}` : "" }),
    h("td", {}, h("a", { href: `#/yaml/${w.id}` }, "YAML"))));
  const bundles = {};
  for (const w of installable) (bundles[w.bundle.id] ||= { name: w.bundle.name, items: [] }).items.push(w);
  const cards = Object.entries(bundles).map(([id, b]) => h("section", { class: "card", "aria-label": `${b.name} bundle` },
    h("h2", { text: b.name }),
    h("ul", {}, b.items.map((w) => h("li", {}, w.name, w.installed ? h("span", { class: "muted", text: " — installed" }) : null))),
    h("button", { type: "button", onclick: async () => {
      try {
        const res = await api("POST", "/api/v1/workflows/install", { bundles: [id] });
        out.replaceChildren(message("ok", res.map((r) => `${r.id}: ${r.result}`).join("\n")));
        workflows();
      } catch (err) { out.replaceChildren(message("bad", err.message)); }
    } }, `Install ${b.name}`)));
  show(h("h1", { text: "Workflows" }), out,
    installed.length ? h("div", { class: "scroll" }, h("table", { "aria-label": "Installed workflows" },
      h("thead", {}, h("tr", {}, ["Workflow", "Bundle", "Version", ""].map((c) => h("th", { scope: "col", text: c })))), h("tbody", {}, rows)))
      : h("p", { class: "muted", text: "Nothing installed yet: install a bundle below." }),
    h("h2", { text: "Bundles" }), h("div", { class: "cards" }, cards));
}

function field(inp) {
  const id = `in-${inp.name}`;
  const help = inp.help ? h("span", { class: "help", id: `${id}-help`, text: inp.help }) : null;
  const common = { id, name: inp.name, "aria-describedby": help ? `${id}-help` : null, required: inp.required || null };
  let control;
  if (inp.type === "select") {
    control = h("select", common, h("option", { value: "" }, inp.required ? "Choose…" : "(any)"), (inp.options || []).map((o) => h("option", { value: o, selected: o === inp.default }, o)));
  } else if (inp.type === "boolean") {
    control = h("input", { ...common, type: "checkbox", checked: inp.default === true, required: null });
  } else if (inp.type === "textarea") {
    control = h("textarea", common, inp.default ?? "");
  } else {
    const type = inp.type === "integer" || inp.type === "number" ? "number" : inp.type === "date" ? "date" : "text";
    control = h("input", { ...common, type, value: inp.default ?? "", min: inp.min ?? null, max: inp.max ?? null, step: inp.type === "number" ? "any" : null });
  }
  return h("div", {}, h("label", { for: id }, inp.label || inp.name, inp.required ? h("span", { class: "req", "aria-hidden": "true", text: " *" }) : null), control, help);
}

function readForm(form, inputs) {
  const values = {};
  for (const inp of inputs) {
    const el = form.elements[inp.name];
    if (inp.type === "boolean") values[inp.name] = el.checked;
    else if (el.value !== "") values[inp.name] = inp.type === "integer" || inp.type === "number" ? Number(el.value) : el.value;
  }
  return values;
}

async function runView(id) {
  const wf = await api("GET", `/api/v1/workflows/${encodeURIComponent(id)}`);
  const results = h("div", { "aria-live": "polite" });
  const submit = async (overrides = {}) => {
    const inputs = { ...readForm(form, wf.inputs), ...overrides };
    results.replaceChildren(h("p", { text: "Running…" }));
    try {
      const run = await api("POST", `/api/v1/workflows/${encodeURIComponent(id)}/runs?wait=true`, { inputs });
      renderResult(run);
    } catch (err) { results.replaceChildren(message("bad", err.message)); }
  };
  const renderResult = (run) => {
    const out = run.output;
    const parts = [h("p", {}, "Run ", h("a", { href: `#/runs/${run.id}` }, run.id.slice(0, 8)), " ", statusCell(run.status))];
    if (run.status !== "completed") parts.push(message("bad", run.error || run.status));
    else {
      const paging = out && out.page ? [
        h("button", { type: "button", class: "secondary", disabled: !(out.page > 1), onclick: () => submit({ page: out.page - 1 }) }, "Previous"),
        h("button", { type: "button", class: "secondary", disabled: !out.next_page, onclick: () => submit({ page: out.next_page }) }, "Next")] : [];
      parts.push(...outputView(run, `Results of ${wf.name}`, ...paging));
    }
    results.replaceChildren(...parts);
  };
  const form = h("form", { class: "stack", onsubmit: (e) => { e.preventDefault(); submit(); } },
    wf.inputs.map(field), h("div", {}, h("button", { type: "submit" }, "Run")));
  show(h("h1", { text: wf.name }), wf.description ? h("p", { class: "muted", text: wf.description }) : null, form, results);
}

async function runs() {
  const list = await api("GET", "/api/v1/runs?limit=100");
  const rows = list.map((r) => h("tr", {},
    h("td", {}, h("a", { href: `#/runs/${r.id}` }, r.id.slice(0, 8))), h("td", { text: r.workflow_id }), h("td", { text: `v${r.workflow_version}` }),
    h("td", {}, statusCell(r.status)), h("td", { text: r.requested_by || "" }), h("td", { text: r.requested_for || "" }), h("td", { text: when(r.created_at) })));
  show(h("h1", { text: "Runs" }), h("div", { class: "scroll" }, h("table", { "aria-label": "Runs" },
    h("thead", {}, h("tr", {}, ["Run", "Workflow", "Version", "Status", "Requested by", "For", "Created"].map((c) => h("th", { scope: "col", text: c })))), h("tbody", {}, rows))));
}

async function runDetail(id) {
  const run = await api("GET", `/api/v1/runs/${encodeURIComponent(id)}`);
  const flow = h("ol", { class: "flow", "aria-label": "Steps" });
  run.steps.forEach((s, i) => {
    if (i) flow.append(h("li", { class: "arrow", "aria-hidden": "true", text: "→" }));
    flow.append(h("li", { class: `step ${s.status}` },
      h("b", { text: `${s.step_id}${s.iteration ? ` #${s.iteration}` : ""}` }),
      h("div", { text: s.operation || "" }),
      h("div", { class: "muted", text: `${s.status}${s.http_status ? ` · HTTP ${s.http_status}` : ""} · ${s.duration_ms ?? 0} ms` }),
      s.error ? h("div", { class: "status-failed", text: s.error }) : null));
  });
  flow.style.listStyle = "none"; flow.style.padding = "0";
  show(h("h1", {}, "Run ", run.id.slice(0, 8), " ", statusCell(run.status)),
    h("p", {}, h("a", { href: `#/run/${run.workflow_id}` }, run.workflow_id), ` v${run.workflow_version} · started by ${run.requested_by || "?"} · ${when(run.created_at)}`),
    run.error ? message("bad", run.error) : null,
    h("h2", { text: "Steps" }), flow,
    h("h2", { text: "Inputs" }), h("pre", { text: JSON.stringify(run.inputs, null, 2) }),
    run.progress && !["completed", "failed", "canceled", "denied"].includes(run.status)
      ? h("p", { role: "status", text: `${run.progress.items} items${run.progress.total ? ` of ${run.progress.total}` : ""} so far, ${run.progress.pages} pages` }) : null,
    run.status === "completed" ? [h("h2", { text: "Output" }), ...outputView(run, `Output of run ${run.id.slice(0, 8)}`)] : null);
}

async function connections() {
  const out = h("div", { "aria-live": "polite" });
  let list = [];
  try { list = await api("GET", "/api/v1/connections"); } catch (err) { out.replaceChildren(message("bad", err.message)); }
  const name = h("input", { type: "text", id: "c-name", value: "default", required: true });
  const base = h("input", { type: "text", id: "c-base", value: "https://api.lumos.com", required: true });
  const token = h("input", { type: "password", id: "c-token", autocomplete: "off", required: true, placeholder: "lsk_…" });
  const form = h("form", { class: "stack", onsubmit: async (e) => {
    e.preventDefault();
    out.replaceChildren(h("p", { text: "Verifying with Lumos…" }));
    try {
      const c = await api("POST", "/api/v1/connections", { name: name.value, base_url: base.value, token: token.value });
      token.value = "";
      out.replaceChildren(message("ok", `Connected to Lumos as ${c.lumos_user_email || c.lumos_user_id} — connection '${c.name}' (${c.token_hint})`));
      setTimeout(connections, 800);
    } catch (err) { token.value = ""; out.replaceChildren(message("bad", err.message)); }
  } },
    h("label", { for: "c-name" }, "Name"), name,
    h("label", { for: "c-base" }, "Lumos API URL"), base,
    h("label", { for: "c-token" }, "API token ", h("span", { class: "help", text: "verified now, stored encrypted, never shown again" })), token,
    h("div", {}, h("button", { type: "submit" }, "Connect")));
  const rows = list.map((c) => h("tr", {}, h("td", { text: c.name }), h("td", { text: c.base_url }), h("td", { text: c.token_hint }),
    h("td", { text: c.lumos_user_email || "" }), h("td", { text: `${c.last_check_status || ""} ${when(c.last_check_at)}` })));
  show(h("h1", { text: "Connections" }),
    list.length ? h("div", { class: "scroll" }, h("table", { "aria-label": "Connections" }, h("thead", {}, h("tr", {}, ["Name", "URL", "Token", "Lumos user", "Last check"].map((c) => h("th", { scope: "col", text: c })))), h("tbody", {}, rows))) : null,
    h("h2", { text: "Connect Lumos" }), form, out);
}

async function yamlView(id) {
  const wf = await api("GET", `/api/v1/workflows/${encodeURIComponent(id)}`);
  const area = h("textarea", { class: "yaml", id: "yaml", spellcheck: "false", "aria-label": "Workflow YAML" });
  area.value = wf.yaml;
  const out = h("div", { "aria-live": "polite" });
  const showErrors = (err) => {
    const problems = Array.isArray(err.details) ? err.details : [];
    if (!problems.length) return out.replaceChildren(message("bad", err.message));
    const lines = area.value.split("\n");
    out.replaceChildren(h("div", { class: "msg bad", role: "alert" }, h("b", { text: `${problems.length} problem(s):` }),
      h("ul", { class: "errors" }, problems.map((p) => h("li", { tabindex: "0", onclick: () => jump(p, lines), onkeydown: (e) => { if (e.key === "Enter") jump(p, lines); } },
        p.line ? `line ${p.line}, column ${p.column}: ` : "", p.message)))));
  };
  const jump = (p, lines) => {
    if (!p.line) return;
    const offset = lines.slice(0, p.line - 1).reduce((n, l) => n + l.length + 1, 0) + Math.max(0, p.column - 1);
    area.focus(); area.setSelectionRange(offset, offset);
  };
  const validate = async () => {
    try { const r = await api("POST", "/api/v1/workflows/validate", { yaml: area.value }); out.replaceChildren(message("ok", `Valid: ${r.steps} step(s)`)); }
    catch (err) { showErrors(err); }
  };
  const save = async () => {
    try { const r = await api("PUT", `/api/v1/workflows/${encodeURIComponent(id)}`, { yaml: area.value }); out.replaceChildren(message("ok", `Saved as version ${r.version}`)); }
    catch (err) { showErrors(err); }
  };
  show(h("h1", { text: `${wf.name} — YAML (v${wf.version})` }),
    h("p", { class: "muted" }, "Format: docs/workflows.md. ", h("a", { href: `#/run/${id}` }, "Run it")),
    area, h("div", { class: "row" }, h("button", { type: "button", onclick: validate }, "Validate"), h("button", { type: "button", class: "secondary", onclick: save }, "Save new version")), out);
}

// ---------------------------------------------------------------- routing

async function route() {
  if (!me) {
    try { me = await api("GET", "/console/me"); } catch { return login(); }
  }
  document.getElementById("nav").hidden = false;
  document.getElementById("who").textContent = me.email && me.email !== me.name ? `${me.name} · ${me.email} (${me.role})` : `${me.name} (${me.role})`;
  const [, view, arg] = (location.hash || "#/workflows").split("/");
  const id = arg ? decodeURIComponent(arg) : null;
  try {
    if (view === "run" && id) await runView(id);
    else if (view === "runs" && id) await runDetail(id);
    else if (view === "runs") await runs();
    else if (view === "connections") await connections();
    else if (view === "yaml" && id) await yamlView(id);
    else await workflows();
  } catch (err) {
    if (err.status === 401) { me = null; return login(); }
    show(message("bad", err.message));
  }
}

document.getElementById("logout").addEventListener("click", async () => { await api("POST", "/console/logout"); me = null; location.hash = ""; login(); });
window.addEventListener("hashchange", route);
route();
