// Signs in to the lumosflow console through a real OpenID provider (oidc-provider) in
// Debian's headless Chromium, as people with different groups, and tries to break it.
//   node tests/console/sso.test.mjs <server url> <provider name> [screenshot.png]
// Prints "session <login> <cookie value>" for the sessions the Rust side checks further.
// Exits 0 when every check passes.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const [base, providerName, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});

// A fresh browser profile per person: the provider remembers who signed in.
async function fresh() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  return { context, page };
}

// From the console's sign-in screen through the provider's forms; returns when the
// provider has sent the browser back to lumosflow.
async function signInAs(page, login, openAt = "/#/runs") {
  await page.goto(`${base}${openAt}`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByRole("link", { name: `Sign in with ${providerName}` }).click();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
}

async function sessionCookie(context) {
  return (await context.cookies()).find((c) => c.name === "lf_session");
}

try {
  // An IT admin: back on the page they were opening, shown by name, email and role.
  {
    const { context, page } = await fresh();
    await page.goto(`${base}/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    // Key sign-in stays below SSO.
    await page.getByRole("heading", { name: "Or with an API key" }).waitFor();
    if (screenshot) await page.screenshot({ path: screenshot.replace(/\.png$/, "-signin.png") });
    await signInAs(page, "ann-admin", "/#/runs");
    await page.getByRole("heading", { name: "Runs" }).waitFor();
    assert.match(page.url(), /#\/runs$/);
    await page.getByText("Ann Admin · ann-admin@example-corp.com (admin)").waitFor();
    const cookie = await sessionCookie(context);
    assert.ok(cookie && cookie.httpOnly && cookie.sameSite === "Strict", JSON.stringify(cookie));
    assert.ok(!(await context.cookies()).some((c) => c.name === "lf_oidc"), "the sign-in cookie is cleared");
    if (screenshot) await page.screenshot({ path: screenshot });
    console.log(`session ann-admin ${cookie.value}`);
    await context.close();
  }

  // A service-desk agent gets the agent role; signing out ends the session.
  {
    const { context, page } = await fresh();
    await signInAs(page, "dan-desk", "/");
    await page.getByText("Dan Desk · dan-desk@example-corp.com (agent)").waitFor();
    const cookie = await sessionCookie(context);
    console.log(`session dan-desk ${cookie.value}`);
    // A second session for the Rust side to end by deactivating Dan.
    const second = await fresh();
    await signInAs(second.page, "dan-desk", "/");
    await second.page.getByText("(agent)").waitFor();
    console.log(`session dan-desk-2 ${(await sessionCookie(second.context)).value}`);
    await second.context.close();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    const me = await page.request.get(`${base}/console/me`, { headers: { cookie: `lf_session=${cookie.value}` } });
    assert.equal(me.status(), 401, "a signed-out session is over");
    await context.close();
  }

  // No mapped group, and the default role is none: refused, told why.
  {
    const { context, page } = await fresh();
    await signInAs(page, "ned-nobody");
    await page.getByRole("heading", { name: "No access to lumosflow" }).waitFor();
    await page.getByText(/ned-nobody@example-corp\.com signed in, but none of their 'groups' values gives a lumosflow role/).waitFor();
    assert.equal(await sessionCookie(context), undefined);
    await context.close();
  }

  // An email the provider has not verified is refused.
  {
    const { context, page } = await fresh();
    await signInAs(page, "ugo-unverified");
    await page.getByRole("heading", { name: "Sign-in failed" }).waitFor();
    await page.getByText(/has not verified ugo-unverified@example-corp\.com/).waitFor();
    assert.equal(await sessionCookie(context), undefined);
    await context.close();
  }

  // A state that is not this browser's is refused; the genuine callback then works once,
  // and a replay of it, even with the browser's own sign-in cookie, never does.
  {
    const { context, page } = await fresh();
    let callback = null;
    page.on("request", (r) => { if (r.url().includes("/console/oidc/callback")) callback ??= r.url(); });
    await page.goto(`${base}/`);
    await page.getByRole("link", { name: `Sign in with ${providerName}` }).click();
    await page.locator('input[name="login"]').waitFor();
    const mine = (await context.cookies()).find((c) => c.name === "lf_oidc");
    assert.ok(mine && mine.httpOnly, "the sign-in is bound to this browser");
    await context.addCookies([{ ...mine, value: "someone-elses-state" }]);
    await page.locator('input[name="login"]').fill("dan-desk");
    await page.locator('input[name="password"]').fill("any password");
    await page.getByRole("button", { name: "Sign-in" }).click();
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "Sign-in not started in this browser" }).waitFor();
    assert.ok(callback, "the provider sent the browser back");
    assert.equal(await sessionCookie(context), undefined);
    await context.addCookies([mine]);
    await page.goto(callback);
    await page.getByText("Dan Desk · dan-desk@example-corp.com (agent)").waitFor();
    await context.addCookies([mine]);
    const r = await page.goto(callback);
    assert.equal(r.status(), 400, "a replayed callback is refused");
    await page.getByRole("heading", { name: "Sign-in link already used or expired" }).waitFor();
    await context.close();
  }
  console.log("ok");
} catch (e) {
  // What the browser showed when a check failed.
  for (const c of browser.contexts()) for (const p of c.pages()) console.error(`page ${p.url()}:\n${await p.innerText("body").catch(() => "")}`);
  throw e;
} finally {
  // A browser that hangs on close must not hang the test run: give it 10 s.
  await Promise.race([browser.close(), new Promise((resolve) => setTimeout(resolve, 10000))]);
}
// Nothing left to wait for (a stuck browser child included).
process.exit(process.exitCode ?? 0);
