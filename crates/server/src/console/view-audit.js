// The audit trail for admins: whether its hash chain is whole (checked now), then who did
// what, for whom, when, newest first, with a filter by action.
import { h, api, show, message, when, listTable, put } from "./lib.js";

/** What an event's details say, short: the fields people look for first. */
function summary(d) {
  if (!d || typeof d !== "object") return "";
  const parts = [];
  for (const k of ["run_id", "step", "method", "path", "status", "origin", "requested_for", "comment", "role", "hosts"]) {
    if (d[k] !== undefined && d[k] !== null && d[k] !== "") parts.push(`${k}: ${Array.isArray(d[k]) ? d[k].join(", ") : d[k]}`);
  }
  return parts.join(" · ");
}

export async function audit() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const action = params.get("action") || "";
  const [check, events] = await Promise.all([
    api("GET", "/api/v1/audit/verify"),
    api("GET", `/api/v1/audit?limit=200${action ? `&action=${encodeURIComponent(action)}` : ""}`),
  ]);
  const head = check.head;
  const state = check.broken
    ? message("bad", `The audit trail is broken at event ${check.broken.seq}: ${check.broken.why}`)
    : message("ok", `The audit trail is whole: ${check.checked} events checked (events ${head.checkpoint_seq + 1} to ${head.seq}). Head hash ${head.hash.slice(0, 16)}…, to compare with your SIEM's copy.`);
  const filter = h("input", { type: "search", id: "audit-action", value: action, placeholder: "e.g. lumos.call", "aria-label": "Only this action" });
  const form = h("form", { class: "row", onsubmit: (e) => {
    e.preventDefault();
    location.hash = filter.value.trim() ? `#/audit?action=${encodeURIComponent(filter.value.trim())}` : "#/audit";
  } }, h("label", { for: "audit-action" }, "Action"), filter, h("button", { type: "submit", class: "secondary" }, "Filter"));
  const out = h("div", { "aria-live": "polite" });
  show("Audit trail", h("h1", {}, "Audit trail"), state,
    h("p", { class: "muted" }, "Every change to Lumos, every decision, and every change to workflows, keys, people, secrets, connections and triggers, with who did it. Export it whole with ",
      h("code", {}, "lumosflow audit export --format csv"), "."),
    form, out,
    listTable("Audit events", ["#", "When", "Who", "Action", "Target", "Details"], events.map((e) => [
      String(e.seq ?? ""), when(e.at), e.actor, e.action, e.target || "", summary(e.details),
    ]), action ? `No ${action} event.` : "Nothing recorded yet."));
  put(out);
}
