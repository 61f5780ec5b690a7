// Signing in: single sign-on when it is set up, and (unless turned off) an API key.
import { h, api, show, message, session, busy, put } from "./lib.js";

export async function signIn(onSignedIn, notice) {
  let options = { sso: null, key: true };
  try { options = await api("GET", "/console/sign-in"); } catch { /* the key form still works */ }
  const parts = [h("h1", {}, "Sign in"), notice ? message("ok", notice) : null];
  if (options.sso) {
    // Back to the page that was being opened once the identity provider has signed us in
    // (read when clicked: the address may have changed since this screen was drawn).
    const href = () => `/console/oidc/login?return_to=${encodeURIComponent("/" + (location.hash || ""))}`;
    parts.push(h("p", {}, h("a", { class: "button", id: "sso", href: href(), onclick: (e) => { e.currentTarget.href = href(); } }, `Sign in with ${options.sso}`)));
  }
  let input = null;
  if (options.key) {
    input = h("input", { type: "password", id: "key", name: "key", autocomplete: "off", required: true, placeholder: "lfk_…", "aria-describedby": "key-help" });
    const out = h("div");
    const submit = h("button", { type: "submit" }, "Sign in");
    const form = h("form", { class: "stack", onsubmit: (e) => {
      e.preventDefault();
      busy(submit, async () => {
        try { session.me = await api("POST", "/console/login", { key: input.value }); input.value = ""; onSignedIn(); }
        catch (err) { put(out, message("bad", err.message)); }
      }, "Signing in…");
    } }, h("label", { for: "key" }, "API key"), input,
    h("span", { class: "help", id: "key-help" }, "An API key an admin gave you (it starts with lfk_)."), h("div", {}, submit), out);
    if (options.sso) parts.push(h("h2", {}, "Or with an API key"));
    parts.push(form);
  }
  if (!options.sso && !options.key) parts.push(message("bad", "No way to sign in is turned on here: ask the person who runs lumosflow."));
  show("Sign in", parts);
  if (input && !options.sso) input.focus();
}
