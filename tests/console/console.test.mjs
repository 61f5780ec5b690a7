// Drives the lumosflow console in Debian's headless Chromium with playwright-core, as the
// people of a service desk would: an admin setting it up, a requester, an approver, a
// viewer, on a laptop and on a phone. Every view is audited with axe-core (no serious or
// critical violations) and photographed at 1366 and 390 px into <screenshots dir>.
//   node tests/console/console.test.mjs <server url> <sim url> <sim token> <screenshots dir>
// with the keys in the environment (never in argv): LF_ADMIN_KEY (a service key),
// LF_REQUESTER_KEY (agent, owned by ann.requester@example-corp.com), LF_APPROVER_KEY
// (admin, owned by sec.lead@example-corp.com), LF_VIEWER_KEY, LF_AUDITOR_KEY (viewer,
// owned by ida.audit@example-corp.com, made an auditor here by the admin).
// Exits 0 when every check passes.
import assert from "node:assert/strict";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

/** Text as the server sorts it, written apart from it: any case, runs of digits by value,
 *  other characters by code point. */
function naturalCmp(a, b) {
  const x = [...a.toLowerCase()], y = [...b.toLowerCase()];
  const digit = (c) => c >= "0" && c <= "9";
  let i = 0, j = 0;
  while (i < x.length && j < y.length) {
    if (digit(x[i]) && digit(y[j])) {
      let p = i, q = j;
      while (p < x.length && digit(x[p])) p++;
      while (q < y.length && digit(y[q])) q++;
      const nx = BigInt(x.slice(i, p).join("")), ny = BigInt(y.slice(j, q).join(""));
      if (nx !== ny) return nx < ny ? -1 : 1;
      if (p - i !== q - j) return (p - i) - (q - j);
      i = p; j = q;
    } else {
      if (x[i] !== y[j]) return x[i].codePointAt(0) - y[j].codePointAt(0);
      i++; j++;
    }
  }
  return (x.length - i) - (y.length - j);
}

/** Wait until the server has answered the table's filter or sort: no "Sorting…" or
 *  "Filtering…" status, the rows in view drawn. */
async function settled(page) {
  await page.waitForFunction(() => ![...document.querySelectorAll("[role=status]")].some((e) => /^(Sorting|Filtering) /.test(e.textContent))
    && !document.querySelector(".grid tbody tr.loading"));
}

const [base, simUrl, simToken, shots] = process.argv.slice(2);
const keys = { admin: process.env.LF_ADMIN_KEY, requester: process.env.LF_REQUESTER_KEY, approver: process.env.LF_APPROVER_KEY, viewer: process.env.LF_VIEWER_KEY, lumosApprover: process.env.LF_LUMOS_APPROVER_KEY, auditor: process.env.LF_AUDITOR_KEY };
for (const [k, v] of Object.entries(keys)) assert.ok(v, `missing the ${k} key`);
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});

const problems = [];
async function person(width = 1366, height = 900) {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  // A script error or a blocked resource (CSP) is a bug, whatever the page looks like.
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error" && !/the server responded with a status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`); });
  return { context, page };
}

async function signIn(page, key) {
  await page.goto(`${base}/`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.fill("#key", key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Workflows" }).waitFor();
}

// The audit can fail: a page with an unlabelled field and an image without text fails it.
async function auditCanFail() {
  const { context, page } = await person();
  await page.setContent("<html lang=en><title>t</title><main><img src=x.png><input type=text></main>");
  await assert.rejects(audit(page, "a broken fixture"), /image-alt|label/);
  await context.close();
}

// axe-core in the page (evaluated, so the console's CSP stays on): no serious or critical
// violation on any view.
async function audit(page, view) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.filter((v) => ["serious", "critical"].includes(v.impact))
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")}`);
  });
  assert.deepEqual(result, [], `accessibility of ${view}`);
}

async function shot(page, name) { await page.screenshot({ path: `${shots}/${name}.png` }); }

// What a person reads: never an "[object …]" or a stray "null"/"undefined".
async function readable(page, view) {
  const text = await page.locator("main").innerText();
  assert.doesNotMatch(text, /\[object \w+\]|\bnull\b|\bundefined\b|NaN/, `${view} shows code, not words:\n${text.slice(0, 2000)}`);
}

async function runsOf(page, workflow) {
  return page.evaluate(async (w) => (await (await fetch(`/api/v1/runs?workflow=${w}&limit=500`)).json()), workflow);
}

const GATED = `id: app-lookup-approved
name: Look up an app (approved)
description: Reads one app once IT security approves.
inputs:
  app_id: { type: text, required: true, label: App ID }
  ticket: { type: text, required: true, pattern: "[A-Z]+-[0-9]+", label: Ticket }
  teams: { type: list, options: [Identity, Finance], label: Teams }
approval:
  reason: Shows an app's configuration to the service desk
  steps:
    - name: IT security
      approvers:
        people: [sec.lead@example-corp.com]
steps:
  - id: app
    call: getApp
    params: { app_id: "{{ inputs.app_id }}" }
output: "{{ steps.app.output }}"
`;

try {
  await auditCanFail();
  // ------------------------------------------------------------------ the admin sets up
  const { page } = await person();
  await page.goto(`${base}/`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.equal(await page.title(), "Sign in · lumosflow");
  assert.ok(!(await page.getByRole("button", { name: "Sign out" }).isVisible()), "no Sign out before signing in");
  assert.ok(!(await page.getByRole("navigation", { name: "Main" }).isVisible()), "no menu before signing in");
  await audit(page, "sign-in");
  await shot(page, "signin");
  await page.fill("#key", "lfk_wrong");
  await page.keyboard.press("Enter");
  await page.getByRole("alert").getByText("unknown or revoked API key").waitFor();
  await page.fill("#key", keys.admin);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Workflows" }).waitFor();
  await page.getByText("root (admin)").waitFor();
  const cookie = (await page.context().cookies()).find((c) => c.name === "lf_session");
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === "Strict", JSON.stringify(cookie));
  assert.equal(await page.evaluate(() => document.cookie), "", "the session cookie is not readable from scripts");
  assert.equal(await page.getByRole("link", { name: "Workflows", exact: true }).getAttribute("aria-current"), "page", "the menu marks where you are");

  // Connect Lumos: nothing pre-filled that would silently replace a connection; a bad token
  // is refused; re-check; connecting again under the same name asks first.
  await page.getByRole("link", { name: "Connections", exact: true }).click();
  await page.getByRole("heading", { name: "Connections" }).waitFor();
  assert.equal(await page.title(), "Connections · lumosflow");
  await page.fill("#c-base", simUrl);
  await page.fill("#c-token", "lsk_not_the_right_token");
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByRole("alert").getByText("Lumos rejected the token").waitFor();
  await page.fill("#c-token", simToken);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByText(/Connected to Lumos as .+ — connection 'default' \(lsk_…0000\)/).waitFor();
  const connections = page.getByRole("table", { name: "Connections" });
  await connections.getByText("lsk_…0000").waitFor();
  assert.ok(!(await page.content()).includes(simToken), "the token is never shown again");
  assert.equal(await page.inputValue("#c-name"), "", "a second connection's name is not pre-filled");
  await page.getByRole("button", { name: "Re-check default" }).click();
  await page.getByText("'default': Lumos answered, the token works.").waitFor();
  await page.fill("#c-name", "default");
  await page.fill("#c-token", "lsk_someone_else");
  let asked = null;
  page.once("dialog", (d) => { asked = d.message(); d.dismiss(); });
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByRole("button", { name: "Connect" }).waitFor({ state: "visible" });
  await expectSoon(() => asked !== null, "a confirmation before replacing 'default'");
  assert.match(asked, /Replace the connection 'default'/);
  // Who may run on it: chosen here, kept by the server.
  await connections.getByText("agent, builder, admin").click();
  await page.getByRole("group", { name: "Roles that may run on 'default'" }).getByLabel("agent").uncheck();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("'default': builder, admin may run on it.").waitFor();
  await page.getByRole("table", { name: "Connections" }).getByText("builder, admin", { exact: true }).click();
  await page.getByRole("button", { name: "Default", exact: true }).click();
  await page.getByText("'default': back to the default roles.").waitFor();
  await audit(page, "connections");

  // API keys: made here, shown once, revoked here.
  await page.getByRole("link", { name: "API keys", exact: true }).click();
  await page.fill("#k-name", "kiosk");
  await page.selectOption("#k-role", "viewer");
  await page.getByRole("button", { name: "Create key" }).click();
  const madeKey = (await page.locator(".secret").innerText()).trim();
  assert.match(madeKey, /^lfk_[0-9a-f]{64}$/);
  // Copied whole with one press.
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  await page.getByRole("button", { name: "Copy the key" }).click();
  await page.getByText("Copied.").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), madeKey, "the key is copied whole");
  await page.getByRole("table", { name: "API keys" }).getByText("kiosk").waitFor();
  await audit(page, "API keys");
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Revoke kiosk" }).click();
  await page.getByText("'kiosk' is revoked.").waitFor();
  const gone = await page.evaluate(async (k) => (await fetch("/api/v1/runs", { headers: { authorization: `Bearer ${k}` }, credentials: "omit" })).status, madeKey);
  assert.equal(gone, 401, "a revoked key stops working");

  // Bundles: installing says what it did, and stays said; installed bundles look installed.
  await page.getByRole("link", { name: "Workflows", exact: true }).click();
  await page.getByRole("button", { name: "Install Directory & Apps" }).click();
  await page.getByRole("status").getByText(/Directory & Apps: 6 workflows installed/).waitFor();
  await page.getByRole("region", { name: "Directory & Apps bundle" }).getByText("installed", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Install Access Requests" }).click();
  await page.getByRole("status").getByText(/Access Requests: 5 workflows installed/).waitFor();
  await page.getByRole("button", { name: "Install AppStore" }).click();
  await page.getByRole("status").getByText(/AppStore: 3 workflows installed/).waitFor();
  await page.getByRole("button", { name: "Install Lumos Approvals" }).click();
  await page.getByRole("status").getByText(/Lumos Approvals: 4 workflows installed/).waitFor();
  await page.getByRole("table", { name: "Installed workflows" }).getByRole("link", { name: "List Lumos Users", exact: true }).waitFor();
  await audit(page, "workflows");
  await shot(page, "workflows");

  // ------------------------------------------------------------------ run a workflow
  await page.getByRole("link", { name: "List Lumos Users", exact: true }).click();
  await page.getByRole("heading", { name: "List Lumos Users" }).waitFor();
  assert.equal(await page.title(), "List Lumos Users · lumosflow");
  await page.fill("#in-search", "ann");
  // A double click is one run: the button is busy until the run ends.
  await page.getByRole("button", { name: "Run", exact: true }).dblclick();
  const results = page.getByRole("table", { name: "Results of List Lumos Users" });
  await results.waitFor();
  assert.equal((await runsOf(page, "list-lumos-users")).length, 1, "one run for a double click");
  const rows = await results.locator("tbody tr:not(.spacer)").allInnerTexts();
  assert.ok(rows.length > 0, "some users");
  for (const r of rows) assert.match(r.toLowerCase(), /ann/);
  await results.getByRole("columnheader", { name: "Given name" }).waitFor();
  assert.match(page.url(), /#\/runs\/[0-9a-f-]{36}$/, "after Run, the address is the run's own");
  // Sort by a header (keyboard), filter, and open a row's details.
  await results.getByRole("button", { name: "Email" }).focus();
  await page.keyboard.press("Enter");
  await settled(page);
  const sorted = await results.locator("tbody tr:not(.spacer) td:nth-child(3)").allInnerTexts();
  assert.ok(sorted.length > 0, "sorted rows");
  assert.deepEqual(sorted, [...sorted].sort(naturalCmp));
  assert.equal(await results.getByRole("columnheader", { name: /Email/ }).getAttribute("aria-sort"), "ascending");
  await page.getByRole("searchbox").fill("hannah");
  await page.getByText(/^\d+ of \d+ rows match “hannah”( — rows \d+–\d+ on screen)?$/).waitFor();
  for (const r of await results.locator("tbody tr:not(.spacer)").allInnerTexts()) assert.match(r.toLowerCase(), /hannah/);
  await results.getByRole("button", { name: "Details of row 1", exact: true }).click();
  const detail = page.getByRole("complementary", { name: "Row details" });
  await detail.getByRole("heading", { name: "Row 1" }).waitFor();
  await detail.getByText("Given name").waitFor();
  await detail.getByRole("link", { name: "Access requests" }).waitFor();
  const accessHref = await detail.getByRole("link", { name: "Access", exact: true }).getAttribute("href");
  assert.match(accessHref, /^#\/run\/list-lumos-user-access\?user_email=[^&]*hannah[^&]*&autorun=1$/i, accessHref);
  await readable(page, "a run's results");
  await audit(page, "run form and results");
  await shot(page, "run");

  // Every user (3,000): drawn a screenful at a time, sortable as a whole.
  await page.getByRole("searchbox").fill("");
  await page.fill("#in-search", "");
  await page.check("#in-all");
  await page.getByRole("button", { name: "Run", exact: true }).click();
  const everyone = page.getByText(/^[\d,]+ rows — rows 1–\d+ on screen$/);
  await everyone.waitFor();
  const users = Number((await everyone.innerText()).split(" ")[0].replaceAll(",", ""));
  assert.ok(users > 1000, `more users than pages of them: ${users}`);
  assert.ok(await results.locator("tbody tr:not(.spacer)").count() <= 45, "only the rows in view are drawn");
  await results.getByRole("button", { name: "Email" }).click();
  const allEmails = (await page.evaluate(async () => {
    const runs = await (await fetch("/api/v1/runs?workflow=list-lumos-users&limit=1")).json();
    return (await (await fetch(`/api/v1/runs/${runs[0].id}/output?format=json`)).json()).items.map((u) => u.email);
  })).sort(naturalCmp);
  await settled(page);
  assert.equal((await results.locator("tbody tr:not(.spacer) td:nth-child(3)").first().innerText()), allEmails[0], "sorted over every user, not the first page");
  await page.locator(".grid-scroll").evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await results.getByRole("button", { name: `Details of row ${users}`, exact: true }).waitFor();

  // A big answer: 30,000 accounts — progress while it runs, a smooth table, the last row a
  // scroll away, and "Export all" downloads every row from the server.
  await page.goto(`${base}/#/run/list-lumos-accounts`);
  await page.getByRole("heading", { name: "List Lumos Accounts" }).waitFor();
  await page.check("#in-all");
  await page.getByRole("button", { name: "Run", exact: true }).click();
  const big = page.getByRole("table", { name: "Results of List Lumos Accounts" });
  const bigStatus = page.getByText(/^[\d,]+ rows — rows 1–\d+ on screen$/);
  await bigStatus.waitFor({ timeout: 120000 });
  const bigCount = Number((await bigStatus.innerText()).split(" ")[0].replaceAll(",", ""));
  assert.ok(bigCount >= 20000, `a big listing: ${bigCount}`);
  await page.locator(".grid-scroll").evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await big.getByRole("button", { name: `Details of row ${bigCount}`, exact: true }).waitFor();
  assert.ok(await big.locator("tbody tr").count() < 60, `${bigCount} rows, a screenful in the page`);
  await big.getByRole("button", { name: `Details of row ${bigCount}`, exact: true }).click();
  await page.getByRole("heading", { name: "Answer" }).evaluate((el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 10));
  await shot(page, "results");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export all (CSV)" }).click()]);
  assert.match(download.suggestedFilename(), /^list-lumos-accounts-[0-9a-f-]+\.csv$/);
  const csv = readFileSync(await download.path(), "utf8").trimEnd().split("\n");
  assert.equal(csv.length, bigCount + 1, "a header and every account");

  // Filter and sort the 30,000 rows: the server reads them all, the page shows what matches.
  const emailAt = csv[0].split(",").indexOf("email");
  const someone = csv[101].split(",")[emailAt];
  assert.match(someone, /@/, "an account with an email");
  const matching = csv.slice(1).filter((l) => l.toLowerCase().includes(someone.toLowerCase())).length;
  await page.getByRole("searchbox", { name: "Filter rows" }).fill(someone.toUpperCase());
  await page.getByText(`${matching.toLocaleString("en-US")} of ${bigCount.toLocaleString("en-US")} rows match “${someone.toUpperCase()}”`, { exact: false }).waitFor();
  for (const r of await big.locator("tbody tr:not(.spacer)").allInnerTexts()) assert.ok(r.toLowerCase().includes(someone.toLowerCase()), r);
  await page.getByRole("searchbox", { name: "Filter rows" }).fill("");
  await page.getByText(new RegExp(`^${bigCount.toLocaleString("en-US")} rows — rows 1–\\d+ on screen$`)).waitFor();
  await big.getByRole("button", { name: "Email" }).click();
  await big.getByRole("button", { name: "Email" }).click();
  await page.waitForFunction(() => document.querySelector("th[data-col=email]")?.getAttribute("aria-sort") === "descending");
  await settled(page);
  const lastEmail = csv.slice(1).map((l) => l.split(",")[emailAt]).filter(Boolean).sort(naturalCmp).at(-1);
  assert.equal(await big.locator("tbody tr:not(.spacer) td[title]").filter({ hasText: "@" }).first().innerText(), lastEmail, "sorted over every account on the server");

  // After Run the address is the run's: a refresh shows its answer, Back is the form with
  // the inputs it ran with, Forward the answer again.
  const runUrl = page.url();
  assert.match(runUrl, /#\/runs\/[0-9a-f-]{36}$/, "after Run, the address is the run's own");
  await page.reload();
  await page.getByRole("heading", { name: /^Run [0-9a-f]{8} of List Lumos Accounts$/ }).waitFor();
  await page.getByRole("heading", { name: "Answer" }).waitFor();
  await page.goBack();
  await page.getByRole("heading", { name: "List Lumos Accounts", exact: true }).waitFor();
  assert.match(page.url(), /#\/run\/list-lumos-accounts\?(.*&)?all=true(&|$)/, "Back: the form, with the inputs it ran with");
  assert.equal(await page.isChecked("#in-all"), true);
  await page.goForward();
  await page.getByRole("heading", { name: /^Run [0-9a-f]{8} of List Lumos Accounts$/ }).waitFor();
  assert.equal(page.url(), runUrl);

  // The run's own page (where Forward brought us): its answer, steps and facts, in words.
  await page.getByRole("heading", { name: /^Run [0-9a-f]{8} of List Lumos Accounts$/ }).waitFor();
  await page.getByRole("heading", { name: "Answer" }).waitFor();
  // The answer first; the steps fold into one line, opened by a click.
  const stepsLine = page.locator("details.steps-box > summary");
  assert.match(await stepsLine.innerText(), /^\d+ steps?: \d+ completed/);
  const [answerTop, stepsTop] = await Promise.all([page.getByRole("heading", { name: "Answer" }), stepsLine].map((l) => l.evaluate((el) => el.getBoundingClientRect().top)));
  assert.ok(answerTop < stepsTop, "the answer is above the steps");
  await stepsLine.click();
  await page.getByRole("list", { name: "Steps" }).getByText(/completed · HTTP 200/).first().waitFor();
  await readable(page, "a run's page");
  await audit(page, "run page");
  await shot(page, "run-page");

  // A loop over 3,000 items is one card: its counts, and the few items the record keeps.
  const loopRun = await page.evaluate(async () => {
    const headers = { "content-type": "application/json", "x-lumosflow-csrf": "1" };
    const yaml = "id: every-number\nname: Every number\nsteps:\n  - id: each\n    for_each: \"{{ range(3000) | list }}\"\n    transform: \"{{ item * 2 }}\"\noutput: \"{{ steps.each.output | length }}\"\n";
    const made = await fetch("/api/v1/workflows", { method: "POST", headers, body: JSON.stringify({ yaml }) });
    if (!made.ok) throw new Error(`create: ${made.status} ${await made.text()}`);
    const run = await fetch("/api/v1/workflows/every-number/runs?wait=true", { method: "POST", headers, body: "{}" });
    const done = await run.json();
    if (done.status !== "completed") throw new Error(`the loop run: ${JSON.stringify(done).slice(0, 500)}`);
    return done.id;
  });
  await page.goto(`${base}/#/runs/${loopRun}`);
  await page.getByRole("heading", { name: /^Run [0-9a-f]{8} of Every number$/ }).waitFor();
  await page.locator("details.steps-box > summary").getByText("1 step: 1 completed").click();
  const loopCard = page.getByRole("list", { name: "Steps" }).locator(":scope > li").first();
  await loopCard.waitFor();
  assert.match(await loopCard.innerText(), /^each\ntransform\n?|^each\n/, await page.locator("main").innerText());
  assert.match(await loopCard.innerText(), /3,000 items: 3,000 completed · \d+ ms/, await page.locator("main").innerText());
  await loopCard.getByText("Items (10 kept: the first completed and the first failures)").click();
  assert.equal(await loopCard.locator(".iterations li").count(), 10, "a loop keeps a sample of its items");
  await readable(page, "a loop's run page");
  await shot(page, "run-loop");

  // "What does Hannah have?": the user row's Access link answers with her accounts by app.
  await page.goto(`${base}/${accessHref}`);
  await page.getByRole("heading", { name: "List Lumos User Access" }).waitFor();
  await page.getByRole("heading", { name: "Answer" }).waitFor();
  const access = await page.locator("main").innerText();
  assert.match(access, /hannah/i, access.slice(0, 1500));
  // Her accounts are a table, by app, with status and last activity.
  const accountsTable = page.getByRole("table", { name: "Results of List Lumos User Access" });
  await accountsTable.getByRole("columnheader", { name: /App/ }).first().waitFor();
  await accountsTable.getByRole("columnheader", { name: /Last activity/ }).waitFor();
  assert.ok(await accountsTable.locator("tbody tr:not(.spacer)").count() >= 1, "her accounts are listed");
  await readable(page, "a person's access");
  await page.getByRole("heading", { name: "Answer" }).evaluate((el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 10));
  await shot(page, "user-access");

  // Links between things: an app's row opens Get Lumos App for it, run at once.
  await page.goto(`${base}/#/run/list-lumos-apps`);
  await page.getByRole("heading", { name: "List Lumos Apps" }).waitFor();
  await page.getByRole("button", { name: "Run", exact: true }).click();
  const apps = page.getByRole("table", { name: "Results of List Lumos Apps" });
  await apps.getByRole("button", { name: "Details of row 1", exact: true }).click();
  await page.getByRole("complementary", { name: "Row details" }).getByRole("link", { name: "App", exact: true }).click();
  await page.getByRole("heading", { name: "Get Lumos App" }).waitFor();
  await page.getByRole("heading", { name: "Answer" }).waitFor();
  await page.getByRole("region", { name: "Results of Get Lumos App" }).getByText("User friendly label", { exact: true }).waitFor();
  const appId = (await page.locator('dt:text-is("ID") + dd').first().innerText()).trim();
  assert.match(appId, /^[0-9a-f-]{36}$/);
  const appLabel = (await page.locator('dt:text-is("User friendly label") + dd').first().innerText()).trim();
  await page.getByRole("link", { name: "Approvers" }).waitFor();
  await readable(page, "an app");
  // The link gave the app's id: the field shows the app's name, and says which app it is.
  await expectSoon(async () => (await page.inputValue("#in-app_id")) === appLabel, "the app's name in its field");
  await page.locator("#in-app_id-picked").getByText(`${appLabel}`).waitFor();
  assert.match(await page.locator("#in-app_id-picked").innerText(), new RegExp(`the app with id ${appId}$`));
  // A name typed whole, in any case, and Enter: the run is for that app, the field keeps
  // the name; a name no app has is an error beside the form, and nothing runs.
  const appRuns = (await runsOf(page, "get-lumos-app")).length;
  await page.fill("#in-app_id", appLabel.toUpperCase());
  await page.press("#in-app_id", "Enter");
  await expectSoon(async () => (await runsOf(page, "get-lumos-app")).length === appRuns + 1, "one more run");
  await page.getByRole("heading", { name: "Answer" }).waitFor();
  assert.equal((await runsOf(page, "get-lumos-app"))[0].inputs.app_id, appId, "the run got the app's id");
  assert.equal(await page.inputValue("#in-app_id"), appLabel.toUpperCase(), "the field keeps the name typed");
  await page.fill("#in-app_id", "No Such App Anywhere");
  await page.press("#in-app_id", "Enter");
  await page.getByRole("alert").getByText(/^App id: no app is named “No Such App Anywhere”/).waitFor();
  await page.locator("#in-app_id-picked").getByText(/^App id: no app is named “No Such App Anywhere”/).waitFor();
  assert.equal((await runsOf(page, "get-lumos-app")).length, appRuns + 1, "nothing ran");
  // A request's duration offers the lengths the app offers, and its help says them.
  // (An app people may request: the AppStore's, by a name no other has.)
  const lumos = async (path) => (await fetch(`${simUrl}${path}`, { headers: { authorization: `Bearer ${simToken}` } })).json();
  const storeApps = (await lumos("/appstore/apps?size=100")).items;
  const storeApp = storeApps.find((a) => storeApps.filter((b) => b.user_friendly_label.toLowerCase() === a.user_friendly_label.toLowerCase()).length === 1);
  const storeLabel = storeApp.user_friendly_label;
  await page.goto(`${base}/#/run/request-lumos-app-access?app=${encodeURIComponent(storeLabel)}`);
  await page.getByRole("heading", { name: "Request Lumos App Access" }).waitFor();
  const settings = await lumos(`/appstore/apps/${storeApp.id}/settings`);
  const lengths = (settings.provisioning && settings.provisioning.time_based_access) || [];
  await expectSoon(async () => (await page.locator("#in-duration-help").innerText()).startsWith(`${storeLabel} offers`), "the duration's help names what the app offers");
  assert.deepEqual(await page.locator("#in-duration-list option").evaluateAll((os) => os.map((o) => o.value)), lengths);
  if (lengths.length) assert.equal(await page.locator("#in-duration-help").innerText(), `${storeLabel} offers: ${lengths.join(", ")}.`);
  // An app people may not request: said beside the field, and the duration's help is the
  // usual one again.
  await page.fill("#in-app", "No Such App Anywhere");
  await page.locator("#in-app").blur();
  await page.locator("#in-app-picked").getByText(/^App: no app people may request is named “No Such App Anywhere”/).waitFor();
  await expectSoon(async () => !(await page.locator("#in-duration-help").innerText()).includes("offers"), "the usual duration help again");

  // History: runs told apart by their ids, filters, older runs page by page.
  await page.evaluate(async () => {
    for (let i = 0; i < 52; i++) await fetch("/api/v1/workflows/list-lumos-groups/runs", { method: "POST", headers: { "content-type": "application/json", "x-lumosflow-csrf": "1" }, body: JSON.stringify({ inputs: { size: 1 } }) });
  });
  await page.getByRole("link", { name: "Runs", exact: true }).click();
  const history = page.getByRole("table", { name: "Runs" });
  await history.waitFor();
  const ids = await history.locator("tbody td:first-child").allInnerTexts();
  assert.equal(ids.length, 50);
  assert.equal(new Set(ids).size, 50, `short ids tell runs apart: ${ids.join(" ")}`);
  await page.getByRole("button", { name: "Older runs" }).click();
  await expectSoon(async () => (await history.locator("tbody tr").count()) > 50, "older runs");
  const all = await history.locator("tbody td:first-child").allInnerTexts();
  assert.equal(new Set(all).size, all.length, "no run twice across pages");
  await page.selectOption("#f-workflow", "list-lumos-users");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByText("2 runs").waitFor();
  for (const r of await history.locator("tbody tr").allInnerTexts()) assert.match(r, /List Lumos Users/);
  // "Requested by" matches any part, any case; "Until" a day keeps that whole day. Each
  // Filter draws the page again: wait for the old one to go before reading the new.
  const filterAgain = async () => {
    const old = await page.getByRole("form", { name: "Filter runs" }).elementHandle();
    await page.getByRole("button", { name: "Filter" }).click();
    await old.waitForElementState("hidden");
  };
  await page.fill("#f-requested_by", "ROO");
  await page.fill("#f-until", new Date().toISOString().slice(0, 10));
  await filterAgain();
  await page.getByText("2 runs").waitFor();
  for (const r of await history.locator("tbody tr").allInnerTexts()) assert.match(r, /key:root/);
  await page.fill("#f-until", "2020-01-01");
  await filterAgain();
  await page.getByText("No run matches these filters.").waitFor();
  await page.getByRole("link", { name: "Clear" }).click();
  await page.getByText("No run matches these filters.").waitFor({ state: "detached" });
  await audit(page, "runs");
  await shot(page, "runs");

  // ------------------------------------------------------------------ the builder
  await page.getByRole("link", { name: "Workflows", exact: true }).click();
  await page.getByRole("link", { name: "New workflow" }).click();
  await page.getByRole("heading", { name: "New workflow" }).waitFor();
  await page.locator("#yaml").fill(GATED);
  await page.getByRole("button", { name: "Create workflow" }).click();
  await page.getByRole("heading", { name: "Look up an app (approved) — YAML v1" }).waitFor();
  // An error: once, with the line itself and a marker under the column; Enter on it goes
  // there without typing into the YAML.
  const broken = GATED.replace("call: getApp", "call: getAp");
  await page.locator("#yaml").fill(broken);
  await page.getByRole("button", { name: "Validate" }).click();
  const problem = page.getByRole("alert");
  await problem.getByText(/unknown Lumos operation 'getAp'/).waitFor();
  const alertText = await problem.innerText();
  assert.equal(alertText.match(/Line 16, column 11/g).length, 1, `the place is said once: ${alertText}`);
  const excerpt = (await problem.locator("pre").innerText()).split("\n");
  assert.equal(excerpt[1].indexOf("^"), excerpt[0].indexOf("getAp"), "the marker sits under the mistake");
  await problem.getByRole("button", { name: "Line 16, column 11" }).focus();
  await page.keyboard.press("Enter");
  assert.equal(await page.inputValue("#yaml"), broken, "Enter on a problem does not type into the YAML");
  assert.equal(await page.evaluate(() => document.activeElement.id), "yaml");
  await audit(page, "YAML editor");
  // Unsaved changes: leaving asks first.
  let leaving = null;
  page.once("dialog", (d) => { leaving = d.message(); d.dismiss(); });
  await page.getByRole("link", { name: "Runs", exact: true }).click();
  await expectSoon(() => leaving !== null, "a question before losing unsaved YAML");
  assert.match(page.url(), /#\/yaml\/app-lookup-approved/);
  // Saved: the heading says the new version; the old one can be compared.
  await page.locator("#yaml").fill(GATED.replace("Reads one app", "Reads one Lumos app"));
  await page.getByRole("button", { name: "Save new version" }).click();
  await page.getByText("Saved as version 2.").waitFor();
  await page.getByRole("heading", { name: "Look up an app (approved) — YAML v2" }).waitFor();
  // After a save the editor still answers: a broken version is refused, in place.
  await page.locator("#yaml").fill(broken);
  await page.getByRole("button", { name: "Save new version" }).click();
  await page.getByRole("alert").getByText(/unknown Lumos operation 'getAp'/).waitFor();
  assert.ok(!(await page.getByText("Saved as version 2.").isVisible()), "the old notice is gone");
  await page.locator("#yaml").fill(GATED.replace("Reads one app", "Reads one Lumos app"));
  await page.getByRole("region", { name: "Versions" }).getByRole("link", { name: "v1" }).click();
  await page.getByRole("heading", { name: /YAML v1 \(the current one is v2\)/ }).waitFor();
  await page.getByLabel("Differences").getByText("+ description: Reads one Lumos app once IT security approves.").waitFor();
  await shot(page, "yaml");

  // From a waiting request's status: Cancel, naming what it cancels, as a form to confirm.
  await page.goto(`${base}/#/run/list-lumos-access-requests?status=PENDING_APPROVAL&autorun=1`);
  const waitingRequests = page.getByRole("table", { name: "Results of List Lumos Access Requests" });
  await waitingRequests.getByRole("button", { name: "Details of row 1", exact: true }).click();
  await page.getByRole("complementary", { name: "Row details" }).getByRole("link", { name: "Request status" }).click();
  await page.getByRole("heading", { name: "Get Lumos Access Request" }).waitFor();
  const cancelLink = page.getByRole("link", { name: /^Cancel the request \(.+ for .+@.+\)…$/ });
  await cancelLink.waitFor();
  const cancelsBefore = (await runsOf(page, "cancel-lumos-access-request")).length;
  await cancelLink.click();
  await page.getByRole("heading", { name: "Cancel Lumos Access Request" }).waitFor();
  assert.match(await page.inputValue("#in-request_id"), /^[0-9a-f-]{36}$/, "the request is filled in");
  assert.equal((await runsOf(page, "cancel-lumos-access-request")).length, cancelsBefore, "nothing cancelled before the click");

  // Sign out: nothing of the session stays on screen.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.ok(!(await page.getByRole("button", { name: "Sign out" }).isVisible()), "no Sign out once signed out");
  assert.ok(!(await page.getByText("root (admin)").isVisible()), "nobody shown once signed out");
  assert.ok(!(await page.getByRole("navigation", { name: "Main" }).isVisible()), "no menu once signed out");

  // ------------------------------------------------------------------ approvals
  const requester = await person();
  await signIn(requester.page, keys.requester);
  assert.ok(!(await requester.page.getByRole("link", { name: "Connections", exact: true }).isVisible()), "an agent sees no admin pages");
  // A link cannot make someone change Lumos without a click: autorun waits for one here.
  await requester.page.goto(`${base}/#/run/cancel-lumos-access-request?request_id=00000000-0000-4000-8000-000000000001&reason=x&autorun=1`);
  await requester.page.getByText("Opened from a link: check the inputs, then press Run.").waitFor();
  assert.equal((await runsOf(requester.page, "cancel-lumos-access-request")).length, 0, "nothing ran by itself");
  // Run, it fails (no such request): the page says nothing was changed, and offers to try
  // again because that is safe.
  await requester.page.getByRole("button", { name: "Run", exact: true }).click();
  await requester.page.getByText("Nothing was changed.", { exact: true }).waitFor();
  await requester.page.getByText("Nothing was changed: it is safe to try again.").waitFor();
  assert.match(await requester.page.getByRole("link", { name: "Try again" }).getAttribute("href"), /^#\/run\/cancel-lumos-access-request\?request_id=00000000-0000-4000-8000-000000000001/);
  await requester.page.goto(`${base}/#/run/app-lookup-approved`);
  await requester.page.getByRole("note").getByText(/Needs approval/).waitFor();
  await requester.page.getByRole("note").getByText(/IT security — sec\.lead@example-corp\.com/).waitFor();
  // The app is found by typing part of its name: the picker offers it with its id.
  // The app is found by typing part of its name: the picker offers it by name; choosing it
  // keeps the name in the field and says which app it is.
  await requester.page.locator("#in-app_id").pressSequentially(appLabel.slice(0, 4), { delay: 30 });
  await requester.page.locator(`#in-app_id-list option[value="${appLabel}"]`).waitFor({ state: "attached" });
  await requester.page.fill("#in-app_id", appLabel);
  await requester.page.locator("#in-app_id-picked").getByText(`the app with id ${appId}`).waitFor();
  await requester.page.fill("#in-ticket", "not a ticket");
  await requester.page.getByRole("button", { name: "Run", exact: true }).click();
  await requester.page.getByRole("alert").getByText(/input 'ticket': 'not a ticket' does not match the pattern/).waitFor();
  await requester.page.fill("#in-ticket", "DESK-42");
  await requester.page.getByRole("group", { name: "Teams" }).getByLabel("Identity").check();
  await requester.page.getByText("More options").click();
  await requester.page.fill("#run-for", "bo.staff@example-corp.com");
  await requester.page.getByRole("button", { name: "Run", exact: true }).click();
  await requester.page.getByRole("heading", { name: "Waiting for approval" }).waitFor();
  await requester.page.getByText("You asked for this run: someone else decides.").waitFor();
  const heldUrl = await requester.page.getByRole("link", { name: /^Run [0-9a-f]{8}$/ }).getAttribute("href");

  const approver = await person();
  await signIn(approver.page, keys.approver);
  const count = approver.page.getByRole("navigation", { name: "Main" }).locator("#inbox-count");
  await approver.page.getByRole("link", { name: "Approvals 1 waiting for you" }).waitFor();
  await approver.page.getByRole("link", { name: /Approvals/ }).click();
  const held = approver.page.getByRole("article");
  await held.getByText(/^Asked by ann\.requester@example-corp\.com for bo\.staff@example-corp\.com/).waitFor();
  await held.getByText("Shows an app's configuration to the service desk").waitFor();
  await held.getByText(appId).waitFor();
  // The app the inputs give by id reads by its name.
  await held.locator("dd b", { hasText: appLabel }).waitFor();
  await held.getByText("DESK-42").waitFor();
  await held.locator(".chip", { hasText: "Identity" }).waitFor();
  await held.getByRole("list", { name: "Approval steps" }).getByText(/IT security/).waitFor();
  await audit(approver.page, "approvals inbox");
  await shot(approver.page, "approvals");
  await held.getByRole("button", { name: "Deny" }).click();
  await held.getByRole("alert").getByText(/Say why you deny it/).waitFor();
  await held.getByLabel("Comment").fill("Checked with the app owner");
  await held.getByRole("button", { name: "Approve" }).click();
  await approver.page.getByText("Nothing waits for your decision.").waitFor();
  await approver.page.getByRole("status").getByText(/approved; the run goes on\./).waitFor();
  await expectSoon(async () => !(await count.isVisible()), "the inbox count goes away");

  await requester.page.goto(`${base}/${heldUrl}`);
  await requester.page.getByRole("heading", { name: "Answer" }).waitFor();
  await requester.page.getByRole("list", { name: "Decisions" }).getByText(/Approved by sec\.lead@example-corp\.com/).waitFor();
  await requester.page.getByText("Checked with the app owner").waitFor();
  await readable(requester.page, "an approved run");

  // ------------------------------------------------------------------ someone Lumos asks to approve
  const lumosApprover = await person();
  await signIn(lumosApprover.page, keys.lumosApprover);
  const lp = lumosApprover.page;
  await lp.getByRole("link", { name: /Approvals/ }).click();
  const inLumos = lp.getByRole("region", { name: "Waiting for you in Lumos" });
  await inLumos.getByRole("heading", { name: "Waiting for you in Lumos" }).waitFor();
  const pendingFor = async () => {
    const r = await fetch(`${simUrl}/tasks?show_all_tasks=true&status=PENDING&expand=assignees&size=100`, { headers: { authorization: `Bearer ${simToken}` } });
    return (await r.json()).items.filter((t) => t.task_category !== "PROVISIONING" && t.assignees.some((a) => a.email === process.env.LF_LUMOS_APPROVER)).length;
  };
  const before = await pendingFor();
  const articles = inLumos.getByRole("article");
  await articles.first().waitFor();
  assert.equal(await articles.count(), before, "one article per Lumos task the person may decide");
  await readable(lp, "Lumos tasks on the Approvals page");
  await audit(lp, "Lumos tasks on the Approvals page");
  await shot(lp, "approvals-lumos");
  const first = articles.first();
  await first.getByRole("button", { name: "Deny" }).click();
  await first.getByText("Say why you deny it").waitFor();
  await first.getByLabel("Comment").fill("Checked with the team lead");
  await first.getByRole("button", { name: "Approve" }).click();
  await lp.getByRole("status").getByText(/^Approved in Lumos: /).waitFor();
  await expectSoon(async () => (await pendingFor()) === before - 1, "the Lumos task is decided");

  // ------------------------------------------------------------------ an auditor
  // A viewer sees no audit trail until an admin makes them an auditor on the People page.
  const auditor = await person();
  await signIn(auditor.page, keys.auditor);
  const { page: ap } = auditor;
  assert.equal(await ap.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).count(), 0, "no Audit link before the grant");
  await ap.goto(`${base}/#/audit`);
  await ap.getByRole("heading", { name: "Auditors only" }).waitFor();
  const admin = await person();
  await signIn(admin.page, keys.approver);
  await admin.page.goto(`${base}/#/people`);
  await admin.page.getByRole("checkbox", { name: "ida.audit@example-corp.com reads the audit trail" }).check();
  await admin.page.getByText("ida.audit@example-corp.com may now read, check and export the audit trail.").waitFor();
  await readable(admin.page, "the people page");
  await audit(admin.page, "the people page");
  await ap.goto(`${base}/#/workflows`);
  await ap.reload();
  await ap.getByText(/\(viewer, auditor\)/).waitFor();
  await ap.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
  await ap.getByRole("heading", { name: "Audit trail" }).waitFor();
  await ap.getByText(/The audit trail is whole: \d+ events checked/).waitFor();
  const auditRows = ap.getByRole("table", { name: "Audit events" });
  // The grant itself is in the trail, with who gave it.
  await auditRows.getByRole("row").filter({ hasText: "person.auditor" }).filter({ hasText: "sec.lead@example-corp.com" }).first().waitFor();
  // Who approved what: the approver's decisions, each with its run.
  await ap.fill("#a-actor", "SEC.LEAD");
  await ap.fill("#a-action", "run.approve");
  await ap.getByRole("button", { name: "Filter" }).click();
  await expectSoon(async () => {
    const rows = await auditRows.locator("tbody tr").allInnerTexts();
    return rows.length > 0 && rows.every((r) => r.includes("run.approve") && r.includes("sec.lead@example-corp.com"));
  }, "only the approver's run.approve events after filtering");
  assert.match(ap.url(), /#\/audit\?actor=SEC.LEAD&action=run.approve$/, "the filters are in the address");
  const approvedRun = auditRows.locator("tbody tr").first().getByRole("link", { name: /^Run [0-9a-f]{8}$/ });
  await approvedRun.waitFor();
  await readable(ap, "the audit trail");
  await audit(ap, "the audit trail");
  await shot(ap, "audit");
  const [trail] = await Promise.all([ap.waitForEvent("download"), ap.getByRole("link", { name: "Export the whole trail (CSV)" }).click()]);
  const trailCsv = readFileSync(await trail.path(), "utf8").trimEnd().split("\n");
  assert.equal(trailCsv[0], "seq,at,actor,action,target,details,prev_hash,hash");
  assert.ok(trailCsv.some((l) => l.includes("person.auditor")), "the export has the grant");
  await approvedRun.click();
  await ap.getByRole("heading", { name: /^Run [0-9a-f]{8} of / }).waitFor();
  await ap.getByRole("list", { name: "Decisions" }).getByText(/Approved by sec\.lead@example-corp\.com/).waitFor();

  const keyHolder = await person();
  await signIn(keyHolder.page, keys.admin);
  // A service key acts for nobody: no Lumos task is theirs, and the page says so calmly.
  await keyHolder.page.goto(`${base}/#/approvals`);
  const keyInLumos = keyHolder.page.getByRole("region", { name: "Waiting for you in Lumos" });
  await keyInLumos.getByText(/is a service key that acts for nobody/).waitFor();
  assert.equal(await keyInLumos.locator(".bad").count(), 0, "no error box for a service key");

  // ------------------------------------------------------------------ a viewer
  const viewer = await person();
  await signIn(viewer.page, keys.viewer);
  assert.ok(!(await viewer.page.getByRole("button", { name: /^Install/ }).count()), "a viewer is offered no install");
  assert.ok(!(await viewer.page.getByRole("link", { name: "New workflow" }).count()), "a viewer is offered no builder");
  await viewer.page.getByRole("link", { name: "List Lumos Users", exact: true }).click();
  await viewer.page.getByText("Your role can read this workflow but not run it.").waitFor();
  assert.equal(await viewer.page.getByRole("button", { name: "Run", exact: true }).count(), 0);

  // ------------------------------------------------------------------ on a phone
  const phone = await person(390, 844);
  await signIn(phone.page, keys.approver);
  for (const [view, heading, name] of [["#/workflows", "Workflows", "workflows"], ["#/runs", "Runs", "runs"], [heldUrl, /^Run /, "run-page"], ["#/run/list-lumos-users?search=ann&autorun=1", "List Lumos Users", "run"], ["#/approvals", "Waiting for you", "approvals"], ["#/audit", "Audit trail", "audit"]]) {
    await phone.page.goto(`${base}/${view}`);
    await phone.page.getByRole("heading", { name: heading }).first().waitFor();
    if (view.includes("autorun")) {
      await phone.page.getByRole("heading", { name: "Answer" }).waitFor();
      await phone.page.getByRole("heading", { name: "Answer" }).evaluate((el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 10));
    }
    const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `${view} fits a 390 px phone (it is ${width} px wide)`);
    const signOut = await phone.page.getByRole("button", { name: "Sign out" }).boundingBox();
    assert.ok(signOut && signOut.x + signOut.width <= 390, `Sign out is on screen on ${view}`);
    await audit(phone.page, `${view} on a phone`);
    await shot(phone.page, `phone-${name}`);
  }

  // Each of the others' own page on a phone: the requester's runs, the viewer's workflows,
  // the auditor's trail.
  for (const [key, view, heading, who] of [[keys.requester, "#/runs", "Runs", "requester"], [keys.viewer, "#/workflows", "Workflows", "viewer"], [keys.auditor, "#/audit", "Audit trail", "auditor"]]) {
    const small = await person(390, 844);
    await signIn(small.page, key);
    await small.page.goto(`${base}/${view}`);
    await small.page.getByRole("heading", { name: heading, exact: true }).waitFor();
    const width = await small.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `${view} fits a 390 px phone for the ${who} (it is ${width} px wide)`);
    await audit(small.page, `${view} on a phone, as the ${who}`);
  }

  assert.deepEqual(problems, [], "no script errors and nothing blocked");
  console.log(JSON.stringify({ ok: true }));
} catch (err) {
  // What the people saw when it broke: a screenshot and the text of each open page.
  let i = 0;
  for (const context of browser.contexts()) for (const p of context.pages()) {
    i += 1;
    await p.screenshot({ path: `${shots}/failure-${i}.png`, fullPage: true }).catch(() => {});
    console.error(`--- page ${i} (${p.url()}):\n${(await p.locator("body").innerText().catch(() => "")).slice(0, 3000)}`);
  }
  console.error(problems.join("\n"));
  throw err;
} finally {
  // A browser that hangs on close must not hang the test run: give it 10 s.
  await Promise.race([browser.close(), new Promise((resolve) => setTimeout(resolve, 10000))]);
}
// Nothing left to wait for (a stuck browser child included).
process.exit(process.exitCode ?? 0);

async function expectSoon(check, what) {
  const until = Date.now() + 15000;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`never happened: ${what}`);
}
