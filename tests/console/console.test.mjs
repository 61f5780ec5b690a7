// Drives the lumosflow console in Debian's headless Chromium with playwright-core.
//   node tests/console/console.test.mjs <server url> <admin API key> <simulator url> <simulator token> [screenshot.png]
// Exits 0 when every check passes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [base, key, simUrl, simToken, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.setDefaultTimeout(15000);
  await page.goto(`${base}/`);

  // Sign in: the key becomes an HttpOnly, SameSite=Strict session cookie.
  await page.fill("#key", "lfk_wrong");
  await page.keyboard.press("Enter");
  await page.getByRole("alert").getByText("unknown or revoked API key").waitFor();
  await page.fill("#key", key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Workflows" }).waitFor();
  const cookie = (await page.context().cookies()).find((c) => c.name === "lf_session");
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === "Strict", JSON.stringify(cookie));
  assert.equal(await page.evaluate(() => document.cookie), "", "the session cookie is not readable from scripts");

  // Connect Lumos (the simulator): verification result, then only the masked hint.
  await page.getByRole("link", { name: "Connections" }).click();
  await page.fill("#c-base", simUrl);
  await page.fill("#c-token", "lsk_not_the_right_token");
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByRole("alert").getByText("Lumos rejected the token").waitFor();
  await page.fill("#c-token", simToken);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByText(/Connected to Lumos as .+ — connection 'default' \(lsk_…0000\)/).waitFor();
  await page.getByRole("table", { name: "Connections" }).getByText("lsk_…0000").waitFor();
  assert.ok(!(await page.content()).includes(simToken), "the token is never shown again");

  // Install a bundle.
  await page.getByRole("link", { name: "Workflows" }).click();
  await page.getByRole("button", { name: "Install Directory & Apps" }).click();
  await page.getByRole("table", { name: "Installed workflows" }).getByRole("link", { name: "List Lumos Users" }).waitFor();

  // Run List Lumos Users with a search; the rows match.
  await page.getByRole("link", { name: "List Lumos Users" }).click();
  await page.getByRole("heading", { name: "List Lumos Users" }).waitFor();
  await page.fill("#in-search", "ann");
  await page.getByRole("button", { name: "Run" }).click();
  const table = page.getByRole("table", { name: "Results of List Lumos Users" });
  await table.waitFor();
  const rows = await table.locator("tbody tr").allInnerTexts();
  assert.ok(rows.length > 0, "some users");
  for (const r of rows) assert.match(r.toLowerCase(), /ann/);
  // Sorting by a header (keyboard).
  await table.getByRole("button", { name: "email" }).focus();
  await page.keyboard.press("Enter");
  const emails = await table.locator("tbody tr td:nth-child(2)").allInnerTexts();
  assert.deepEqual(emails, [...emails].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  // Every user at once: the first 100 on screen, more on request, and the whole listing as
  // a download streamed by the server (not what happens to be on screen).
  await page.fill("#in-search", "");
  await page.check("#in-all");
  await page.getByRole("button", { name: "Run" }).click();
  const showing = page.getByText(/^Showing 100 of \d+ items$/);
  await showing.waitFor();
  const total = Number((await showing.innerText()).match(/of (\d+)/)[1]);
  assert.ok(total > 200, `more users than two screens: ${total}`);
  assert.equal(await table.locator("tbody tr").count(), 100);
  await page.getByRole("button", { name: "Show more" }).click();
  await page.getByText(`Showing 200 of ${total} items`).waitFor();
  assert.equal(await table.locator("tbody tr").count(), 200);
  if (screenshot) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshot.replace(/\.png$/, "-all.png") });
  }
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download CSV" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^list-lumos-users-[0-9a-f-]+\.csv$/);
  const csv = readFileSync(await download.path(), "utf8").trimEnd().split("\n");
  assert.equal(csv.length, total + 1, "a header and every user");
  assert.match(csv[0], /^id,/);
  await page.uncheck("#in-all");

  // Open the run's steps.
  await page.getByRole("link", { name: /^[0-9a-f]{8}$/ }).first().click();
  const steps = page.getByRole("list", { name: "Steps" });
  await steps.getByText("listUsers").waitFor();
  await steps.getByText(/completed · HTTP 200/).waitFor();

  // A YAML error is shown in place with its position.
  await page.goto(`${base}/#/yaml/list-lumos-users`);
  await page.locator("#yaml").fill("id: list-lumos-users\nname: X\nsteps:\n  - id: a\n    call: listUser\n");
  await page.getByRole("button", { name: "Validate" }).click();
  await page.getByRole("alert").getByText(/line 5, column 11: .*unknown Lumos operation 'listUser'/).waitFor();
  console.log(JSON.stringify({ ok: true, rows: rows.length }));
} finally {
  await browser.close();
}
