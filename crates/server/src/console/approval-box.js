// What a held run waits for, as approvers and requesters see it: the reason, the policy's
// steps (which one it is at, who decides there), every decision so far, the exact changes
// of a run held before its first change, and (for those who may decide) Approve and Deny.
import { h, api, message, when, busy, put, session } from "./lib.js";
import { fields } from "./results.js";

function calls(changes, waiting) {
  const list = Array.isArray(changes.calls) ? changes.calls : changes.calls ? [changes.calls] : [];
  const words = Array.isArray(changes.summary) ? changes.summary : [];
  return h("div", { class: "changes" },
    h("p", {}, waiting ? `Once approved it sends ${list.length === 1 ? "this change" : `these ${list.length} changes`} to Lumos` : `The ${list.length === 1 ? "change" : "changes"} it was held for`,
      changes.reads_taken_at ? ` (from what it read ${when(changes.reads_taken_at)})` : "", ":"),
    words.length ? h("ul", { class: "in-words" }, words.map((w) => h("li", {}, h("b", {}, w)))) : null,
    // The exact calls, one click away; a long body scrolls (and takes the keyboard's focus).
    h("details", {}, h("summary", {}, `The exact ${list.length === 1 ? "call" : "calls"} (before step ${changes.before_step ?? "?"})`),
      h("ol", {}, list.map((c) => h("li", {}, h("code", {}, `${c.method || ""} ${c.path || ""}`),
        c.body !== undefined && c.body !== null ? h("pre", { class: "json", tabindex: "0", "aria-label": `Body of ${c.method || ""} ${c.path || ""}` }, JSON.stringify(c.body, null, 2)) : null)))));
}

/** Inputs that give an app or a person by id read by name, the id beside it, small. */
function named(list, names) {
  if (!names || !Object.keys(names).length) return list;
  for (const dd of list.querySelectorAll("dd")) {
    const text = dd.textContent.trim();
    if (names[text]) { put(dd, h("b", {}, names[text]), " ", h("span", { class: "muted mono small-id" }, text)); continue; }
    // Ids inside a longer value (a list of apps): each read by its name.
    if (dd.querySelector("dd")) continue;
    const ids = Object.keys(names).filter((id) => text.includes(id));
    if (ids.length) { dd.title = text; dd.textContent = ids.reduce((t, id) => t.split(id).join(names[id]), text); }
  }
  return list;
}

/** Why the signed-in person sees no Approve button, as precisely as the console knows. */
function whyNot(held) {
  const me = session.me || {};
  const mine = (x) => !!x && [me.email, me.name, `key:${me.name}`].filter(Boolean).some((m) => m.toLowerCase() === x.toLowerCase());
  if (mine(held.requested_by)) return "You asked for this run: someone else decides.";
  if (mine(held.requested_for)) return "This run is for you: someone else decides.";
  return "The step it waits at names other approvers (or you decided there already).";
}

/** `held`: a run (or an entry of GET /approvals) with `approval`; `mayDecide`: whether the
 *  signed-in person may decide now (null: ask the server). */
export async function approvalBox(held, { onDecided, mayDecide = null } = {}) {
  const a = held.approval;
  if (!a) return h("div");
  if (mayDecide === null && held.status === "pending_approval") {
    try { mayDecide = (await api("GET", "/api/v1/approvals?mine=true")).some((r) => r.id === held.id); } catch { mayDecide = false; }
  }
  const waiting = held.status === undefined || held.status === "pending_approval";
  const steps = h("ol", { class: "policy-steps", "aria-label": "Approval steps" }, a.steps.map((s, i) => {
    const approvals = a.decisions.filter((d) => d.step === i && d.approved).length;
    const state = a.step === null || a.step === undefined ? "" : i < a.step ? "done" : i === a.step ? "current" : "later";
    return h("li", { class: state, "aria-current": state === "current" ? "step" : null },
      h("b", {}, s.name), ` — ${s.who}`, h("span", { class: "muted" }, ` · ${approvals} of ${s.min} ${s.min === 1 ? "approval" : "approvals"}${state === "current" ? " · waiting here" : ""}`));
  }));
  const decisions = a.decisions.length
    ? h("ul", { class: "decisions", "aria-label": "Decisions" }, a.decisions.map((d) => h("li", {},
      h("span", { class: d.approved ? "status-completed" : "status-failed" }, d.approved ? "Approved" : "Denied"),
      ` by ${d.decided_by} at step “${(a.steps[d.step] || {}).name || d.step + 1}” · ${when(d.at)}`, d.comment ? h("q", {}, d.comment) : null)))
    : h("p", { class: "muted" }, "No decision yet.");
  const out = h("div", { "aria-live": "polite" });
  let form = null;
  if (waiting && mayDecide) {
    const comment = h("textarea", { id: `comment-${held.id}`, rows: "2", "aria-describedby": `comment-${held.id}-help` });
    const decide = (verb) => (e) => busy(e.currentTarget, async () => {
      if (verb === "deny" && !comment.value.trim()) { put(out, message("bad", "Say why you deny it: the requester sees your comment.")); comment.focus(); return; }
      try {
        const run = await api("POST", `/api/v1/runs/${encodeURIComponent(held.id)}/${verb}`, { comment: comment.value.trim() || null });
        put(out, message("ok", verb === "deny" ? "Denied." : run.status === "pending_approval" ? "Approved: it waits for more approvals." : "Approved: the run goes on."));
        if (onDecided) await onDecided(run);
      } catch (err) { put(out, message("bad", err.message)); }
    });
    form = h("div", { class: "decide" },
      h("label", { for: comment.id }, "Comment"), comment,
      h("span", { class: "help", id: `comment-${held.id}-help` }, "Optional to approve, needed to deny."),
      h("div", { class: "row" },
        h("button", { type: "button", onclick: decide("approve") }, "Approve"),
        h("button", { type: "button", class: "secondary danger", onclick: decide("deny") }, "Deny")));
  }
  return h("section", { class: "approval card", "aria-label": "Approval" },
    h("h3", {}, waiting ? "Waiting for approval" : "Approval", held.dry_run ? h("span", { class: "badge" }, " dry run") : null),
    held.dry_run ? h("p", { class: "msg warn" }, "A dry run: approved, it makes its reads and only describes its changes; nothing is sent to Lumos.") : null,
    held.requested_by ? h("p", { class: "asked" }, "Asked by ", h("b", {}, a.requested_by_name || held.requested_by),
      a.requested_by_name ? ` (${held.requested_by})` : "", held.requested_for ? [" for ", h("b", {}, held.requested_for)] : "",
      a.requester_reason ? [": ", h("q", {}, a.requester_reason)] : "") : null,
    a.changes ? calls(a.changes, waiting) : null,
    a.reason ? h("p", {}, h("b", {}, "Policy: "), a.reason) : null,
    a.expires_at && waiting ? h("p", { class: "muted" }, `Expires ${when(a.expires_at)} if not decided.`) : null,
    a.self_approval ? h("p", { class: "muted" }, "The requester may approve it too.") : null,
    steps,
    h("h4", {}, "Decisions"), decisions,
    held.inputs && held.status === undefined ? [h("h4", {}, "Inputs"), Object.keys(held.inputs).length ? named(fields(held.inputs), a.input_names) : h("p", {}, "none")] : null,
    waiting && !mayDecide ? h("p", { class: "muted" }, whyNot(held)) : null,
    form, out);
}


