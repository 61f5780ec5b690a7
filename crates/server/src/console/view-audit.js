// The audit trail, for admins and auditors: whether its hash chain is whole (checked now),
// then who did what, for whom, when, with which run, newest first; filters kept in the
// address, older events page by page, and the whole trail as a download.
import { h, api, show, message, when, runLink, currentRoute, busy, put } from "./lib.js";

const FILTERS = ["action", "actor", "target", "since", "until"];
const PAGE = 100;
/** The actions people look for, for the filter's suggestions (the filter matches any part,
 *  so `run.` finds every decision, cancel and expiry). */
const ACTIONS = ["lumos.call", "http.call", "run.", "run.approve", "run.deny", "run.cancel", "run.expire", "run.interrupted",
  "workflow", "key.", "person.", "session.", "secret.", "connection.", "trigger.", "notification.", "schedule.",
  "database.backup", "slack.setup", "audit.prune"];

/** What an event's details say, short: the fields people look for first. */
function summary(d) {
  if (!d || typeof d !== "object") return "";
  const parts = [];
  for (const k of ["step", "method", "path", "status", "origin", "requested_for", "comment", "role", "auditor", "hosts"]) {
    if (d[k] !== undefined && d[k] !== null && d[k] !== "") parts.push(`${k}: ${Array.isArray(d[k]) ? d[k].join(", ") : d[k]}`);
  }
  return parts.join(" · ");
}

function row(e) {
  const d = e.details || {};
  // A run's own events name it as their target; others carry it in their details.
  const run = typeof d.run_id === "string" ? d.run_id
    : e.action.startsWith("run.") && /^[0-9a-f-]{36}$/.test(e.target || "") ? e.target : null;
  return h("tr", {},
    h("td", { "data-label": "#" }, String(e.seq ?? "")),
    h("td", { "data-label": "When" }, when(e.at)),
    h("td", { "data-label": "Who" }, e.actor),
    h("td", { "data-label": "Action" }, h("code", {}, e.action)),
    h("td", { "data-label": e.target && e.target !== run ? "About" : null }, e.target && e.target !== run ? e.target : ""),
    h("td", { "data-label": run ? "Run" : null }, run ? runLink(run) : ""),
    h("td", { "data-label": summary(d) ? "Details" : null }, summary(d)));
}

export async function audit() {
  const { params } = currentRoute();
  const query = new URLSearchParams();
  for (const f of FILTERS) if (params.get(f)) query.set(f, params.get(f));
  let problem = null;
  let events = [];
  const [check] = await Promise.all([
    api("GET", "/api/v1/audit/verify"),
    api("GET", `/api/v1/audit?${query}&limit=${PAGE}`).then((e) => { events = e; }, (err) => { problem = message("bad", err.message); }),
  ]);
  const head = check.head;
  const state = check.broken
    ? message("bad", `The audit trail is broken at event ${check.broken.seq}: ${check.broken.why}`)
    : message("ok", `The audit trail is whole: ${check.checked} events checked (events ${head.checkpoint_seq + 1} to ${head.seq}). Head hash ${head.hash.slice(0, 16)}…, to compare with your SIEM's copy.`);

  const input = (name, text, type, help) => h("div", { class: "field" }, h("label", { for: `a-${name}` }, text),
    h("input", { id: `a-${name}`, name, type, value: params.get(name) || "", autocomplete: "off", list: name === "action" ? "a-actions" : null, placeholder: help || null }));
  const filters = h("form", { class: "filters", "aria-label": "Filter the audit trail", onsubmit: (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const el of e.target.elements) if (el.name && el.value.trim()) q.set(el.name, el.value.trim());
    location.hash = q.toString() ? `#/audit?${q}` : "#/audit";
  } },
  input("actor", "Who", "text", "part of an email or key"),
  input("action", "Action", "text", "e.g. run.approve, or run."),
  h("datalist", { id: "a-actions" }, ACTIONS.map((a) => h("option", { value: a }))),
  input("target", "About", "text", "a run id, an email…"),
  input("since", "Since", "date"), input("until", "Until", "date"),
  h("div", { class: "row" }, h("button", { type: "submit" }, "Filter"), query.toString() ? h("a", { href: "#/audit" }, "Clear") : null));

  const columns = ["#", "When", "Who", "Action", "About", "Run", "Details"];
  const tbody = h("tbody", {}, events.map(row));
  const table = events.length
    ? h("div", { class: "scroll" }, h("table", { class: "list", "aria-label": "Audit events" },
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))), tbody))
    : h("p", { class: "muted" }, query.toString() ? "No event matches these filters." : "Nothing recorded yet.");
  const counted = (n) => `${n} ${n === 1 ? "event" : "events"}, newest first`;
  const status = h("p", { class: "muted", role: "status" }, events.length ? counted(events.length) : "");
  const failed = h("div");
  let last = events.length ? events[events.length - 1].id : null;
  let shown = events.length;
  const more = h("button", { type: "button", class: "secondary", hidden: events.length < PAGE || null }, "Older events");
  more.addEventListener("click", () => busy(more, async () => {
    try {
      const page = await api("GET", `/api/v1/audit?${query}&limit=${PAGE}&before=${last}`);
      const before = tbody.children.length;
      for (const e of page) tbody.append(row(e));
      const first = tbody.children[before];
      if (first) { first.setAttribute("tabindex", "-1"); first.focus(); }
      shown += page.length;
      status.textContent = counted(shown);
      if (page.length) last = page[page.length - 1].id;
      more.hidden = page.length < PAGE;
    } catch (err) { put(failed, message("bad", err.message)); }
  }, "Loading…"));
  const since = params.get("since") ? `&since=${encodeURIComponent(params.get("since"))}` : "";
  const exports = h("div", { class: "row" },
    h("a", { class: "button secondary", href: `/api/v1/audit/export?format=csv${since}`, download: "" }, "Export the whole trail (CSV)"),
    h("a", { class: "button secondary", href: `/api/v1/audit/export?format=ndjson${since}`, download: "" }, "Export the whole trail (NDJSON)"));
  const folded = h("details", { class: "filters-box", open: query.toString() || window.innerWidth > 760 || null }, h("summary", {}, "Filters"), filters);
  show("Audit trail", h("h1", {}, "Audit trail"), state,
    h("p", { class: "muted" }, "Every change to Lumos, every decision, and every change to workflows, keys, people, secrets, connections and triggers, with who did it. The export is the whole trail in the order it was written (from the Since day when one is set), with each event's hashes."),
    exports, folded, problem, status, table, failed, h("div", { class: "row" }, more));
}
