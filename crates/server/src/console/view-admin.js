// Admin pages: people (role, auditor grant, deactivate), sign-in sessions (revoke) and triggers (add, with
// the secret shown once; enable, disable, rotate, remove).
import { h, api, show, message, when, busy, listTable, field, put, session, copyButton } from "./lib.js";

const ROLES = ["viewer", "agent", "builder", "admin"];

export async function people(notice) {
  const out = h("div", { "aria-live": "polite" }, notice || null);
  const list = await api("GET", "/api/v1/people");
  const roleSelect = (p) => {
    const sel = h("select", { "aria-label": `Role of ${p.email}`, disabled: p.status !== "active" || null },
      ROLES.map((r) => h("option", { value: r, selected: r === p.role || null }, r)));
    sel.addEventListener("change", async () => {
      const me = session.me && session.me.email && session.me.email.toLowerCase() === p.email.toLowerCase();
      if (me && sel.value !== "admin" && !confirm(`Make yourself ${sel.value}? You lose the admin pages at once, and only another admin can give them back.`)) { sel.value = p.role; return; }
      try { await api("PUT", `/api/v1/people/${encodeURIComponent(p.email)}/role`, { role: sel.value }); put(out, message("ok", `${p.email} is now ${sel.value}; their keys never exceed it.`)); }
      catch (err) { sel.value = p.role; put(out, message("bad", err.message)); }
    });
    return sel;
  };
  const auditor = (p) => {
    const box = h("input", { type: "checkbox", checked: p.auditor || null, disabled: p.status !== "active" || null, "aria-label": `${p.email} reads the audit trail` });
    box.addEventListener("change", async () => {
      try {
        await api("PUT", `/api/v1/people/${encodeURIComponent(p.email)}/auditor`, { auditor: box.checked });
        put(out, message("ok", box.checked ? `${p.email} may now read, check and export the audit trail.` : `${p.email} no longer reads the audit trail.`));
      } catch (err) { box.checked = !box.checked; put(out, message("bad", err.message)); }
    });
    return h("label", { class: "check" }, box, h("span", { "aria-hidden": "true" }, "Auditor"));
  };
  // People who work through keys never sign in: their last key use says they are active.
  const lastSeen = (p) => {
    const signIn = p.last_sign_in_at ? new Date(p.last_sign_in_at) : null;
    const key = p.last_key_used_at ? new Date(p.last_key_used_at) : null;
    if (!signIn && !key) return "never";
    return key && (!signIn || key > signIn) ? `${when(p.last_key_used_at)} (with a key)` : when(p.last_sign_in_at);
  };
  const deactivate = (p) => p.status !== "active" ? h("span", { class: "muted" }, "deactivated") : h("button", { type: "button", class: "secondary danger small", "aria-label": `Deactivate ${p.email}`,
    onclick: (e) => busy(e.currentTarget, async () => {
      if (!confirm(`Deactivate ${p.email}? Their sessions end and their API keys are revoked at once.`)) return;
      try { await api("POST", `/api/v1/people/${encodeURIComponent(p.email)}/deactivate`); await people(message("ok", `${p.email} is deactivated.`)); }
      catch (err) { put(out, message("bad", err.message)); }
    }) }, "Deactivate");
  show("People", h("h1", {}, "People"),
    h("p", { class: "muted" }, "People appear when they first sign in with single sign-on or get an API key of their own."),
    h("p", { class: "muted" }, "An auditor reads, checks and exports the audit trail without being an admin; any role can be an auditor."),
    out, listTable("People", ["Email", "Name", "Role", "Audit trail", "Last active", ""],
      list.map((p) => [p.email, p.name || "", roleSelect(p), auditor(p), lastSeen(p), deactivate(p)]), "Nobody yet."));
}

export async function sessions(notice) {
  const out = h("div", { "aria-live": "polite" }, notice || null);
  const list = await api("GET", "/api/v1/sessions");
  show("Sessions", h("h1", {}, "Sign-in sessions"), out,
    listTable("Sessions", ["Who", "Started", "Last seen", "Ends", ""], list.map((s) => [
      s.email || (s.key_name ? `key ${s.key_name}` : "?"), when(s.created_at), when(s.last_seen_at), when(s.expires_at),
      h("button", { type: "button", class: "secondary danger small", "aria-label": `End the session of ${s.email || s.key_name}`, onclick: (e) => busy(e.currentTarget, async () => {
        try { await api("POST", `/api/v1/sessions/${encodeURIComponent(s.id)}/revoke`); await sessions(message("ok", "The session has ended.")); }
        catch (err) { put(out, message("bad", err.message)); }
      }) }, "End")]), "No live session."));
}

/** When a trigger last fired, and its last error: in red only when it is the newest thing
 *  that happened (an error followed by a success is history, said quietly). */
function lastFired(t) {
  if (!t.last_fired_at) return "never";
  if (!t.last_error) return when(t.last_fired_at);
  const current = t.last_error_at && new Date(t.last_error_at) >= new Date(t.last_fired_at);
  return [when(t.last_fired_at), current
    ? h("div", { class: "status-failed" }, t.last_error)
    : h("div", { class: "muted" }, `Earlier (${when(t.last_error_at)}): ${t.last_error}`)];
}

export async function triggers(notice) {
  const out = h("div", { "aria-live": "polite" }, notice || null);
  const [list, workflows] = await Promise.all([api("GET", "/api/v1/triggers"), api("GET", "/api/v1/workflows")]);
  const act = (t, verb, text) => h("button", { type: "button", class: `secondary small${verb === "remove" ? " danger" : ""}`, "aria-label": `${text} ${t.name}`,
    onclick: (e) => busy(e.currentTarget, async () => {
      if (verb === "remove" && !confirm(`Remove the trigger '${t.name}'? Requests to its URL will be refused.`)) return;
      if (verb === "rotate-secret" && !confirm(`Make a new secret for '${t.name}'? The old one stops working at once.`)) return;
      try {
        const r = verb === "remove" ? await api("DELETE", `/api/v1/triggers/${encodeURIComponent(t.name)}`) : await api("POST", `/api/v1/triggers/${encodeURIComponent(t.name)}/${verb}`);
        await triggers(verb === "rotate-secret" ? secretNotice(r) : message("ok", `'${t.name}': ${text.toLowerCase()}d.`));
      } catch (err) { put(out, message("bad", err.message)); }
    }) }, text);
  const names = Object.fromEntries(workflows.map((w) => [w.id, w.name]));
  const table = listTable("Triggers", ["Name", "Workflow", "URL", "Signed with", "State", "Last fired", ""], list.map((t) => [
    h("b", {}, t.name), names[t.workflow_id] || t.workflow_id, h("span", {}, h("span", { class: "mono" }, `${location.origin}/hooks/${t.id}`), " ", copyButton(`${location.origin}/hooks/${t.id}`, `the URL of ${t.name}`)), t.auth,
    t.enabled ? h("span", { class: "status-completed" }, "enabled") : h("span", { class: "status-canceled" }, "disabled"),
    lastFired(t),
    h("span", { class: "row tight" }, t.enabled ? act(t, "disable", "Disable") : act(t, "enable", "Enable"), act(t, "rotate-secret", "Rotate secret"), act(t, "remove", "Remove"))]),
  "No trigger yet: add one to start a workflow from a webhook or a Slack command.");

  const name = h("input", { type: "text", id: "t-name", required: true, autocomplete: "off" });
  const wf = h("select", { id: "t-workflow", required: true }, h("option", { value: "" }, "Choose…"), workflows.map((w) => h("option", { value: w.id }, w.name)));
  const auth = h("select", { id: "t-auth" }, [["hmac", "HMAC signature (lumosflow's)"], ["slack", "Slack request signing"], ["header", "Shared secret header"]].map(([v, t]) => h("option", { value: v }, t)));
  const secret = h("input", { type: "password", id: "t-secret", autocomplete: "off" });
  const map = h("textarea", { id: "t-map", rows: "4", class: "mono", spellcheck: "false" });
  const submit = h("button", { type: "submit" }, "Add trigger");
  const form = h("form", { class: "stack", "aria-label": "Add a trigger", onsubmit: (e) => {
    e.preventDefault();
    busy(submit, async () => {
      try {
        const r = await api("POST", "/api/v1/triggers", { name: name.value, workflow: wf.value, auth: auth.value, secret: secret.value || null, map: map.value.trim() || null });
        secret.value = "";
        await triggers(secretNotice(r));
      } catch (err) { secret.value = ""; put(out, message("bad", err.message)); }
    }, "Adding…");
  } },
  field("t-name", "Name", name), field("t-workflow", "Workflow it starts", wf), field("t-auth", "How callers prove themselves", auth),
  field("t-secret", "Secret", secret, "Slack: your Slack app's signing secret (required). Others: leave empty and lumosflow makes one."),
  field("t-map", "Payload mapping (YAML, optional)", map, "inputs, requested_for and dedupe_key as templates over payload and headers: see docs/operations.md."),
  h("div", {}, submit));
  show("Triggers", h("h1", {}, "Triggers"), out, table, h("h2", {}, "Add a trigger"), form);
}

function secretNotice(r) {
  return h("div", { class: "msg ok", role: "status" }, h("p", {}, `Trigger '${r.name}' is ready. Its URL and secret are shown this once:`),
    h("dl", { class: "fields" }, h("dt", {}, "URL"), h("dd", {}, h("span", { class: "mono" }, new URL(r.url, location.origin).href), " ", copyButton(new URL(r.url, location.origin).href, "the trigger's URL")),
      h("dt", {}, "Secret"), h("dd", {}, h("span", { class: "mono" }, r.secret), " ", copyButton(r.secret, "the trigger's secret"))));
}



export async function keys(notice) {
  const out = h("div", { "aria-live": "polite" }, notice || null);
  const list = await api("GET", "/api/v1/keys");
  const live = list.filter((k) => !k.revoked_at);
  const revoke = (k) => h("button", { type: "button", class: "secondary danger small", "aria-label": `Revoke ${k.name}`, onclick: (e) => busy(e.currentTarget, async () => {
    if (!confirm(`Revoke the key '${k.name}'? It stops working at once, and so do the console sessions signed in with it.`)) return;
    try { await api("POST", `/api/v1/keys/${encodeURIComponent(k.name)}/revoke`); await keys(message("ok", `'${k.name}' is revoked.`)); }
    catch (err) { put(out, message("bad", err.message)); }
  }) }, "Revoke");
  const name = h("input", { type: "text", id: "k-name", required: true, autocomplete: "off" });
  const role = h("select", { id: "k-role" }, ROLES.map((r) => h("option", { value: r, selected: r === "agent" || null }, r)));
  const owner = h("input", { type: "email", id: "k-owner", autocomplete: "off" });
  const submit = h("button", { type: "submit" }, "Create key");
  const form = h("form", { class: "stack", "aria-label": "Create an API key", onsubmit: (e) => {
    e.preventDefault();
    busy(submit, async () => {
      try {
        const r = await api("POST", "/api/v1/keys", { name: name.value, role: role.value, owner: owner.value.trim() || null });
        await keys(h("div", { class: "msg ok", role: "status" }, h("p", {}, `Key '${r.name}' created. Copy it now: it is shown this once.`), h("p", {}, h("span", { class: "mono secret" }, r.key), " ", copyButton(r.key, "the key"))));
      } catch (err) { put(out, message("bad", err.message)); }
    }, "Creating…");
  } },
  field("k-name", "Name", name), field("k-role", "Role", role),
  field("k-owner", "Acts as (email, optional)", owner, "A key with an owner acts as that person and never above their role; without one it is a service key."),
  h("div", {}, submit));
  show("API keys", h("h1", {}, "API keys"), out,
    listTable("API keys", ["Name", "Role", "Acts as", "May run", "Starts with", "Last used", ""], live.map((k) => [
      h("b", {}, k.name), k.role, k.owner || "service key",
      [k.workflows ? `only ${k.workflows.split(",").join(", ")}` : "any workflow", k.read_only ? ", reads only" : ""].join(""),
      h("span", { class: "mono" }, `${k.prefix}…`), when(k.last_used_at) || "never", revoke(k)]), "No live key."),
    h("h2", {}, "Create a key"), form);
}
