// Workflows: what is installed (run it, read or edit its YAML), and the bundles to install.
import { h, api, show, message, can, busy, listTable, session, put } from "./lib.js";

export async function workflows(notice) {
  const [installed, installable] = await Promise.all([
    api("GET", "/api/v1/workflows"),
    can("builder") ? api("GET", "/api/v1/workflows?installable=true") : Promise.resolve([]),
  ]);
  session.installed = new Set(installed.map((w) => w.id));
  const out = h("div", { "aria-live": "polite" }, notice || null);
  const table = listTable("Installed workflows", ["Workflow", "Bundle", "Version", ""],
    installed.map((w) => [
      h("a", { href: `#/run/${encodeURIComponent(w.id)}` }, w.name),
      w.bundle ? w.bundle.name : "custom",
      w.version ? `v${w.version}${w.edited ? " (edited)" : ""}` : "",
      h("span", { class: "row tight" },
        h("a", { href: `#/runs?workflow=${encodeURIComponent(w.id)}`, "aria-label": `Runs of ${w.name}` }, "Runs"),
        h("a", { href: `#/yaml/${encodeURIComponent(w.id)}`, "aria-label": `YAML of ${w.name}` }, "YAML")),
    ]),
    can("builder") ? "Nothing installed yet: install a bundle below." : "Nothing installed yet: ask a builder or an admin to install a bundle.");

  const bundles = new Map();
  for (const w of installable) {
    if (!bundles.has(w.bundle.id)) bundles.set(w.bundle.id, { name: w.bundle.name, items: [] });
    bundles.get(w.bundle.id).items.push(w);
  }
  const cards = [...bundles].map(([id, b]) => {
    const missing = b.items.filter((w) => !w.installed).length;
    const button = h("button", { type: "button", class: missing ? null : "secondary" },
      missing === b.items.length ? `Install ${b.name}` : missing ? `Install the ${missing} missing` : "Reinstall");
    button.setAttribute("aria-label", missing ? `Install ${b.name}` : `Reinstall ${b.name}`);
    button.addEventListener("click", () => busy(button, async () => {
      try {
        const res = await api("POST", "/api/v1/workflows/install", { bundles: [id] });
        const installedNow = res.filter((r) => r.result === "installed" || r.result === "reinstalled").length;
        const kept = res.filter((r) => r.result === "kept").map((r) => r.id);
        const said = [
          installedNow ? `${installedNow} workflow${installedNow === 1 ? "" : "s"} installed` : "already up to date",
          kept.length ? `your edited ${kept.join(", ")} kept as ${kept.length === 1 ? "it is" : "they are"}` : null,
        ].filter(Boolean).join("; ");
        await workflows(message("ok", `${b.name}: ${said}.`));
      } catch (err) { put(out, message("bad", err.message)); }
    }, "Installing…"));
    return h("section", { class: `card${missing ? "" : " installed"}`, "aria-label": `${b.name} bundle` },
      h("h3", {}, b.name, " ", missing ? null : h("span", { class: "badge status-completed" }, "installed")),
      h("ul", {}, b.items.map((w) => h("li", {}, w.name, w.installed ? h("span", { class: "muted" }, " — installed") : null))),
      button);
  });
  show("Workflows",
    h("div", { class: "row spread" }, h("h1", {}, "Workflows"),
      can("builder") ? h("a", { class: "button secondary", href: "#/new" }, "New workflow") : null),
    out, table,
    cards.length ? [h("h2", {}, "Bundles"), h("div", { class: "cards" }, cards)] : null);
}
