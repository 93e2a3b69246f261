// 5. A person who says no to the camera prompt is told so in words, with a way to try
// again, and no session is started behind their back.
//
// Chromium answers the prompt with "no" (--deny-permission-prompts, instead of the
// auto-accepting --use-fake-ui-for-media-stream); the fake camera itself is there.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { keepEvidence } from "../lib/artifacts.js";
import { launchBrowser } from "../lib/browser.js";
import { makeClip } from "../lib/clips.js";
import { STILLS } from "../lib/env.js";
import { fillSessionForm, readLive, waitForConfig } from "../lib/pages.js";
import { FocusServer } from "../lib/server.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { eventually } from "../lib/wait.js";

let tmp;
let server;
let browser;

before(async () => {
  tmp = makeTempDir("denied");
  const clip = makeClip(tmp, "attentive", [{ image: STILLS.attentive, seconds: 2 }]);
  server = new FocusServer();
  await server.start();
  browser = await launchBrowser({ clip: clip.path, camera: "deny" });
}, { timeout: 25 * 60_000 });

after(async () => {
  await browser?.close();
  await server?.cleanup();
  removeTempDir(tmp);
});

test("5. camera permission denied: a clear message, a way to try again, no session", { timeout: 60_000 }, () => {
  const { page } = browser;
  return keepEvidence("camera-denied", { page, server }, async () => {
    await page.goto(server.url);
    await waitForConfig(page, { emailConfigured: false });
    await fillSessionForm(page, { duration: 1, threshold: 2, alertMode: "banner" });
    await page.click("#start-btn");

    const shown = await eventually("the camera-denied notice", async () => {
      const live = await readLive(page);
      assert.equal(live.noticeVisible, true);
      assert.equal(live.noticeTitle, "Camera access was denied");
      return live;
    }, { timeout: 15_000 });
    assert.match(shown.noticeText, /needs the camera/);
    assert.match(shown.noticeText, /Allow camera access for this site/);
    assert.equal(shown.liveVisible, false, "no live view without a camera");
    assert.equal(await page.isVisible("#setup-card"), true, "the form stays, ready to start again");
    assert.equal(await page.isEnabled("#start-btn"), true);
    assert.equal((await page.textContent("#start-btn")).trim(), "Start focus session");
    const retry = page.locator("#notice-action");
    assert.equal(await retry.isVisible(), true, "a button to try again");
    assert.equal((await retry.textContent()).trim(), "Try again");
    // The notice is announced to screen readers.
    assert.equal(await page.getAttribute("#notice", "aria-live"), "assertive");

    // Trying again while still denied says the same, and still starts nothing.
    await retry.click();
    await eventually("the notice again after Try again", async () => {
      const live = await readLive(page);
      assert.equal(live.noticeVisible, true);
      assert.equal(live.noticeTitle, "Camera access was denied");
    }, { timeout: 15_000 });
    const { sessions } = await server.api("/api/sessions?days=all");
    assert.equal(sessions.length, 0, "no session was created");
  });
});
