// A workflow's form: its inputs (pre-filled from the link, so a form with its inputs can be
// shared), what approval it needs and from whom, Run and Dry run, and the run live below.
import { h, api, show, message, can, busy, currentRoute, put, label } from "./lib.js";
import { runPanel, inputsQuery } from "./run-panel.js";

function control(inp, value) {
  const id = `in-${inp.name}`;
  const help = inp.help ? `${id}-help` : null;
  const common = { id, name: inp.name, "aria-describedby": help, required: inp.required || null };
  const v = value ?? inp.default;
  if (inp.type === "select") {
    return h("select", common, h("option", { value: "" }, inp.required ? "Choose…" : "(any)"),
      (inp.options || []).map((o) => h("option", { value: o, selected: String(v) === o || null }, o)));
  }
  if (inp.type === "boolean") return h("input", { ...common, type: "checkbox", checked: v === true || v === "true" || null, required: null });
  if (inp.type === "list") {
    const chosen = listValue(v);
    // With options: a group of checkboxes (a multi-select); without: one value per line.
    if ((inp.options || []).length) {
      return h("fieldset", { class: "choices", id, "aria-describedby": help },
        h("legend", {}, inp.label || label(inp.name), inp.required ? h("span", { class: "req" }, " (required)") : null),
        inp.options.map((o) => h("label", { class: "check" }, h("input", { type: "checkbox", name: inp.name, value: o, checked: chosen.includes(o) || null }), o)));
    }
    return h("textarea", { ...common, rows: "3", placeholder: "one per line" }, chosen.join("\n"));
  }
  if (inp.type === "textarea") return h("textarea", common, v ?? "");
  const type = inp.type === "integer" || inp.type === "number" ? "number" : inp.type === "date" ? "date" : "text";
  return h("input", { ...common, type, value: v ?? "", min: inp.min ?? null, max: inp.max ?? null,
    step: inp.type === "number" ? "any" : inp.type === "integer" ? "1" : null, autocomplete: "off" });
}

/** A list input's value from a link or a default: a JSON list, or text split at commas and
 *  new lines. */
function listValue(v) {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v !== "string" || !v.trim()) return [];
  try { const parsed = JSON.parse(v); if (Array.isArray(parsed)) return parsed.map(String); } catch { /* text */ }
  return v.split(/[,\n]/).map((x) => x.trim()).filter(Boolean);
}

/** Which inputs get a picker: apps by name for app ids, people for emails and user ids. */
const PICKERS = {
  app_id: ["apps", (f) => f.id], app: ["apps", (f) => f.id],
  user_email: ["users", (f) => f.email], email: ["users", (f) => f.email], user_id: ["users", (f) => f.id],
};

/** Typing part of a name offers the matching apps or people (a native datalist: keyboard
 *  and screen readers work as with any suggestion list); choosing one fills in its id or
 *  email. */
export function picker(input, kind, valueOf) {
  const list = h("datalist", { id: `${input.id}-list` });
  input.setAttribute("list", list.id);
  let timer = 0;
  let asked = "";
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    // An id or an email typed whole needs no suggestions.
    if (q.length < 2 || q === asked || /^[0-9a-f-]{36}$/.test(q)) return;
    timer = setTimeout(async () => {
      asked = q;
      try {
        const found = await api("GET", `/api/v1/lumos/lookup?kind=${kind}&q=${encodeURIComponent(q)}`);
        put(list, found.filter((f) => valueOf(f)).map((f) => h("option", { value: valueOf(f) }, [f.label, f.email && valueOf(f) !== f.email ? f.email : null, f.detail].filter(Boolean).join(" · "))));
      } catch { put(list); }
    }, 250);
  });
  return list;
}

function fieldFor(inp, value) {
  const id = `in-${inp.name}`;
  const el = control(inp, value);
  const pick = PICKERS[inp.name] && inp.type === "text" && can("agent") ? picker(el, ...PICKERS[inp.name]) : null;
  return h("div", { class: inp.type === "boolean" ? "field check-field" : "field" },
    el.tagName === "FIELDSET" ? el : inp.type === "boolean" ? h("label", { class: "check", for: id }, el, " ", inp.label || label(inp.name)) : [
      h("label", { for: id }, inp.label || label(inp.name), inp.required ? h("span", { class: "req" }, " (required)") : null), el, pick],
    inp.help ? h("span", { class: "help", id: `${id}-help` }, inp.help) : null);
}

function readForm(form, inputs) {
  const values = {};
  for (const inp of inputs) {
    const el = form.elements[inp.name];
    if (inp.type === "list") {
      const boxes = form.querySelectorAll(`input[type=checkbox][name="${CSS.escape(inp.name)}"]`);
      const list = boxes.length ? [...boxes].filter((b) => b.checked).map((b) => b.value) : listValue(form.elements[inp.name].value);
      if (list.length) values[inp.name] = list;
      continue;
    }
    if (inp.type === "boolean") values[inp.name] = el.checked;
    else if (el.value !== "") values[inp.name] = inp.type === "integer" || inp.type === "number" ? Number(el.value) : el.value;
  }
  return values;
}

function approvalNotice(wf) {
  const a = wf.approval;
  if (!a) return null;
  const when_ = a.gate === "before_changes" ? "Its reads run at once; before it changes anything in Lumos it waits for approval" : "It waits for approval before it runs";
  return h("div", { class: "msg warn", role: "note" },
    h("b", {}, "Needs approval. "), `${when_}: ${a.reason}`,
    h("ol", { class: "policy-steps" }, a.steps.map((s) => h("li", {}, h("b", {}, s.name), ` — ${s.who}${s.min > 1 ? ` (${s.min} approvals)` : ""}`))));
}

export async function runView(id) {
  const wf = await api("GET", `/api/v1/workflows/${encodeURIComponent(id)}`);
  const { params } = currentRoute();
  const results = h("div");
  const canRun = can("agent");
  const runButton = h("button", { type: "submit" }, "Run");
  const dryButton = h("button", { type: "button", class: "secondary" }, "Dry run");
  // Admins may pick the connection a run uses (others always use 'default').
  const connectionList = can("admin") ? await api("GET", "/api/v1/connections").catch(() => []) : [];
  const connection = h("select", { id: "run-connection", name: "connection" },
    connectionList.map((c) => h("option", { value: c.name, selected: c.name === (params.get("connection") || "default") || null }, `${c.name} (${c.base_url})`)));
  const forWhom = h("input", { type: "email", id: "run-for", name: "requested_for", autocomplete: "off", value: params.get("requested_for") || "", "aria-describedby": "run-for-help" });
  const forWhomPick = canRun ? picker(forWhom, "users", (f) => f.email) : null;
  const form = h("form", { class: "stack", "aria-label": `Inputs of ${wf.name}` },
    wf.inputs.map((inp) => fieldFor(inp, params.get(inp.name))),
    h("details", { class: "more" }, h("summary", {}, "More options"),
      h("div", { class: "field" }, h("label", { for: "run-for" }, "On behalf of (email)"), forWhom, forWhomPick,
        h("span", { class: "help", id: "run-for-help" }, "The person this run is for, e.g. who opened the ticket; recorded on the run.")),
      connectionList.length > 1 ? h("div", { class: "field" }, h("label", { for: "run-connection" }, "Lumos connection"), connection) : null),
    canRun ? h("div", { class: "row" }, runButton, dryButton) : h("p", { class: "muted" }, "Your role can read this workflow but not run it."));

  const start = async (button, dryRun, overrides = {}) => busy(button, async () => {
    const inputs = { ...readForm(form, wf.inputs), ...overrides };
    // The address now opens this form with these inputs: a link to share or come back to.
    const extra = {};
    if (forWhom.value.trim()) extra.requested_for = forWhom.value.trim();
    if (connectionList.length > 1) extra.connection = connection.value;
    history.replaceState(null, "", `#/run/${encodeURIComponent(id)}?${inputsQuery({ ...inputs, ...extra })}`);
    // The previous answer goes at once: never shown as if it were this run's.
    put(results, h("p", { role: "status" }, "Starting the run…"));
    try {
      const body = { inputs, dry_run: dryRun };
      if (forWhom.value.trim()) body.requested_for = forWhom.value.trim();
      if (connectionList.length > 1) body.connection = connection.value;
      const run = await api("POST", `/api/v1/workflows/${encodeURIComponent(id)}/runs`, body);
      // The run is the page: its own address from now on, so refresh, a shared link and
      // Back after leaving show this answer; Back from here is the form with these inputs.
      history.pushState(null, "", `#/runs/${encodeURIComponent(run.id)}`);
      let done;
      const finished = new Promise((resolve) => { done = resolve; });
      put(results, runPanel(run.id, { title: `Results of ${wf.name}`, onSettled: done, controls: pager }));
      results.scrollIntoView({ block: "start" });
      // The button stays busy until the run ends or waits for people, so one click is one run.
      await finished;
    } catch (err) { put(results, message("bad", err.message)); }
  }, dryRun ? "Dry running…" : "Running…");
  // Paged listings (page/size inputs): Previous and Next run the page before or after, and
  // the form says which page is shown.
  const turn = (button, dryRun, page) => {
    if (form.elements.page) form.elements.page.value = String(page);
    return start(button, dryRun, { page });
  };
  const pager = (run) => {
    const out = run.output;
    if (!out || !out.page) return [];
    return [
      h("button", { type: "button", class: "secondary", disabled: !(out.page > 1) || null, onclick: (e) => turn(e.currentTarget, run.dry_run, out.page - 1) }, "Previous page"),
      h("button", { type: "button", class: "secondary", disabled: !out.next_page || null, onclick: (e) => turn(e.currentTarget, run.dry_run, out.next_page) }, "Next page"),
    ];
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); start(runButton, false); });
  // A field in the closed "More options" cannot show why the form will not submit: open it.
  form.addEventListener("invalid", (e) => { const d = e.target.closest("details"); if (d) d.open = true; }, true);
  dryButton.addEventListener("click", () => { if (form.reportValidity()) start(dryButton, true); });

  show(wf.name,
    h("div", { class: "row spread" }, h("h1", {}, wf.name),
      h("span", { class: "row tight" }, h("a", { href: `#/runs?workflow=${encodeURIComponent(id)}` }, "Past runs"), h("a", { href: `#/yaml/${encodeURIComponent(id)}` }, "YAML"))),
    wf.description ? h("p", { class: "muted" }, wf.description) : null,
    approvalNotice(wf), form, results);
  // A link may open a form ready to run (`autorun=1`), but only a workflow that just reads
  // runs by itself: one that changes Lumos or needs approval waits for the person's click.
  if (params.get("autorun") === "1" && canRun) {
    if (!wf.changes_lumos && !wf.approval && form.checkValidity()) start(runButton, false);
    else put(results, message("ok", "Opened from a link: check the inputs, then press Run."));
  }
}
