// 8. Alerts that escalate while a drift goes on, and a snooze: the banner at the threshold,
// then the sound, then (with the tab hidden) a desktop notification, each after the delay the
// person chose (remembered in this browser); snoozing keeps them all quiet and takes the
// banner down, "Alerts back on" brings the alert of a drift still going on.
// 8b. Pause and resume, by the button and by the P key: paused time is neither focused nor
// unfocused (the timers hold, the banner goes), and the summary shows it.
//
// The page's sound and notifications are observed, not faked away: an init script counts the
// oscillators the page starts (a beep is two tones) and records the notifications it shows
// (Chromium headless has no notification centre, so Notification is replaced by a recorder
// that reports permission as granted).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { keepEvidence } from "../lib/artifacts.js";
import { launchThrottledBrowser } from "../lib/browser.js";
import { makeClip } from "../lib/clips.js";
import { STILLS } from "../lib/env.js";
import { durationText } from "../lib/format.js";
import {
  clockSeconds, colourOf, endEarly, fillSessionForm, readLive, startSession, waitForConfig,
} from "../lib/pages.js";
import { FocusServer } from "../lib/server.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { eventually } from "../lib/wait.js";

let tmp;
let server;
let browser;
/** The session of 8 and 8b. */
let sessionId = null;

before(async () => {
  tmp = makeTempDir("alerts");
  // Nobody at the desk, the whole time: one drift that goes on.
  const clip = makeClip(tmp, "empty-desk", [{ image: STILLS.noFace, seconds: 4 }]);
  server = new FocusServer();
  await server.start();
  // Throttling on, as people run Chromium: the only way a tab really hides behind another.
  browser = await launchThrottledBrowser({ clip: clip.path });
}, { timeout: 25 * 60_000 });

after(async () => {
  try {
    await browser?.close();
  } finally {
    // Whatever the browser's cleanup does, the server goes (else the file never exits).
    await server?.cleanup();
    removeTempDir(tmp);
  }
});

function observeSoundAndNotifications() {
  window.__tones = 0;
  window.__notifications = [];
  const Ctx = window.AudioContext;
  const create = Ctx.prototype.createOscillator;
  Ctx.prototype.createOscillator = function (...args) {
    window.__tones += 1;
    return create.apply(this, args);
  };
  window.Notification = class {
    static permission = "granted";
    static requestPermission() { return Promise.resolve("granted"); }
    constructor(title, options) {
      window.__notifications.push({ title, body: options?.body, hidden: document.hidden });
    }
    addEventListener() {}
    close() {}
  };
}

const observed = (page) => page.evaluate(() => ({ beeps: window.__tones / 2, notifications: window.__notifications }));

test("8. alerts escalate (banner, sound, desktop notification when hidden) and snooze", { timeout: 180_000 }, () => {
  const { page, context } = browser;
  return keepEvidence("alerts", { page, server }, async () => {
    await page.addInitScript(observeSoundAndNotifications);
    await page.goto(server.url);
    await waitForConfig(page, { emailConfigured: false });
    // The defaults, then the person's choice, kept across a reload.
    assert.equal(await page.inputValue("#escalate-sound"), "15");
    assert.equal(await page.inputValue("#escalate-notify"), "30");
    await page.selectOption("#escalate-sound", "5");
    await page.selectOption("#escalate-notify", "5");
    await page.reload();
    await waitForConfig(page, { emailConfigured: false });
    assert.equal(await page.inputValue("#escalate-sound"), "5");
    assert.equal(await page.inputValue("#escalate-notify"), "5");

    await fillSessionForm(page, { duration: 5, threshold: 1, alertMode: "banner" });
    sessionId = await startSession(page);

    // Step 1: the banner alone.
    await eventually("the banner", async () => {
      assert.equal((await readLive(page)).bannerVisible, true);
    }, { timeout: 20_000 });
    assert.equal((await observed(page)).beeps, 0, "no sound with the banner in banner mode");

    // Step 2: the sound, 5 s past the threshold, once.
    const sound = await eventually("the sound", async () => {
      const now = await observed(page);
      assert.equal(now.beeps, 1);
      return now;
    }, { timeout: 15_000 });
    assert.deepEqual(sound.notifications, [], "no desktop notification while the tab is in sight");
    await page.waitForTimeout(1500);
    assert.equal((await observed(page)).beeps, 1, "the sound step plays once a drift");

    // Step 3: hidden behind another tab, a desktop notification.
    const other = await context.newPage();
    await other.goto("about:blank");
    await other.bringToFront();
    await eventually("the tab hidden", async () => {
      assert.equal(await page.evaluate(() => document.hidden), true);
    });
    const hidden = await eventually("the desktop notification", async () => {
      const now = await observed(page);
      assert.equal(now.notifications.length, 1);
      return now;
    }, { timeout: 15_000 });
    assert.equal(hidden.notifications[0].title, "Focus Sentry");
    assert.match(hidden.notifications[0].body, /^Eyes back on the screen: unfocused for \d+ (s|min)( \d+ s)? \(no face in view\)\.$/);
    assert.equal(hidden.notifications[0].hidden, true);
    await page.bringToFront();
    await other.close();

    // Snooze: everything quiet, the banner down at once, although the drift goes on.
    await page.click("#snooze-buttons button[data-minutes='5']");
    assert.equal((await readLive(page)).bannerVisible, false);
    assert.match(await page.textContent("#snoozed-text"), /^Alerts snoozed until \d{1,2}:\d{2}/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "unsnooze-btn");
    await page.waitForTimeout(3000);
    const quiet = await readLive(page);
    assert.equal(quiet.bannerVisible, false, "no banner while snoozed");
    assert.equal(quiet.state, "Not focused", "the drift goes on");

    // Back on: the drift still going on alerts at once.
    await page.click("#unsnooze-btn");
    await eventually("the banner after the snooze", async () => {
      assert.equal((await readLive(page)).bannerVisible, true);
    }, { timeout: 5_000 });
    assert.equal(await page.isVisible("#snoozed"), false);
  });
});

test("8b. pause and resume: the button and P; paused time is neither focused nor unfocused", { timeout: 120_000 }, () => {
  const { page } = browser;
  return keepEvidence("pause", { page, server }, async () => {
    assert.ok(sessionId, "8 started a session");
    await eventually("the drift alerting", async () => {
      assert.equal((await readLive(page)).bannerVisible, true);
    }, { timeout: 10_000 });
    assert.equal((await readLive(page)).pauseLabel, "Pause");
    assert.equal(await page.getAttribute("#pause-btn", "aria-keyshortcuts"), "P");

    // The button: paused at once, the banner gone, neither green nor red.
    await page.click("#pause-btn");
    const paused = await eventually("the page paused", async () => {
      const live = await readLive(page);
      assert.equal(live.state, "Paused");
      assert.match(live.reason, /^Not counted for \d+:\d{2}\. Resume \(P\) to go on\.$/);
      assert.equal(colourOf(live.dot), "blue", `dot colour ${live.dot}`);
      assert.equal(live.bannerVisible, false, "a pause ends the drift and its alert");
      assert.equal(live.pauseLabel, "Resume");
      return live;
    }, { timeout: 5_000 });
    assert.equal((await server.api(`/api/sessions/${sessionId}`)).status, "running");
    await page.waitForTimeout(3_000);
    const held = await readLive(page);
    assert.equal(held.state, "Paused");
    assert.deepEqual([held.focused, held.unfocused], [paused.focused, paused.unfocused],
      "the focused and unfocused timers hold while paused");
    assert.match(held.unjudged, /^Not counted: (\d+:\d{2} starting, )?0:0[2-9] paused\.$/);

    // P (not in a form field) resumes: no verdict until the next frames are judged, then
    // the drift goes on from zero.
    await page.focus("#live-title");
    await page.keyboard.press("p");
    await eventually("the page resumed", async () => {
      const live = await readLive(page);
      assert.match(live.state, /^(Starting…|Not focused)$/);
      assert.equal(live.pauseLabel, "Pause");
    }, { timeout: 5_000 });
    await eventually("judged again after the resume", async () => {
      const live = await readLive(page);
      assert.equal(live.state, "Not focused");
      assert.ok(clockSeconds(live.unfocused) > clockSeconds(held.unfocused), "the unfocused timer moves again");
    }, { timeout: 10_000 });

    // In the summary: the paused time, as the server counted it.
    await endEarly(page);
    await page.locator("#summary-card").waitFor({ state: "visible", timeout: 10_000 });
    const s = (await server.api(`/api/sessions/${sessionId}`)).summary;
    assert.ok(s.paused_seconds >= 3, `paused ${s.paused_seconds} s`);
    assert.equal((await page.textContent("#sum-paused")).trim(), durationText(s.paused_seconds * 1000));
    assert.equal((await page.textContent("#sum-reason")).trim(), "You ended it early.");
  });
});
