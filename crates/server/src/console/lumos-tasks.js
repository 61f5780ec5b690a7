// Lumos's own approval tasks waiting for the signed-in person, beside lumosflow's held runs:
// read with the Lumos Approvals bundle's list-my-lumos-approval-tasks, decided with
// decide-lumos-access-request (which checks in Lumos, right before, that they are an
// assignee), with the same approve / deny-with-comment controls.
import { h, api, message, put, busy, session, can } from "./lib.js";

const LIST = "list-my-lumos-approval-tasks";
const DECIDE = "decide-lumos-access-request";

async function run(workflow, inputs) {
  const r = await api("POST", `/api/v1/workflows/${workflow}/runs?wait=true`, { inputs });
  if (r.status !== "completed") throw new Error(r.error || `the run ${r.status === "pending_approval" ? "waits for approval" : "did not complete"}`);
  return r.output;
}

function task(t, onDecided) {
  const out = h("div", { "aria-live": "polite" });
  const comment = h("textarea", { id: `lumos-comment-${t.task_id}`, rows: "2", "aria-describedby": `lumos-comment-${t.task_id}-help` });
  const decide = (verb) => (e) => busy(e.currentTarget, async () => {
    if (verb === "deny" && !comment.value.trim()) { put(out, message("bad", "Say why you deny it: Lumos keeps your comment on the request.")); comment.focus(); return; }
    try {
      const done = await run(DECIDE, { task_id: t.task_id, decision: verb, comment: comment.value.trim() || null });
      const said = `${verb === "approve" ? "Approved" : "Denied"} in Lumos: ${app} for ${t.for || "?"}; the request is now ${done.status || "updated"}.`;
      put(out, message("ok", said));
      if (onDecided) await onDecided(said);
    } catch (err) { put(out, message("bad", err.message)); }
  });
  const app = t.app || "an app";
  return h("article", { class: "held", "aria-label": `Lumos request for ${app} by ${t.for || t.requester || "someone"}` },
    h("h2", {}, `${app} for ${t.for || "?"}`, h("span", { class: "badge" }, " in Lumos")),
    h("p", {}, `Asked by ${t.requester || "?"}`, ` · ${t.stage}`, t.waiting_days !== null && t.waiting_days !== undefined ? ` · waiting ${t.waiting_days} day${t.waiting_days === 1 ? "" : "s"}` : ""),
    t.permissions && t.permissions.length ? h("p", {}, h("b", {}, "Permissions: "), t.permissions.join(", ")) : null,
    h("p", {}, h("b", {}, "Why: "), t.reason || "—"),
    h("div", { class: "decide" },
      h("label", { for: comment.id }, "Comment"), comment,
      h("span", { class: "help", id: `lumos-comment-${t.task_id}-help` }, "Optional to approve, needed to deny; kept on the request in Lumos."),
      h("div", { class: "row" },
        h("button", { type: "button", onclick: decide("approve") }, "Approve"),
        h("button", { type: "button", class: "secondary danger", onclick: decide("deny") }, "Deny"))),
    out);
}

/** The section, or nothing when the bundle is not installed or the person cannot run it. */
export async function lumosTasks(onDecided) {
  if (!session.installed || !session.installed.has(LIST) || !session.installed.has(DECIDE) || !can("agent")) return null;
  const section = h("section", { "aria-label": "Waiting for you in Lumos" }, h("h2", {}, "Waiting for you in Lumos"));
  // Lumos assigns tasks to people: a service key acts for nobody, so there is nothing to
  // match (not an error).
  if (!session.me.email) {
    section.append(h("p", { class: "muted" }, `Lumos assigns approval tasks to people, and ${session.me.name} is a service key that acts for nobody. Sign in as yourself (single sign-on), or with a key made for you (lumosflow keys create --owner you@example.com), to see yours.`));
    return section;
  }
  try {
    const mine = await run(LIST, {});
    section.append(...(mine.items.length ? mine.items.map((t) => task(t, onDecided)) : [h("p", { class: "muted" }, "No Lumos approval task waits for you.")]));
  } catch (err) {
    section.append(message("bad", `Lumos approval tasks could not be read: ${err.message}`));
  }
  return section;
}

