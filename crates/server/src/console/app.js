// lumosflow console: a small single-page app over the JSON API, in plain ES modules (no
// build step, no CDN, embedded in the binary). This file is the router and the header; each
// view lives in its own file.
import { h, api, show, errorMessage, session, can, currentRoute, nav, put } from "./lib.js";
import { signIn } from "./view-signin.js";
import { workflows } from "./view-workflows.js";
import { runView } from "./view-run.js";
import { runs, runDetail } from "./view-runs.js";
import { approvals, refreshInboxCount } from "./view-approvals.js";
import { connections } from "./view-connections.js";
import { yamlView } from "./view-yaml.js";
import { people, sessions, triggers, keys } from "./view-admin.js";
import { audit } from "./view-audit.js";

// The menu: each entry, the role it needs, and the views it stands for (to mark where you are).
const MENU = [
  ["#/workflows", "Workflows", "viewer", ["workflows", "run", "yaml", "new", ""]],
  ["#/runs", "Runs", "viewer", ["runs"]],
  ["#/approvals", "Approvals", "viewer", ["approvals"]],
  ["#/connections", "Connections", "admin", ["connections"]],
  ["#/people", "People", "admin", ["people"]],
  ["#/keys", "API keys", "admin", ["keys"]],
  ["#/sessions", "Sessions", "admin", ["sessions"]],
  ["#/triggers", "Triggers", "admin", ["triggers"]],
  ["#/audit", "Audit", "audit", ["audit"]],
];

function header(view) {
  const menu = document.getElementById("menu");
  const who = document.getElementById("who");
  const signedIn = !!session.me;
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("account").hidden = !signedIn;
  if (!signedIn) { put(menu, ); who.textContent = ""; return; }
  put(menu, ...MENU.filter(([, , role]) => can(role)).map(([href, text, , views]) => h("li", {},
    h("a", { href, "aria-current": views.includes(view) ? "page" : null }, text,
      text === "Approvals" ? h("span", { id: "inbox-count", class: "count", hidden: true }) : null))));
  const me = session.me;
  const role = me.audit && me.role !== "admin" ? `${me.role}, auditor` : me.role;
  who.textContent = me.email && me.email !== me.name ? `${me.name} · ${me.email} (${role})` : `${me.name} (${role})`;
  refreshInboxCount();
}

let shownHash = null;
async function route() {
  // A view with unsaved work may keep us (the YAML editor asks first).
  if (session.dirty && shownHash !== null && location.hash !== shownHash && session.dirty()
    && !confirm("Leave without saving? Your changes to the YAML will be lost.")) {
    history.replaceState(null, "", shownHash);
    return;
  }
  session.dirty = null;
  shownHash = location.hash;
  nav.seq += 1;
  if (!session.me) {
    try { session.me = await api("GET", "/console/me"); } catch { header(""); return signIn(() => { if (!location.hash || location.hash === "#/") location.hash = "#/workflows"; else route(); }); }
  }
  const { view, arg } = currentRoute();
  header(view);
  try {
    if (!session.installed) session.installed = new Set((await api("GET", "/api/v1/workflows")).map((w) => w.id));
    if (view === "run" && arg) await runView(arg);
    else if (view === "runs" && arg) await runDetail(arg);
    else if (view === "runs") await runs();
    else if (view === "approvals") await approvals();
    else if (view === "connections" && can("admin")) await connections();
    else if (view === "people" && can("admin")) await people();
    else if (view === "sessions" && can("admin")) await sessions();
    else if (view === "keys" && can("admin")) await keys();
    else if (view === "triggers" && can("admin")) await triggers();
    else if (view === "audit" && can("audit")) await audit();
    else if (view === "audit") show("Auditors only", h("h1", {}, "Auditors only"), errorMessage(new Error("The audit trail is for admins and people an admin made auditors.")), h("p", {}, h("a", { href: "#/workflows" }, "Back to workflows")));
    else if (["connections", "people", "sessions", "triggers", "keys"].includes(view)) show("Admins only", h("h1", {}, "Admins only"), errorMessage(new Error(`This page is for admins; you are ${session.me.role}.`)), h("p", {}, h("a", { href: "#/workflows" }, "Back to workflows")));
    else if (view === "yaml" && arg) await yamlView(arg);
    else if (view === "new" && can("builder")) await yamlView(null);
    else if (view === "new") show("Builders only", h("h1", {}, "Builders only"), errorMessage(new Error(`Creating workflows needs the builder role; you are ${session.me.role}.`)), h("p", {}, h("a", { href: "#/workflows" }, "Back to workflows")));
    else await workflows();
  } catch (err) {
    // A 401 has already sent us back to sign-in (see lumosflow:signed-out); a view left
    // for another page stops without drawing.
    if (err.status === 401 || err.stale) return;
    show("Problem", h("h1", {}, "Something went wrong"), errorMessage(err), h("p", {}, h("a", { href: "#/workflows" }, "Back to workflows")));
  }
}

document.getElementById("logout").addEventListener("click", async () => {
  try { await api("POST", "/console/logout"); } catch { /* signed out here either way */ }
  session.me = null; session.installed = null; session.dirty = null;
  history.replaceState(null, "", "#/");
  shownHash = location.hash;
  header("");
  signIn(() => { location.hash = "#/workflows"; });
});
window.addEventListener("beforeunload", (e) => { if (session.dirty && session.dirty()) e.preventDefault(); });
window.addEventListener("hashchange", route);
window.addEventListener("lumosflow:signed-out", () => {
  session.installed = null; session.dirty = null;
  header("");
  signIn(route, "Your session has ended: sign in again to go on.");
});
route();
