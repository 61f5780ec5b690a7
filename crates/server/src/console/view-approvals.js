// The approvals inbox: what waits for me (or, for admins, every held run), each with who
// asked, for whom, why, the inputs, the exact changes, the policy and the decisions so far.
import { h, api, show, when, runLink, currentRoute, can, session, put, message } from "./lib.js";
import { approvalBox } from "./approval-box.js";
import { lumosTasks } from "./lumos-tasks.js";

/** How many runs wait for the signed-in person: the count in the menu. */
export async function refreshInboxCount() {
  const badge = document.getElementById("inbox-count");
  if (!badge || !session.me) return;
  try {
    const mine = await api("GET", "/api/v1/approvals?mine=true");
    // The number shows; " waiting for you" is read by screen readers after it.
    put(badge, mine.length ? [String(mine.length), h("span", { class: "sr-only" }, " waiting for you")] : null);
    badge.hidden = !mine.length;
  } catch { badge.hidden = true; }
}

export async function approvals(notice) {
  const { params } = currentRoute();
  const everyone = params.get("all") === "1" && can("admin");
  const held = await api("GET", `/api/v1/approvals${everyone ? "" : "?mine=true"}`);
  const mine = everyone ? new Set((await api("GET", "/api/v1/approvals?mine=true")).map((r) => r.id)) : null;
  const names = Object.fromEntries((await api("GET", "/api/v1/workflows")).map((w) => [w.id, w.name]));
  const items = await Promise.all(held.map(async (r) => h("article", { class: "held", "aria-label": `${names[r.workflow_id] || r.workflow_id}, run ${r.id.slice(-8)}` },
    h("h2", {}, names[r.workflow_id] || r.workflow_id, " ", runLink(r.id)),
    h("p", { class: "muted" }, `Asked ${when(r.created_at)}`),
    await approvalBox(r, { mayDecide: mine ? mine.has(r.id) : true, onDecided: async (run) => {
      await refreshInboxCount();
      const what = run.status === "denied" ? "denied" : run.status === "pending_approval" ? "approved; it waits for more approvals" : "approved; the run goes on";
      await approvals(h("div", { class: "msg ok", role: "status" }, `${names[r.workflow_id] || r.workflow_id} (run `, runLink(r.id), `) ${what}.`));
    } }))));
  const inLumos = everyone ? null : await lumosTasks((said) => approvals(message("ok", said)));
  show("Approvals",
    h("div", { class: "row spread" }, h("h1", {}, everyone ? "Every held run" : "Waiting for you"),
      can("admin") ? h("a", { href: everyone ? "#/approvals" : "#/approvals?all=1" }, everyone ? "Only what waits for me" : "Every held run") : null),
    notice || null,
    items.length ? items : h("p", { class: "muted" }, everyone ? "No run is waiting for approval." : "Nothing waits for your decision."),
    inLumos);
  refreshInboxCount();
}
