// The workflow builder: a workflow's YAML with every problem in place (line, column, the
// line itself with a marker), versions with a diff against the current one and revert, a
// new workflow from a template or a copy, and the Lumos operation catalog beside it.
import { h, api, show, message, can, busy, currentRoute, session, put } from "./lib.js";

const TEMPLATE = `id: my-workflow
name: My workflow
description: What it answers, in one sentence.
inputs:
  search:
    type: text
    label: Search
steps:
  - id: users
    call: listUsers
    params:
      search_term: "{{ inputs.search }}"
    paginate: true
output: "{{ steps.users.output }}"
`;

/** Lines removed (-) and added (+) from `a` to `b`: a longest-common-subsequence diff,
 *  plenty for workflow files of a few hundred lines. */
export function diffLines(a, b) {
  const x = a.split("\n"), y = b.split("\n");
  const n = x.length, m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { out.push([" ", x[i]]); i++; j++; }
    else if (j < m && (i >= n || lcs[i][j + 1] >= lcs[i + 1][j])) { out.push(["+", y[j]]); j++; }
    else { out.push(["-", x[i]]); i++; }
  }
  return out;
}

function diffView(from, to) {
  const lines = diffLines(from, to);
  if (lines.every(([k]) => k === " ")) return h("p", { class: "muted" }, "No difference.");
  return h("pre", { class: "diff", "aria-label": "Differences" }, lines.map(([k, t]) => h("span", { class: k === "+" ? "add" : k === "-" ? "del" : "same" }, `${k} ${t}\n`)));
}

function catalog() {
  const list = h("ul", { class: "ops" });
  const detail = h("div");
  const count = h("p", { class: "muted", role: "status" });
  const search = h("input", { type: "search", id: "op-search", placeholder: "e.g. listUsers, accounts", autocomplete: "off" });
  let ops = [];
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const found = ops.filter((o) => !q || o.name.toLowerCase().includes(q) || o.path.toLowerCase().includes(q) || (o.tag || "").toLowerCase().includes(q));
    count.textContent = found.length > 40 ? `${found.length} operations: the first 40 shown, type to narrow` : `${found.length} ${found.length === 1 ? "operation" : "operations"}`;
    put(list, ...found.slice(0, 40)
      .map((o) => h("li", {}, h("button", { type: "button", class: "link", onclick: () => {
        put(detail, h("h3", { class: "mono" }, o.name), h("p", { class: "mono" }, `${o.method} ${o.path}`),
          o.pagination && o.pagination !== "none" ? h("p", { class: "muted" }, `Paged (${o.pagination}): paginate: true on a step walks every page.`) : null,
          o.params.length ? h("ul", { class: "params" }, o.params.map((p) => h("li", {}, h("code", {}, p.name),
            ` ${p.array ? `list of ${p.kind}` : p.kind}${p.required ? ", required" : ""}${p.default !== undefined ? `, default ${JSON.stringify(p.default)}` : ""}`,
            p.values ? h("span", { class: "muted" }, ` — one of ${p.values.join(", ")}`) : null))) : h("p", { class: "muted" }, "No parameters."),
          o.body ? h("p", { class: "muted" }, "Takes a JSON body (body: in the step).") : null);
      } }, h("span", { class: "mono" }, o.name), h("span", { class: "muted" }, ` ${o.method} ${o.path}`)))));
  };
  search.addEventListener("input", draw);
  api("GET", "/api/v1/lumos/operations").then((o) => { ops = o; draw(); }).catch((err) => put(detail, message("bad", err.message)));
  return h("aside", { class: "catalog", "aria-label": "Lumos operations" }, h("h2", {}, "Lumos operations"),
    h("label", { for: "op-search" }, "Find an operation"), search, count, detail, list);
}

export async function yamlView(id, notice) {
  const isNew = id === null;
  const { params } = currentRoute();
  const asked = params.get("version");
  const wf = isNew ? null : await api("GET", `/api/v1/workflows/${encodeURIComponent(id)}${asked ? `?version=${encodeURIComponent(asked)}` : ""}`);
  let copyFrom = null;
  if (isNew && params.get("from")) copyFrom = await api("GET", `/api/v1/workflows/${encodeURIComponent(params.get("from"))}`);
  const current = wf ? wf.current_version : null;
  const old = wf && wf.version !== current;

  const area = h("textarea", { class: "yaml", id: "yaml", spellcheck: "false", autocapitalize: "off", wrap: "off", "aria-label": "Workflow YAML", "aria-describedby": "yaml-help", readonly: !can("builder") || null });
  area.value = wf ? wf.yaml : copyFrom ? copyFrom.yaml.replace(/^id: .*$/m, `id: ${copyFrom.id}-copy`).replace(/^name: (.*)$/m, "name: $1 (copy)").replace(/^bundle: .*\n/m, "") : TEMPLATE;
  let saved = area.value;
  // The router and the browser ask before leaving unsaved changes.
  session.dirty = () => area.value !== saved;
  const out = h("div", { "aria-live": "polite" }, notice || null);

  const jump = (p) => {
    if (!p.line) return;
    const lines = area.value.split("\n");
    const offset = lines.slice(0, p.line - 1).reduce((n, l) => n + l.length + 1, 0) + Math.max(0, (p.column || 1) - 1);
    area.focus(); area.setSelectionRange(offset, offset);
  };
  const showErrors = (err) => {
    // Problems come with a place ({line, column, message}) or as plain sentences.
    const problems = (Array.isArray(err.details) ? err.details : []).map((p) => (typeof p === "string" ? { message: p } : p));
    if (!problems.length) return put(out, message("bad", err.message));
    const lines = area.value.split("\n");
    put(out, h("div", { class: "msg bad", role: "alert" },
      h("b", {}, `${problems.length} ${problems.length === 1 ? "problem" : "problems"} — select one to go to it:`),
      h("ul", { class: "errors" }, problems.map((p) => h("li", {},
        p.line ? [h("button", { type: "button", class: "link", onclick: () => jump(p) }, `Line ${p.line}, column ${p.column}`), ": "] : null, p.message,
        p.line && lines[p.line - 1] !== undefined ? h("pre", { class: "excerpt" }, `${lines[p.line - 1]}\n${" ".repeat(Math.max(0, (p.column || 1) - 1))}^`) : null)))));
  };
  const validate = (e) => busy(e.currentTarget, async () => {
    try { const r = await api("POST", "/api/v1/workflows/validate", { yaml: area.value }); put(out, message("ok", `Valid: ${r.steps} ${r.steps === 1 ? "step" : "steps"}.`)); }
    catch (err) { showErrors(err); }
  }, "Validating…");
  const save = (e) => busy(e.currentTarget, async () => {
    try {
      if (isNew) {
        const r = await api("POST", "/api/v1/workflows", { yaml: area.value });
        saved = area.value;
        location.hash = `#/yaml/${encodeURIComponent(r.id)}`;
        return;
      }
      const r = await api("PUT", `/api/v1/workflows/${encodeURIComponent(id)}`, { yaml: area.value });
      saved = area.value;
      // Redraw so the heading, the versions and the diff show the new version.
      history.replaceState(null, "", `#/yaml/${encodeURIComponent(id)}`);
      await yamlView(id, message("ok", r.version === current ? `Nothing changed: it is still version ${r.version}.` : `Saved as version ${r.version}.`));
    } catch (err) { showErrors(err); }
  }, "Saving…");

  const versions = wf && wf.versions.length > 1 ? h("section", { "aria-label": "Versions" }, h("h2", {}, "Versions"),
    h("ol", { class: "versions", reversed: true }, [...wf.versions].reverse().map((v) => h("li", {},
      v.version === wf.version ? h("b", {}, `v${v.version}`) : h("a", { href: `#/yaml/${encodeURIComponent(id)}?version=${v.version}` }, `v${v.version}`),
      h("span", { class: "muted" }, ` ${new Date(v.created_at).toLocaleString()} by ${v.created_by || "?"}${v.version === current ? " (current)" : ""}`))))) : null;
  let diff = null;
  if (old) {
    const cur = await api("GET", `/api/v1/workflows/${encodeURIComponent(id)}`);
    diff = h("section", { "aria-label": "Changes since this version" }, h("h2", {}, `From v${wf.version} to the current v${current}`), diffView(wf.yaml, cur.yaml));
  }
  const title = isNew ? "New workflow" : `${wf.name} — YAML v${wf.version}${old ? ` (the current one is v${current})` : ""}`;
  const actions = h("div", { class: "row" },
    h("button", { type: "button", onclick: validate }, "Validate"),
    can("builder") ? h("button", { type: "button", class: "secondary", onclick: save }, isNew ? "Create workflow" : old ? `Revert to v${wf.version} (saves a new version)` : "Save new version") : null,
    !isNew ? h("a", { href: `#/run/${encodeURIComponent(id)}` }, "Run it (Dry run is on its form)") : null);
  const templates = isNew ? h("p", {}, "Start from ",
    h("a", { href: "#/new" }, "a blank template"), " or a copy of: ",
    [...(session.installed || [])].map((w, i) => [i ? ", " : "", h("a", { href: `#/new?from=${encodeURIComponent(w)}` }, w)])) : null;
  const adminOnly = wf && wf.changes_lumos && can("builder") && !can("admin")
    ? message("ok", "This workflow changes Lumos: only an admin can save it. You can read it, validate changes and run it.") : null;
  show(isNew ? "New workflow" : `${wf.name} YAML`,
    h("h1", {}, title), adminOnly,
    templates,
    h("p", { class: "muted", id: "yaml-help" }, "The format is in docs/workflows.md. Validation reports every problem at once, with its line and column."),
    h("div", { class: "builder" }, h("div", { class: "editor" }, area, actions, out), catalog()),
    diff, versions);
}
