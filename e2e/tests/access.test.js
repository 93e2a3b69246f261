// 12. A server with an access token (FOCUS_ACCESS_TOKEN, required on the network): the pages ask
// for it once, say so when it is wrong, keep it in a cookie scripts cannot read, and then work
// as usual (the history's API calls and the session page's config carry the cookie).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { keepEvidence } from "../lib/artifacts.js";
import { launchBrowser } from "../lib/browser.js";
import { waitForConfig } from "../lib/pages.js";
import { FocusServer } from "../lib/server.js";

const TOKEN = "e2e-access-token-0123456789";

let server;
let browser;

before(async () => {
  server = new FocusServer({ env: { FOCUS_ACCESS_TOKEN: TOKEN } });
  await server.start();
  browser = await launchBrowser();
}, { timeout: 25 * 60_000 });

after(async () => {
  await browser?.close();
  await server?.cleanup();
});

test("12. access token: asked once, kept in an HttpOnly SameSite=Strict cookie", { timeout: 60_000 }, () => {
  const { page, context } = browser;
  return keepEvidence("access", { page, server }, async () => {
    const first = await page.goto(`${server.url}/history`);
    assert.equal(first.status(), 401);
    assert.match(await page.title(), /Access token/);
    const field = page.locator("#access-token");
    assert.equal(await field.getAttribute("type"), "password");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "access-token", "the field has the focus");

    // A wrong token: the page says so, in words, and nothing is kept.
    await field.fill("not-the-token-at-all-0000");
    await page.keyboard.press("Enter");
    await page.locator("#access-error").filter({ hasText: /\S/ }).waitFor({ timeout: 10_000 });
    assert.match(await page.textContent("#access-error"), /not this server's access token/);
    assert.deepEqual(await context.cookies(), []);

    // The right one: back on the page asked for, and it works.
    await page.fill("#access-token", TOKEN);
    await Promise.all([
      page.waitForURL(`${server.url}/history`, { timeout: 10_000 }),
      page.keyboard.press("Enter"),
    ]);
    await page.locator("#empty").waitFor({ state: "visible", timeout: 10_000 });
    assert.equal(await page.isVisible("#notice"), false, "the history loaded without an error");

    const cookies = await context.cookies();
    assert.equal(cookies.length, 1, JSON.stringify(cookies));
    const [cookie] = cookies;
    assert.equal(cookie.name, "focus_access");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.equal(cookie.path, "/");
    assert.ok(cookie.expires > Date.now() / 1000 + 300 * 24 * 3600, "kept for months, not the browser session");
    assert.equal(await page.evaluate(() => document.cookie), "", "scripts cannot read it");

    // The session page, asked nothing more: its config call carries the cookie.
    await page.goto(server.url);
    await waitForConfig(page, { emailConfigured: false });
    assert.equal(await page.isVisible("#start-btn"), true);

    // A browser without the cookie is asked again.
    await context.clearCookies();
    const again = await page.goto(server.url);
    assert.equal(again.status(), 401);
    assert.equal(await page.isVisible("#access-token"), true);
  });
});
