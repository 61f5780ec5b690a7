// Connections to Lumos (admins): connect with a token (verified now, stored encrypted, never
// shown again), re-check, remove, and a confirmation before one replaces another.
import { h, api, show, message, when, busy, listTable, field, put } from "./lib.js";

export async function connections(notice) {
  const out = h("div", { "aria-live": "polite" }, notice || null);
  const list = await api("GET", "/api/v1/connections");
  const names = new Set(list.map((c) => c.name));

  const recheck = (c) => h("button", { type: "button", class: "secondary small", "aria-label": `Re-check ${c.name}`, onclick: (e) => busy(e.currentTarget, async () => {
    try { await api("POST", `/api/v1/connections/${encodeURIComponent(c.name)}/check`); await connections(message("ok", `'${c.name}': Lumos answered, the token works.`)); }
    catch (err) { await connections(message("bad", `'${c.name}': ${err.message}`)); }
  }, "Checking…") }, "Re-check");
  const remove = (c) => h("button", { type: "button", class: "secondary danger small", "aria-label": `Remove ${c.name}`, onclick: (e) => busy(e.currentTarget, async () => {
    if (!confirm(`Remove the connection '${c.name}'? Workflows that use it stop working until it is connected again.`)) return;
    try { await api("DELETE", `/api/v1/connections/${encodeURIComponent(c.name)}`); await connections(message("ok", `Removed '${c.name}'.`)); }
    catch (err) { put(out, message("bad", err.message)); }
  }) }, "Remove");
  const lastCheck = (c) => {
    const ok = c.last_check_status === "ok";
    return h("span", {}, h("span", { class: ok ? "status-completed" : "status-failed" }, ok ? "ok" : c.last_check_status || "never checked"), " ", h("span", { class: "muted" }, when(c.last_check_at)));
  };
  // Who may run workflows on it: agents and up on 'default', builders and admins on others,
  // unless an admin chose (admins always may; viewers never run).
  const ROLES = ["agent", "builder", "admin"];
  const mayRun = (c) => {
    const chosen = c.allowed_roles ? c.allowed_roles.split(",").map((r) => r.trim()).filter(Boolean) : null;
    const now = [...new Set([...(chosen || (c.name === "default" ? ROLES : ["builder", "admin"])), "admin"])];
    const box = h("details", { class: "roles" }, h("summary", { "aria-label": `Who may run on ${c.name}: ${now.join(", ")}. Change` }, now.join(", ")));
    const form = h("form", { class: "stack" }, h("fieldset", { class: "choices" }, h("legend", {}, `Roles that may run on '${c.name}'`),
      ROLES.map((r) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "role", value: r, checked: now.includes(r) || null, disabled: r === "admin" || null }), r))),
    h("div", { class: "row" }, h("button", { type: "submit", class: "small" }, "Save"),
      h("button", { type: "button", class: "secondary small", onclick: (e) => busy(e.currentTarget, async () => {
        try { await api("PUT", `/api/v1/connections/${encodeURIComponent(c.name)}/roles`, { roles: null }); await connections(message("ok", `'${c.name}': back to the default roles.`)); }
        catch (err) { put(out, message("bad", err.message)); }
      }) }, "Default")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const roles = [...form.querySelectorAll("input[name=role]:checked")].map((i) => i.value);
      busy(form.querySelector("button[type=submit]"), async () => {
        try { await api("PUT", `/api/v1/connections/${encodeURIComponent(c.name)}/roles`, { roles }); await connections(message("ok", `'${c.name}': ${roles.join(", ")} may run on it.`)); }
        catch (err) { put(out, message("bad", err.message)); }
      });
    });
    box.append(form);
    return box;
  };
  const table = listTable("Connections", ["Name", "Lumos API URL", "Token", "Lumos user", "May run", "Last check", ""],
    list.map((c) => [h("b", {}, c.name), c.base_url, h("span", { class: "mono" }, c.token_hint), c.lumos_user_email || "", mayRun(c), lastCheck(c),
      h("span", { class: "row tight" }, recheck(c), remove(c))]),
    "No connection yet: connect Lumos below. Runs use the connection named 'default' unless told otherwise.");

  const name = h("input", { type: "text", id: "c-name", required: true, autocomplete: "off", value: list.length ? "" : "default", pattern: "[A-Za-z0-9_.\\-]+" });
  const base = h("input", { type: "url", id: "c-base", value: "https://api.lumos.com", required: true });
  const token = h("input", { type: "password", id: "c-token", autocomplete: "off", required: true, placeholder: "lsk_…" });
  const submit = h("button", { type: "submit" }, "Connect");
  const form = h("form", { class: "stack", "aria-label": "Connect Lumos", onsubmit: (e) => {
    e.preventDefault();
    busy(submit, async () => {
      if (names.has(name.value) && !confirm(`Replace the connection '${name.value}'? Every run that uses it will use the new token.`)) return;
      put(out, h("p", { role: "status" }, "Verifying with Lumos…"));
      try {
        const c = await api("POST", "/api/v1/connections", { name: name.value, base_url: base.value, token: token.value });
        token.value = "";
        await connections(message("ok", `Connected to Lumos as ${c.lumos_user_email || c.lumos_user_id} — connection '${c.name}' (${c.token_hint})`));
      } catch (err) { token.value = ""; put(out, message("bad", err.message)); }
    }, "Verifying…");
  } },
  field("c-name", "Name", name, list.length ? "A new name adds a connection; an existing one replaces it (you will be asked)." : "Runs use 'default' unless told otherwise."),
  field("c-base", "Lumos API URL", base),
  field("c-token", "API token", token, "Verified now, stored encrypted, never shown again."),
  h("div", {}, submit));
  show("Connections", h("h1", {}, "Connections"), out, table, h("h2", {}, "Connect Lumos"), form);
}
