// 11. Layout (issue 8.7 and 8.8), as people see the pages on a desktop (1280x800) and on a
// phone (390x844):
//
// a. the alert banner is laid over the page: nothing moves when it comes (the End button
//    stays under the pointer), and it never covers the video, on a desktop or a phone,
//    scrolled anywhere; on a phone the controls under it can still be reached; pausing
//    moves nothing either;
// b. the history with many sessions (eleven, several in the same minute): cards keep to the
//    column, nothing sticks out of its card or scrolls sideways, the chart's axes have
//    titles and no x label repeats; a drift the end cut short is not listed as "0 s";
// c. at 390 px every page (start, live, history, a session's details, the guides): no
//    sideways scroll, nothing outside its card, Start in sight without scrolling.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { documentScreenshot, keepEvidence } from "../lib/artifacts.js";
import { launchBrowser, VIEWPORT } from "../lib/browser.js";
import { makeClip, makeFrame } from "../lib/clips.js";
import { STILLS } from "../lib/env.js";
import { measureLayout, overlaps, rectOf } from "../lib/layout.js";
import { endEarly, fillSessionForm, readLive, startSession, waitForConfig } from "../lib/pages.js";
import { seedSessions } from "../lib/seed.js";
import { FocusServer } from "../lib/server.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { eventually } from "../lib/wait.js";

const PHONE = { width: 390, height: 844 };
// The fake webcam, looped: focused for 4 s, then an empty desk for 12 s (the banner comes
// after the 1 s threshold and goes on refocus).
const SEGMENTS = [
  { image: STILLS.attentive, seconds: 4 },
  { image: STILLS.noFace, seconds: 12 },
];
const PHASE_TIMEOUT = 25_000;

let tmp;
let server;
let browser;
let page;
let frames;
/** Sessions made for the history (b, c). */
let seeded = [];

before(async () => {
  tmp = makeTempDir("layout");
  const clip = makeClip(tmp, "focused-empty", SEGMENTS);
  frames = {
    attentive: makeFrame(tmp, "attentive", STILLS.attentive),
    away: makeFrame(tmp, "away", STILLS.lookingAway),
  };
  server = new FocusServer();
  await server.start();
  browser = await launchBrowser({ clip: clip.path });
  page = browser.page;
}, { timeout: 25 * 60_000 });

after(async () => {
  await browser?.close();
  await server?.cleanup();
  removeTempDir(tmp);
});

const evidence = (label, body) => keepEvidence(label, { page, server }, body);

/** Asserts that the page in its current viewport has no sideways scroll and nothing escapes. */
async function assertKeepsToColumn(what, options) {
  const layout = await measureLayout(page, options);
  assert.ok(layout.width <= layout.view, `${what}: the page is ${layout.width} px wide in a ${layout.view} px window`);
  assert.deepEqual(layout.escapes, [], `${what}: elements outside their box`);
}

/** Where the End button, the video and the banner are, scrolled to `scroll` ("top", "video" or "bottom"). */
async function positions(scroll) {
  await page.evaluate((scroll) => {
    if (scroll === "top") window.scrollTo(0, 0);
    else if (scroll === "bottom") window.scrollTo(0, document.documentElement.scrollHeight);
    else document.getElementById("video-wrap").scrollIntoView({ block: "start" });
  }, scroll);
  return {
    end: await rectOf(page, "#end-btn"),
    video: await rectOf(page, "#video-wrap"),
    banner: await rectOf(page, "#alert-banner"),
  };
}

const waitForBanner = (shown) => eventually(shown ? "the alert banner" : "focused, without the banner", async () => {
  const live = await readLive(page);
  assert.equal(live.bannerVisible, shown);
  if (!shown) assert.equal(live.state, "Focused");
}, { timeout: PHASE_TIMEOUT });

describe("layout on a desktop and on a phone", () => {
  test("11a. the alert banner overlays: nothing moves, the video stays in sight", { timeout: 180_000 }, () => evidence("layout-banner", async () => {
    await page.goto(server.url);
    await waitForConfig(page, { emailConfigured: false });
    await fillSessionForm(page, { duration: 5, threshold: 1, alertMode: "banner" });
    await startSession(page);

    for (const viewport of [VIEWPORT, PHONE]) {
      await page.setViewportSize(viewport);
      const where = `${viewport.width} px`;
      await waitForBanner(false);
      const calm = await positions("top");
      await waitForBanner(true);
      const alerted = await positions("top");
      assert.deepEqual(alerted.end, calm.end, `${where}: the End button moved when the banner came`);
      assert.deepEqual(alerted.video, calm.video, `${where}: the video moved when the banner came`);
      for (const scroll of ["top", "video", "bottom"]) {
        const now = await positions(scroll);
        assert.ok(now.banner, `${where}, scrolled to the ${scroll}: the banner is up`);
        assert.ok(!overlaps(now.banner, now.video),
          `${where}, scrolled to the ${scroll}: the banner (${JSON.stringify(now.banner)}) covers the video (${JSON.stringify(now.video)})`);
      }
      // Scrolled to the bottom, the controls are still there to press, not under the banner.
      await positions("bottom");
      const reachable = await page.evaluate(() => ["end-btn", "pause-btn"].concat(
        [...document.querySelectorAll("#snooze-buttons button")].map((b) => b)).map((target) => {
        const node = typeof target === "string" ? document.getElementById(target) : target;
        const r = node.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return { name: node.id || node.textContent.trim(), ok: Boolean(hit && node.contains(hit)) };
      }));
      for (const { name, ok } of reachable) assert.ok(ok, `${where}: '${name}' is covered at the bottom of the page`);
      await assertKeepsToColumn(`the live page at ${where}`);
      if (viewport === PHONE) {
        await positions("top");
        await documentScreenshot(page, "live-phone.png");
      }

      // Pausing puts its own words beside the timers: Pause and End stay under the pointer.
      await positions("top");
      const running = { pause: await rectOf(page, "#pause-btn"), end: await rectOf(page, "#end-btn") };
      await page.click("#pause-btn");
      await eventually("paused, with the paused time shown", async () => {
        const live = await readLive(page);
        assert.equal(live.state, "Paused");
        assert.match(live.unjudged, /paused\.$/);
      }, { timeout: 10_000 });
      await positions("top");
      const resume = await rectOf(page, "#pause-btn");
      const pointer = { x: (running.pause.left + running.pause.right) / 2, y: (running.pause.top + running.pause.bottom) / 2 };
      assert.ok(resume.left <= pointer.x && pointer.x <= resume.right && resume.top <= pointer.y && pointer.y <= resume.bottom,
        `${where}: Resume (${JSON.stringify(resume)}) is not under the pointer that pressed Pause (${JSON.stringify(pointer)})`);
      assert.deepEqual(await rectOf(page, "#end-btn"), running.end, `${where}: the End button moved on pause`);
      await page.click("#pause-btn");
      await eventually("resumed", async () => assert.notEqual((await readLive(page)).state, "Paused"));
    }
    await page.setViewportSize(VIEWPORT);
    await endEarly(page);
    await page.locator("#summary-card").waitFor({ state: "visible", timeout: 10_000 });
  }));

  test("11b. the history with ten sessions and more keeps to its column; the chart reads right", { timeout: 240_000 }, () => evidence("layout-history", async () => {
    // Ten more sessions, a few seconds each (so all in a minute or two), with different
    // shares of attentive and looking-away frames; one is ended just as a drift begins.
    const tab = await browser.context.newPage();
    try {
      await tab.goto(`${server.url}/help/email`);
      const plans = [
        { frames: [["attentive", 20]] },
        { frames: [["attentive", 10], ["away", 10]] },
        { frames: [["attentive", 16], ["away", 4]] },
        { frames: [["away", 8], ["attentive", 12]] },
        { frames: [["attentive", 6], ["away", 8], ["attentive", 6]] },
        { frames: [["attentive", 15], ["away", 5]] },
        { frames: [["away", 12], ["attentive", 8]] },
        { frames: [["attentive", 18], ["away", 2], ["attentive", 2]] },
        { frames: [["attentive", 5], ["away", 15]] },
        { frames: [["attentive", 10], ["away", 20]], endOnUnfocused: true },
      ];
      seeded = await seedSessions(tab, frames, plans);
    } finally {
      await tab.close();
    }
    const list = await server.api("/api/sessions?days=30&include_short=1");
    const finished = list.sessions.filter((s) => s.status !== "running" && s.totals.focused_ms + s.totals.unfocused_ms > 0);
    assert.ok(finished.length >= 10, `${finished.length} finished sessions with a verdict`);

    await page.setViewportSize(VIEWPORT);
    for (const path of ["/history?include_short=1", "/history"]) {
      await page.goto(`${server.url}${path}`);
      await page.locator("#sessions-body tr").nth(list.sessions.length - 1).waitFor({ timeout: 10_000 });
      await page.locator("#chart svg").waitFor({ timeout: 10_000 });
      await assertKeepsToColumn(`${path} at 1280 px`, { innerScroll: false });
    }

    // Every session plotted: axes with titles, and no x label twice although several
    // sessions started in the same minute.
    await page.goto(`${server.url}/history?include_short=1`);
    const points = page.locator("#chart svg circle.point");
    await eventually("every session plotted", async () => assert.equal(await points.count(), finished.length));
    const titles = await page.locator("#chart svg text.axis-title").allTextContents();
    assert.deepEqual(titles.sort(), ["Focus (%)", "Session start (time of day)"]);
    const minutes = new Set(finished.map((s) => Math.floor(s.started_at_ms / 60_000)));
    assert.ok(minutes.size < finished.length, "some sessions started in the same minute");
    const xLabels = await page.locator("#chart svg text.x-label").allTextContents();
    assert.ok(xLabels.length >= 1, "the x axis is labelled");
    assert.equal(new Set(xLabels).size, xLabels.length, `x labels repeat: ${JSON.stringify(xLabels)}`);
    // The README's picture of the history: many sessions (all short here, so included).
    await page.evaluate(() => window.scrollTo(0, 0));
    await documentScreenshot(page, "history.png");

    // The session ended as its drift began: the end cut that drift to less than the
    // debounce, which is no time the person drifted, so it is not a "0 s" row.
    const cut = await server.api(`/api/sessions/${seeded.at(-1)}`);
    const short = cut.events.filter((e) => e.kind === "unfocused" && e.duration_ms < 500);
    assert.ok(short.length >= 1, `the cut drift is stored: ${JSON.stringify(cut.events)}`);
    const drifted = await server.api(`/api/sessions/${seeded[1]}`);
    const drifts = drifted.events.filter((e) => e.kind === "unfocused" && e.duration_ms >= 500);
    assert.ok(drifts.length >= 1, `session ${drifted.id} has a drift: ${JSON.stringify(drifted.events)}`);
    for (const [session, rows] of [[cut, 0], [drifted, drifts.length]]) {
      await page.goto(`${server.url}/history?session=${session.id}`);
      await page.locator("#detail-card").waitFor({ state: "visible", timeout: 10_000 });
      await eventually(`session ${session.id}'s drifts`, async () => {
        const lengths = await page.locator("#detail-events tr td:nth-child(3)").allTextContents();
        assert.equal(lengths.length, rows, `drift rows ${JSON.stringify(lengths)}`);
        for (const length of lengths) assert.doesNotMatch(length, /^0 s$/, "a zero-second drift row");
      });
      if (rows === 0) assert.match(await page.textContent("#detail-events"), /None: focused throughout/);
      await assertKeepsToColumn(`session ${session.id}'s details at 1280 px`, { innerScroll: false });
    }
  }));

  test("11c. at 390 px every page keeps to the phone's width; Start is in sight", { timeout: 120_000 }, () => evidence("layout-phone", async () => {
    assert.ok(seeded.length > 0, "11b made sessions");
    await page.setViewportSize(PHONE);
    try {
      await page.goto(server.url);
      await waitForConfig(page, { emailConfigured: false });
      const start = await rectOf(page, "#start-btn");
      assert.ok(start && start.top >= 0 && start.bottom <= PHONE.height,
        `Start is in sight without scrolling (${JSON.stringify(start)})`);
      await assertKeepsToColumn("the start page at 390 px");

      await page.goto(`${server.url}/history`);
      await page.locator("#sessions-body tr").first().waitFor({ timeout: 10_000 });
      await assertKeepsToColumn("the history at 390 px");

      await page.goto(`${server.url}/history?session=${seeded[1]}`);
      await page.locator("#detail-card").waitFor({ state: "visible", timeout: 10_000 });
      await page.locator("#timeline svg").waitFor({ timeout: 10_000 });
      await assertKeepsToColumn("a session's details at 390 px");

      await page.goto(`${server.url}/calibrate`);
      await page.locator("#profile-name").waitFor({ timeout: 10_000 });
      await assertKeepsToColumn("the calibration page at 390 px");

      for (const topic of ["email", "sms"]) {
        await page.goto(`${server.url}/help/${topic}`);
        await page.locator("main h1").first().waitFor({ timeout: 10_000 });
        await assertKeepsToColumn(`the ${topic} guide at 390 px`);
      }
    } finally {
      await page.setViewportSize(VIEWPORT);
    }
  }));
});
