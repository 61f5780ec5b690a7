// A run's answer as people read it. A listing is a table drawn a screenful at a time, its
// rows fetched from the server as they scroll into view, so a million rows stay smooth;
// the filter and sorting of a stored listing are done by the server over every row (only
// the rows in view come back), and "Export all" downloads the complete stored output.
// Anything else is shown as fields, with the raw JSON a click away.
import { h, api, label, session, put, can } from "./lib.js";

/** Id columns hold long opaque values: drawn narrow (the whole value in the tooltip and
 *  the row's details), so names and emails get the room. */
const isId = (c) => c === "id" || c.endsWith("_id");
const PAGE = 500;
const ROW_PX = 34;
const WINDOW_ROWS = 40;

/** Links from a value to the workflows about it: an app, a user, an access request. */
export function relatedLinks(row, workflowId) {
  const installed = session.installed || new Set();
  const out = [];
  const add = (wf, params, text) => {
    if (!installed.has(wf)) return;
    out.push(h("a", { class: "button secondary small", href: `#/run/${wf}?${new URLSearchParams({ ...params, autorun: "1" })}` }, text));
  };
  const appWorkflows = ["list-lumos-apps", "list-lumos-appstore-apps", "get-lumos-app", "search-lumos-appstore"];
  const appId = row.app_id || (appWorkflows.includes(workflowId) ? row.id : null);
  if (typeof appId === "string") {
    if (workflowId !== "get-lumos-app") add("get-lumos-app", { app_id: appId }, "App");
    add("get-lumos-app-approvers", { app_id: appId }, "Approvers");
    add("list-lumos-app-requestable-permissions", { app_id: appId }, "Permissions");
    add("list-lumos-accounts", { app_id: appId }, "Accounts");
    add("list-lumos-groups", { app_id: appId }, "Groups");
  }
  if (workflowId === "list-lumos-users" && typeof row.email === "string") {
    add("list-lumos-user-access", { user_email: row.email }, "Access");
    add("list-lumos-access-requests", { user_email: row.email }, "Access requests");
  }
  // An account of a known person: what else that person has.
  if (workflowId === "list-lumos-accounts" && typeof row.email === "string" && row.user_id) add("list-lumos-user-access", { user_email: row.email }, "Person's access");
  const requestWorkflows = ["list-lumos-access-requests", "request-lumos-app-access"];
  const requestId = row.request_id || (requestWorkflows.includes(workflowId) ? row.id : null);
  if (typeof requestId === "string" && workflowId !== "get-lumos-access-request") add("get-lumos-access-request", { request_id: requestId }, "Request status");
  // A request still waiting can be cancelled: the link opens the cancel form filled in,
  // naming what it cancels; it changes Lumos, so it runs only when the person presses Run.
  const waiting = typeof row.status === "string" && row.status.startsWith("PENDING");
  if (typeof requestId === "string" && waiting && installed.has("cancel-lumos-access-request") && can("agent")) {
    const app = row.app || row.app_name;
    const whom = row.user || (row.target_user && row.target_user.email);
    const what = [app, whom ? `for ${whom}` : null].filter(Boolean).join(" ");
    out.push(h("a", { class: "button secondary small", href: `#/run/cancel-lumos-access-request?${new URLSearchParams({ request_id: requestId })}` },
      what ? `Cancel the request (${what})…` : "Cancel the request…"));
  }
  return out;
}

/** One value in a cell: lists of words as chips, objects in short, nothing for null. */
export function cell(v) {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== "object")) return h("span", { class: "chips" }, v.map((x) => h("span", { class: "chip" }, String(x))));
    return `${v.length} ${v.length === 1 ? "item" : "items"}`;
  }
  if (typeof v === "object") {
    const named = v.name ?? v.label ?? v.user_friendly_label ?? v.email ?? v.id;
    if (named !== undefined) return String(named);
    // A small object of plain values reads as "key: value; …" (nulls left out).
    const pairs = Object.entries(v).filter(([, x]) => x !== null && x !== undefined);
    if (pairs.every(([, x]) => typeof x !== "object")) return pairs.map(([k, x]) => `${label(k)}: ${x}`).join("; ");
    return JSON.stringify(v);
  }
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "string" && TIME.test(v)) return localTime(v);
  return String(v);
}

/** A time as Lumos writes it: with an offset, or naive (UTC). */
const TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** A Lumos time in the viewer's local time, as the console writes every other time (the
 *  value as Lumos sent it is in the cell's tooltip and in exports). */
export function localTime(v) {
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(v) ? v : `${v.replace(" ", "T")}Z`;
  const t = new Date(zoned);
  return Number.isNaN(t.getTime()) ? v : t.toLocaleString();
}

function text(v) {
  if (v === null || v === undefined) return "";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** A cell's tooltip: the whole of what it shows (an id cut short), a person by their email
 *  as in the cell, not the object's JSON. */
function tip(v) {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const shown = cell(v);
    if (typeof shown === "string") return shown;
  }
  return text(v);
}

/** Fields of an object as a description list (nested objects indented). */
export function fields(obj, workflowId) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return h("pre", { class: "json" }, JSON.stringify(obj, null, 2));
  return h("dl", { class: "fields" }, Object.entries(obj).map(([k, v]) => [
    h("dt", {}, label(k)),
    h("dd", {}, v !== null && typeof v === "object" && !Array.isArray(v) ? fields(v, workflowId)
      : Array.isArray(v) && v.some((x) => x && typeof x === "object") ? h("ol", { class: "sublist" }, v.map((x) => h("li", {}, fields(x, workflowId))))
        : cell(v) === "" ? h("span", { class: "muted" }, "—") : cell(v)),
  ]));
}

/** The answer of a completed run (a run detail from the API). */
export function resultsView(run, { title = "Results", controls = [] } = {}) {
  const out = run.output;
  const links = run.output_links || {};
  const exports = ["csv", "json", "ndjson"].filter((f) => links[f]).map((f) =>
    h("a", { class: "button secondary", href: links[f], download: "" }, `Export all (${f.toUpperCase()})`));
  if (!out || !Array.isArray(out.items)) {
    return h("section", { class: "results", "aria-label": title },
      h("div", { class: "row" }, controls, exports),
      out && typeof out === "object" && !Array.isArray(out) ? h("div", { class: "row" }, relatedLinks(out, run.workflow_id)) : null,
      out === null || out === undefined ? h("p", { class: "muted" }, "This run gave no answer.") : fields(out, run.workflow_id),
      h("details", {}, h("summary", {}, "Raw JSON"), h("pre", { class: "json" }, JSON.stringify(out, null, 2))));
  }
  if (!out.items.length && !(run.items && run.items.count)) {
    return h("section", { class: "results", "aria-label": title }, h("div", { class: "row" }, controls), h("p", {}, "No rows: nothing matched."));
  }
  return listing(run, out, title, controls, exports);
}

function listing(run, out, title, controls, exports) {
  const count = run.items ? run.items.count : out.items.length;
  const cache = new Map(); // offset → item
  out.items.forEach((it, i) => cache.set(i, it));
  const extra = Object.entries(out).filter(([k, v]) => k !== "items" && v !== null && v !== undefined);
  let columns = (run.output_info && run.output_info.columns) || [];
  if (!columns.length) for (const it of out.items.slice(0, 200)) for (const k of Object.keys(it || {})) if (!columns.includes(k)) columns.push(k);
  // Columns empty in every loaded row start hidden; the chooser brings them back.
  const hidden = new Set(columns.filter((c) => out.items.length && out.items.every((it) => it == null || it[c] === null || it[c] === undefined)));
  // A stored listing is filtered and sorted by the server; an answer whose rows all came
  // with the run (a workflow's own list) is filtered and sorted here.
  const stored = !!run.items;
  let view = null; // indexes into `all` after filter and sort, for an answer held here
  const all = stored ? null : out.items;
  let sortCol = null, asc = true, filterText = "";
  let query = ""; // the server view's query ("": the listing as stored)
  let shown = count; // rows in the server's view; null while the server works on it
  let generation = 0; // pages asked for an older view are dropped

  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const table = h("table", { class: "grid", "aria-label": title, "aria-rowcount": String(count + 1) });
  const thead = h("thead");
  const tbody = h("tbody");
  table.append(thead, tbody);
  const scroller = h("div", { class: "grid-scroll", tabindex: "0", role: "region", "aria-label": `${title}: rows` }, table);
  const detail = h("aside", { class: "row-detail", "aria-label": "Row details", hidden: true });
  const failed = h("div");

  const visibleColumns = () => columns.filter((c) => !hidden.has(c));
  const rowCount = () => (view ? view.length : shown ?? 0);
  const itemAt = (i) => (view ? all[view[i]] : cache.get(i));

  const headers = () => {
    put(thead, h("tr", {}, h("th", { scope: "col", class: "num" }, h("span", { class: "sr-only" }, "Row")),
      visibleColumns().map((c) => h("th", { scope: "col", "data-col": c, "aria-sort": sortCol === c ? (asc ? "ascending" : "descending") : null },
        h("button", { type: "button", title: `Sort by ${label(c)}`,
          onclick: () => {
            asc = sortCol === c ? !asc : true; sortCol = c; refilter();
            // The header was drawn again: keep the focus where the person is.
            const again = [...thead.querySelectorAll("th")].find((th) => th.dataset.col === c);
            if (again) again.querySelector("button").focus();
          } }, label(c), sortCol === c ? (asc ? " ▲" : " ▼") : "")))));
  };

  const openDetail = (i) => {
    const it = itemAt(i);
    if (!it) return;
    detail.hidden = false;
    put(detail, h("div", { class: "row" }, h("h3", {}, `Row ${i + 1}`),
      h("button", { type: "button", class: "secondary small", onclick: () => closeDetail(i) }, "Close")),
      h("div", { class: "row" }, relatedLinks(it, run.workflow_id)), fields(it, run.workflow_id));
    detail.querySelector("h3").setAttribute("tabindex", "-1");
    detail.querySelector("h3").focus();
  };

  const closeDetail = (i) => {
    detail.hidden = true;
    const back = [...tbody.querySelectorAll("button")].find((b) => b.getAttribute("aria-label") === `Details of row ${i + 1}`);
    (back || scroller).focus();
  };
  detail.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      const n = Number((detail.querySelector("h3").textContent.match(/\d+/) || [1])[0]);
      closeDetail(n - 1);
    }
  });

  // Column widths are measured once from the first rows drawn, then kept: rows drawn later
  // while scrolling do not make the columns jump.
  let frozen = false;
  const freeze = () => {
    if (frozen || !table.isConnected || !tbody.querySelector("tr:not(.spacer):not(.loading)")) return;
    const widths = [...thead.querySelectorAll("th")].map((th) => th.getBoundingClientRect().width);
    if (!widths.some((w) => w > 0)) return;
    // The row numbers grow as people scroll: room for the last one.
    widths[0] = Math.max(widths[0], String(count).length * 10 + 28);
    const cols = h("colgroup", {}, widths.map(() => h("col")));
    [...cols.children].forEach((col, i) => { col.style.width = `${Math.ceil(widths[i])}px`; });
    table.prepend(cols);
    table.style.tableLayout = "fixed";
    table.style.width = `${Math.ceil(widths.reduce((a, b) => a + b, 0))}px`;
    frozen = true;
  };
  const unfreeze = () => {
    const cols = table.querySelector("colgroup");
    if (cols) cols.remove();
    table.style.tableLayout = "";
    table.style.width = "";
    frozen = false;
  };

  let pending = new Set();
  const fetchRange = async (from) => {
    const offset = Math.floor(from / PAGE) * PAGE;
    const asked = generation;
    if (pending.has(`${asked}:${offset}`)) return;
    pending.add(`${asked}:${offset}`);
    try {
      const page = await api("GET", `/api/v1/runs/${encodeURIComponent(run.id)}/items?offset=${offset}&limit=${PAGE}${query}`);
      if (asked !== generation) return;
      page.items.forEach((it, i) => cache.set(offset + i, it));
      shown = page.matched ?? page.count;
      put(failed);
      draw();
    } catch (err) { if (asked === generation) put(failed, h("div", { class: "msg bad", role: "alert" }, `Could not load rows: ${err.message}`)); }
    finally { pending.delete(`${asked}:${offset}`); }
  };

  // Draw only the rows in view (plus a margin); spacer rows keep the scrollbar true.
  const draw = () => {
    const n = rowCount();
    const cols = visibleColumns();
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_PX) - 5);
    const last = Math.min(n, first + WINDOW_ROWS);
    const rows = [];
    const spacer = (px) => { const td = h("td", { colspan: String(cols.length + 1) }); td.style.height = `${px}px`; return h("tr", { class: "spacer", "aria-hidden": "true" }, td); };
    if (first > 0) rows.push(spacer(first * ROW_PX));
    let missing = null;
    for (let i = first; i < last; i++) {
      const it = itemAt(i);
      if (!it) { if (missing === null) missing = i; rows.push(h("tr", { class: "loading" }, h("td", { colspan: String(cols.length + 1) }, "Loading…"))); continue; }
      rows.push(h("tr", { "aria-rowindex": String(i + 2) },
        h("td", { class: "num" }, h("button", { type: "button", class: "link", "aria-label": `Details of row ${i + 1}`, onclick: () => openDetail(i) }, String(i + 1))),
        cols.map((c) => h("td", { title: tip(it[c]) || null, class: isId(c) ? "idcol" : null }, cell(it[c])))));
    }
    if (last < n) rows.push(spacer((n - last) * ROW_PX));
    // Drawing anew must not drop the focus: a row's button that had it gets it back (a
    // resize, such as closing the row details, draws the rows again).
    const focused = tbody.contains(document.activeElement) ? document.activeElement.getAttribute("aria-label") : null;
    put(tbody, ...rows);
    if (focused) {
      const again = [...tbody.querySelectorAll("button")].find((b) => b.getAttribute("aria-label") === focused);
      (again || scroller).focus({ preventScroll: true });
    }
    if (missing !== null && stored) fetchRange(missing);
    freeze();
    // The rows really in view (the drawn ones include a margin).
    // The rows wholly in view, measured on the page (below the sticky header), not
    // computed from a row height that zoom and fonts change.
    const box = scroller.getBoundingClientRect();
    const top = box.top + (thead.getBoundingClientRect().height || 0);
    const inView = [...tbody.querySelectorAll("tr[aria-rowindex]")].filter((tr) => {
      const r = tr.getBoundingClientRect();
      return r.top >= top - 1 && r.bottom <= box.top + scroller.clientHeight + 1;
    }).map((tr) => Number(tr.getAttribute("aria-rowindex")) - 1);
    const seenFrom = inView.length ? Math.min(...inView) : Math.min(n, Math.floor(scroller.scrollTop / ROW_PX) + 1);
    const seenTo = inView.length ? Math.max(...inView) : seenFrom;
    const onScreen = n > seenTo ? ` — rows ${seenFrom.toLocaleString()}–${seenTo.toLocaleString()} on screen` : "";
    status.textContent = shown === null && stored
      ? `${filterText ? "Filtering" : "Sorting"} ${count.toLocaleString()} rows…`
      : filterText
        ? `${n.toLocaleString()} of ${count.toLocaleString()} rows match “${filterText}”${onScreen}`
        : `${count.toLocaleString()} ${count === 1 ? "row" : "rows"}${onScreen}`;
  };
  let frame = 0;
  const redraw = () => { cancelAnimationFrame(frame); frame = requestAnimationFrame(draw); };
  scroller.addEventListener("scroll", redraw);
  // Drawn first before it is on the page: drawn again once it has a size (and when resized).
  new ResizeObserver(redraw).observe(scroller);

  // A stored listing: ask the server for the view (the filter looks in the columns shown).
  const reload = () => {
    const p = new URLSearchParams();
    if (filterText) { p.set("filter", filterText); p.set("columns", visibleColumns().join(",")); }
    if (sortCol) p.set("sort", `${asc ? "" : "-"}${sortCol}`);
    query = p.toString() ? `&${p}` : "";
    generation += 1;
    cache.clear();
    if (query) shown = null; else { shown = count; out.items.forEach((it, i) => cache.set(i, it)); }
    scroller.scrollTop = 0;
    headers(); draw();
    if (query) fetchRange(0);
  };

  const refilter = () => {
    if (stored) { reload(); return; }
    const f = filterText.toLowerCase();
    view = all.map((_, i) => i).filter((i) => !f || visibleColumns().some((c) => text(all[i][c]).toLowerCase().includes(f)));
    if (sortCol) view.sort((a, b) => text(all[a][sortCol]).localeCompare(text(all[b][sortCol]), undefined, { numeric: true }) * (asc ? 1 : -1));
    scroller.scrollTop = 0;
    headers(); draw();
  };

  let typing = 0;
  const filter = h("input", { type: "search", id: `filter-${run.id}`, placeholder: "Filter rows",
    oninput: (e) => {
      filterText = e.target.value.trim();
      // The server reads every row for a filter: wait until the person stops typing.
      clearTimeout(typing);
      typing = setTimeout(refilter, stored ? 300 : 0);
    } });
  const chooser = h("details", { class: "chooser" }, h("summary", {}, "Columns"),
    h("fieldset", {}, h("legend", { class: "sr-only" }, "Columns shown"), columns.map((c) => h("label", { class: "check" },
      h("input", { type: "checkbox", checked: !hidden.has(c), onchange: (e) => {
        if (e.target.checked) hidden.delete(c); else hidden.add(c);
        unfreeze();
        // The filter looks in the columns shown: a filtered view follows the choice.
        if (filterText) refilter(); else { headers(); draw(); }
      } }), label(c)))));

  headers(); draw();
  if (!stored) { view = all.map((_, i) => i); draw(); }

  const summary = extra.length ? h("p", { class: "muted" }, extra.map(([k, v], i) => [i ? " · " : "", `${label(k)}: ${typeof v === "number" ? v.toLocaleString() : text(v)}`])) : null;
  return h("section", { class: "results", "aria-label": title },
    h("div", { class: "row toolbar" }, controls, h("label", { class: "sr-only", for: filter.id }, "Filter rows"), filter, chooser, exports),
    summary, status, failed, h("div", { class: "grid-wrap" }, scroller, detail));
}
