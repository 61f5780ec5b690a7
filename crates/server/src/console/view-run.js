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
  // `app` is what a request names: an AppStore app, by the name the workflow looks up.
  app_id: ["apps", (f) => f.id], app: ["appstore", (f) => f.label],
  user_email: ["users", (f) => f.email], email: ["users", (f) => f.email], user_id: ["users", (f) => f.id],
};

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Typing part of a name offers the matching apps or people (a native datalist: keyboard
 *  and screen readers work as with any suggestion list). The field keeps showing the name
 *  chosen or typed, and says which app or person it stands for; the run gets the id (or
 *  email). A name typed whole without choosing is looked up when the form is sent
 *  (`input.resolve()`): one exact match is used, none or several is an error beside it. */
export function picker(input, kind, valueOf) {
  const what = kind === "users" ? "person" : kind === "appstore" ? "app people may request" : "app";
  const list = h("datalist", { id: `${input.id}-list` });
  const said = h("span", { class: "help picked", id: `${input.id}-picked`, "aria-live": "polite" });
  input.setAttribute("list", list.id);
  input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), said.id].filter(Boolean).join(" "));
  const shown = new Map(); // what an option shows → the found app or person
  let chosen = null; // { text, value }
  const display = (f, found) => {
    if (valueOf(f) === f.email) return f.email;
    const twins = found.filter((x) => x.label === f.label).length > 1;
    return f.email ? `${f.label} <${f.email}>` : twins ? `${f.label} (${f.detail || f.id.slice(-8)})` : f.label;
  };
  const choose = (text, f) => {
    chosen = { text, value: valueOf(f) };
    // Say which one it is, unless the field shows exactly what the run gets.
    said.textContent = valueOf(f) === text ? "" : `${f.label}${f.detail ? ` (${f.detail})` : ""}: the ${what} with id ${valueOf(f)}`;
  };
  const offer = (found) => {
    shown.clear();
    for (const f of found.filter((x) => valueOf(x))) shown.set(display(f, found), f);
    put(list, [...shown.entries()].map(([text, f]) => h("option", { value: text }, [f.detail, f.email && text !== f.email ? f.email : null].filter(Boolean).join(" · "))));
  };
  const ask = async (q) => api("GET", `/api/v1/lumos/lookup?kind=${kind}&q=${encodeURIComponent(q)}`);
  let timer = 0;
  let asked = "";
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (shown.has(input.value)) { choose(input.value, shown.get(input.value)); return; }
    if (chosen && chosen.text !== input.value) { chosen = null; said.textContent = ""; }
    // An id or an email typed whole needs no suggestions.
    if (q.length < 2 || q === asked || ID.test(q)) return;
    timer = setTimeout(async () => {
      asked = q;
      try { offer(await ask(q)); } catch { put(list); }
    }, 250);
  });
  /** What the run gets for this field: the chosen one's id or email, an id or email typed
   *  whole, or the one app or person whose name is exactly what was typed. */
  input.resolve = async () => {
    const v = input.value.trim();
    if (!v) return "";
    if (chosen && chosen.text === input.value) return chosen.value;
    if (ID.test(v) || (v.includes("@") && !v.includes("<"))) return v;
    const found = (await ask(v)).filter((f) => valueOf(f));
    const exact = found.filter((f) => f.label.toLowerCase() === v.toLowerCase() || display(f, found).toLowerCase() === v.toLowerCase());
    if (exact.length === 1) { choose(input.value, exact[0]); return chosen.value; }
    offer(exact.length ? exact : found);
    const name = input.labels && input.labels[0] ? input.labels[0].textContent.replace(" (required)", "") : input.name;
    const problem = Object.assign(new Error(exact.length
      ? `${name}: “${v}” names ${exact.length} ${kind === "users" ? "people" : "apps"}; choose one from the list.`
      : `${name}: no ${what} is named “${v}”${found.length ? `; did you mean ${found.slice(0, 5).map((f) => display(f, found)).join(", ")}?` : "."}`), { field: input });
    // Said beside the field too, where the person looks.
    said.textContent = problem.message;
    throw problem;
  };
  /** An id in the field (from a link): show whose it is. */
  if (ID.test(input.value.trim())) {
    ask(input.value.trim()).then((found) => {
      const f = found.find((x) => valueOf(x) === input.value.trim());
      if (f && input.value.trim() === valueOf(f)) { const text = display(f, found); offer(found); input.value = text; choose(text, f); }
    }, () => {});
  }
  return [list, said];
}

/** A request's duration field offers the lengths the chosen app (and permissions) allow,
 *  and its help says them, once the app is known. */
function offerDurations(form) {
  const app = form.elements.app || form.elements.app_id;
  const duration = form.elements.duration;
  if (!app || !duration || typeof app.resolve !== "function") return;
  const list = h("datalist", { id: `${duration.id}-list` });
  duration.setAttribute("list", list.id);
  duration.after(list);
  const help = document.getElementById(`${duration.id}-help`) || form.querySelector(`#${duration.id}-help`);
  const usual = help ? help.textContent : "";
  let asked = "";
  const refresh = async () => {
    let id;
    // No app yet, or one that cannot be found (the field says why): the usual help again.
    const usualAgain = () => { asked = ""; put(list); if (help) help.textContent = usual; };
    try { id = await app.resolve(); } catch { usualAgain(); return; }
    const permissions = form.elements.permissions ? form.elements.permissions.value : "";
    if (!id) { usualAgain(); return; }
    if (`${id}|${permissions}` === asked) return;
    asked = `${id}|${permissions}`;
    try {
      const d = await api("GET", `/api/v1/lumos/durations?app=${encodeURIComponent(id)}&permissions=${encodeURIComponent(permissions)}`);
      put(list, d.offered.map((x) => h("option", { value: x })));
      if (help) help.textContent = d.offered.length ? `${d.of} offers: ${d.offered.join(", ")}.` : `${d.of} offers no time-limited access: leave it empty.`;
    } catch (err) { if (help) help.textContent = `${usual} (${err.message})`; }
  };
  app.addEventListener("change", refresh);
  if (form.elements.permissions) form.elements.permissions.addEventListener("change", refresh);
  if (app.value.trim()) refresh();
}

/** Each picker field's value for the run (names looked up); the first that cannot be is
 *  an error naming the field. */
async function resolvePickers(form) {
  for (const el of form.querySelectorAll("input")) {
    if (typeof el.resolve === "function") el.resolved = await el.resolve();
  }
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
    const value = typeof el.resolve === "function" && el.resolved !== undefined ? el.resolved : el.value;
    if (inp.type === "boolean") values[inp.name] = el.checked;
    else if (value !== "") values[inp.name] = inp.type === "integer" || inp.type === "number" ? Number(value) : value;
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
    // Names typed in app and person fields become their ids (or a clear error beside them).
    try { await resolvePickers(form); } catch (err) {
      put(results, message("bad", err.message));
      if (err.field) err.field.focus();
      return;
    }
    const inputs = { ...readForm(form, wf.inputs), ...overrides };
    const requestedFor = forWhom.resolved ?? forWhom.value.trim();
    // The address now opens this form with these inputs, as shown (names, not ids): a link
    // to share or come back to.
    const extra = {};
    if (requestedFor) extra.requested_for = requestedFor;
    if (connectionList.length > 1) extra.connection = connection.value;
    const asShown = { ...inputs };
    for (const inp of wf.inputs) {
      const el = form.elements[inp.name];
      if (el && typeof el.resolve === "function" && el.value.trim()) asShown[inp.name] = el.value.trim();
    }
    history.replaceState(null, "", `#/run/${encodeURIComponent(id)}?${inputsQuery({ ...asShown, ...extra })}`);
    // The previous answer goes at once: never shown as if it were this run's.
    put(results, h("p", { role: "status" }, "Starting the run…"));
    try {
      const body = { inputs, dry_run: dryRun };
      if (requestedFor) body.requested_for = requestedFor;
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
  offerDurations(form);
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
