// Run history (filters kept in the address, older runs page by page) and one run's page.
import { h, api, show, message, statusBadge, when, runLink, shortId, currentRoute, busy, listTable, put, can } from "./lib.js";
import { runPanel, runFacts, inputsQuery } from "./run-panel.js";

const STATUSES = ["queued", "running", "pending_approval", "completed", "failed", "canceled", "denied", "expired"];
const FILTERS = ["workflow", "status", "requested_by", "requested_for", "since", "until"];
const PAGE = 50;

export async function runs() {
  const { params } = currentRoute();
  const query = new URLSearchParams();
  for (const f of FILTERS) if (params.get(f)) query.set(f, params.get(f));
  const workflows = await api("GET", "/api/v1/workflows");
  let list = [];
  let problem = null;
  try { list = await api("GET", `/api/v1/runs?${query}&limit=${PAGE}`); } catch (err) { problem = message("bad", err.message); }

  const select = (id, text, options, value) => h("div", { class: "field" }, h("label", { for: id }, text),
    h("select", { id, name: id.slice(2) }, h("option", { value: "" }, "(any)"), options.map(([v, t]) => h("option", { value: v, selected: v === value || null }, t))));
  const input = (id, text, type, value) => h("div", { class: "field" }, h("label", { for: id }, text), h("input", { id, name: id.slice(2), type, value: value || "", autocomplete: "off" }));
  const filters = h("form", { class: "filters", "aria-label": "Filter runs", onsubmit: (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const el of e.target.elements) if (el.name && el.value) q.set(el.name, el.value);
    location.hash = `#/runs?${q}`;
  } },
  select("f-workflow", "Workflow", workflows.map((w) => [w.id, w.name]), params.get("workflow")),
  select("f-status", "Status", STATUSES.map((s) => [s, s.replace("_", " ")]), params.get("status")),
  h("div", { class: "field" }, h("label", { for: "f-requested_by" }, "Requested by"),
    h("input", { id: "f-requested_by", name: "requested_by", type: "text", value: params.get("requested_by") || "", autocomplete: "off", placeholder: "part of an email or key" })),
  input("f-requested_for", "For", "text", params.get("requested_for")),
  input("f-since", "Since", "date", params.get("since")),
  input("f-until", "Until", "date", params.get("until")),
  h("div", { class: "row" }, h("button", { type: "submit" }, "Filter"), query.toString() ? h("a", { href: "#/runs" }, "Clear") : null));

  const names = Object.fromEntries(workflows.map((w) => [w.id, w.name]));
  const row = (r) => [runLink(r.id), names[r.workflow_id] || r.workflow_id, statusBadge(r.status), r.requested_by || "", r.requested_for || "", when(r.created_at)];
  const columns = ["Run", "Workflow", "Status", "Requested by", "For", "Created"];
  const holder = h("div", {}, listTable("Runs", columns, list.map(row), query.toString() ? "No run matches these filters." : "No run yet."));
  const status = h("p", { class: "muted", role: "status" }, list.length ? `${list.length} runs` : "");
  const failed = h("div");
  let last = list.length ? list[list.length - 1].id : null;
  let shown = list.length;
  const more = h("button", { type: "button", class: "secondary", hidden: list.length < PAGE || null }, "Older runs");
  more.addEventListener("click", () => busy(more, async () => {
    try {
      const page = await api("GET", `/api/v1/runs?${query}&limit=${PAGE}&before=${encodeURIComponent(last)}`);
      const tbody = holder.querySelector("tbody");
      const before = tbody.children.length;
      for (const r of page) tbody.append(h("tr", {}, row(r).map((c, i) => h("td", { "data-label": c === "" ? null : columns[i] }, c))));
      // The focus goes to the first run that came in, not back to the top of the page.
      const first = tbody.children[before] && tbody.children[before].querySelector("a");
      if (first) first.focus();
      shown += page.length;
      status.textContent = `${shown} runs`;
      if (page.length) last = page[page.length - 1].id;
      more.hidden = page.length < PAGE;
    } catch (err) { put(failed, message("bad", err.message)); }
  }, "Loading…"));
  // Filters fold away on a phone unless some are in force.
  const folded = h("details", { class: "filters-box", open: query.toString() || window.innerWidth > 760 || null }, h("summary", {}, "Filters"), filters);
  show("Runs", h("h1", {}, "Runs"), folded, problem, status, holder, failed, h("div", { class: "row" }, more));
}

export async function runDetail(id) {
  const run = await api("GET", `/api/v1/runs/${encodeURIComponent(id)}`);
  const wfName = await api("GET", `/api/v1/workflows/${encodeURIComponent(run.workflow_id)}`).then((w) => w.name, () => run.workflow_id);
  const copied = h("span", { role: "status", class: "muted" });
  const copy = h("button", { type: "button", class: "secondary", onclick: async () => {
    try { await navigator.clipboard.writeText(location.href); copied.textContent = "Link copied."; }
    catch { copied.textContent = `Link: ${location.href}`; }
  } }, "Copy link");
  show(`Run ${shortId(run.id)}`,
    h("h1", {}, `Run ${shortId(run.id)} of ${wfName}`),
    h("div", { class: "row" },
      // A run that may have changed something is not offered again (its page says why).
      can("agent") && !(run.writes && !run.writes.retry_safe) ? h("a", { class: "button secondary", href: `#/run/${encodeURIComponent(run.workflow_id)}?${inputsQuery({ ...run.inputs, ...(run.requested_for ? { requested_for: run.requested_for } : {}), ...(run.connection && run.connection !== "default" ? { connection: run.connection } : {}) })}` }, "Run again with these inputs") : null,
      copy, copied),
    runFacts(run),
    runPanel(run.id, { title: `Output of run ${shortId(run.id)}`, link: false }));
}
