// 7. The start page as a first-time user on a phone (390x844) meets it: Start in sight
// without scrolling, no sideways scroll, a sentence on what counts as focused, the summary
// channels the server has not set up said in words with their guides, and a camera
// preview whose framing check says in words what the camera sees (a face ready to go, no
// face, too dark) and what to fix. Starting the session hands the camera over and the
// checks stop.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { documentScreenshot, keepEvidence } from "../lib/artifacts.js";
import { launchBrowser } from "../lib/browser.js";
import { makeClip } from "../lib/clips.js";
import { STILLS } from "../lib/env.js";
import { fillSessionForm, startSession, waitForConfig } from "../lib/pages.js";
import { FocusServer } from "../lib/server.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { eventually } from "../lib/wait.js";

// The fake webcam, looped: a face ready to go, an empty desk, the same face in a dim room
// (a fifth of its brightness: the server's threshold is a face luma of 60 of 255).
const SEGMENTS = [
  { image: STILLS.framed, seconds: 5 },
  { image: STILLS.noFace, seconds: 5 },
  { image: STILLS.framed, seconds: 5, filter: "lutrgb=r=val*0.2:g=val*0.2:b=val*0.2" },
];
const PHASE_TIMEOUT = 25_000;
const PHONE = { width: 390, height: 844 };

let tmp;
let server;
let browser;

before(async () => {
  tmp = makeTempDir("start");
  const clip = makeClip(tmp, "ready-noface-dark", SEGMENTS);
  server = new FocusServer();
  await server.start();
  browser = await launchBrowser({ clip: clip.path });
}, { timeout: 25 * 60_000 });

after(async () => {
  await browser?.close();
  await server?.cleanup();
  removeTempDir(tmp);
});

/** What the camera check shows: the headline, the four checks, the advice. */
function readFraming(page) {
  return page.evaluate(() => ({
    headline: document.getElementById("framing-headline").textContent.trim(),
    checks: [...document.querySelectorAll("#framing-checks li")].map((li) => li.textContent.trim()),
    advice: [...document.querySelectorAll("#framing-advice li")].map((li) => li.textContent.trim()),
    previewVisible: !document.getElementById("preview-wrap").hidden,
  }));
}

test("7. start page on a phone: Start in sight, camera preview with a framing check in words", { timeout: 150_000 }, () => {
  const { page } = browser;
  return keepEvidence("start-page", { page, server }, async () => {
    const checks = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/api/frames/check")) checks.push(Date.now());
    });
    await page.setViewportSize(PHONE);
    await page.goto(server.url);
    await waitForConfig(page, { emailConfigured: false });
    // Neither channel is set up on this server: each hint says so in the server's names for
    // it (focus_types::Channel, through GET /api/config) and links its guide.
    const hints = await page.evaluate(() => ["email-hint", "phone-hint"].map((id) => {
      const hint = document.getElementById(id);
      return { text: hint.textContent, link: hint.querySelector("a")?.getAttribute("href") };
    }));
    assert.deepEqual(hints, [
      { text: "Email is not set up on this server. How to set up email.", link: "/help/email" },
      { text: "SMS is not set up on this server. How to set up SMS.", link: "/help/sms" },
    ]);

    const layout = await page.evaluate(() => {
      const start = document.getElementById("start-btn").getBoundingClientRect();
      return {
        startTop: start.top,
        startBottom: start.bottom,
        pageWidth: document.documentElement.scrollWidth,
        rule: document.getElementById("focus-rule").textContent,
      };
    });
    assert.ok(layout.startTop >= 0 && layout.startBottom <= PHONE.height,
      `Start is in sight without scrolling (at ${layout.startTop}-${layout.startBottom} px of ${PHONE.height})`);
    assert.ok(layout.pageWidth <= PHONE.width, `the page is ${layout.pageWidth} px wide`);
    assert.match(layout.rule, /focused while your face is in view, your eyes are open and you are turned toward the screen/);

    // The camera is allowed for the site already (Chromium's fake prompt says yes), so the
    // preview starts by itself; the button turns it off and on.
    await eventually("the preview starting by itself", async () => {
      assert.equal((await readFraming(page)).previewVisible, true);
      assert.equal((await page.textContent("#preview-btn")).trim(), "Stop the camera");
    });
    await page.click("#preview-btn");
    const off = await readFraming(page);
    assert.equal(off.previewVisible, false);
    assert.match(off.headline, /^See yourself as the camera does/);
    const whileOff = checks.length;
    await page.waitForTimeout(2000);
    assert.equal(checks.length, whileOff, "no framing check while the camera is off");
    assert.equal(await page.evaluate(() => document.getElementById("preview").srcObject), null);

    await page.click("#preview-btn");
    await eventually("the framing check: ready", async () => {
      const now = await readFraming(page);
      assert.equal(now.previewVisible, true);
      assert.match(now.headline, /^Ready: your face is found, centred and well lit/);
      assert.deepEqual(now.checks, ["Face found: yes", "Centred: yes", "Near enough: yes", "Enough light: yes"]);
      assert.deepEqual(now.advice, []);
    }, { timeout: PHASE_TIMEOUT });
    assert.equal((await page.textContent("#preview-btn")).trim(), "Stop the camera");
    // The README's pictures: the phone's first screen, and the page on a desktop.
    await page.evaluate(() => window.scrollTo(0, 0));
    await documentScreenshot(page, "start-phone.png");
    await page.setViewportSize({ width: 1280, height: 800 });
    await eventually("the framing check: ready, on a desktop", async () => {
      assert.match((await readFraming(page)).headline, /^Ready/);
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 1280);
    }, { timeout: PHASE_TIMEOUT });
    await documentScreenshot(page, "start.png");
    await page.setViewportSize(PHONE);

    await eventually("the framing check: no face", async () => {
      const now = await readFraming(page);
      assert.equal(now.headline, "No face found.");
      assert.deepEqual(now.checks, ["Face found: no", "Centred: –", "Near enough: –", "Enough light: yes"]);
      assert.match(now.advice[0], /Sit in front of the camera/);
    }, { timeout: PHASE_TIMEOUT });

    await eventually("the framing check: too dark", async () => {
      const now = await readFraming(page);
      assert.ok(now.checks.includes("Enough light: no"), now.checks.join(", "));
      assert.match(now.headline, /too dark|not enough light/);
      assert.ok(now.advice.some((a) => /light/.test(a)), now.advice.join(" | "));
    }, { timeout: PHASE_TIMEOUT });
    const since = checks.slice(whileOff);
    assert.ok(since.length >= 3, `${since.length} checks`);
    // Once a second at most: the next check waits for the previous answer plus a second.
    const gaps = since.slice(1).map((t, i) => t - since[i]);
    assert.ok(gaps.every((gap) => gap >= 900), `gaps between checks: ${gaps.join(", ")} ms`);

    // Starting takes the camera as it is; the checks stop.
    await fillSessionForm(page, { duration: 1, threshold: 5, alertMode: "banner" });
    await startSession(page);
    const atStart = checks.length;
    await page.waitForTimeout(2500);
    assert.ok(checks.length - atStart <= 1, `${checks.length - atStart} checks after the session started`);
    assert.equal(await page.isVisible("#setup-card"), false);
  });
});
