// 13. Calibration in the app, as a person does it, in headless Chromium with a fake webcam:
//
// 13a. the quick calibration (the centre dot, 3 s) on an attentive face saves a profile; it
//      appears in the start page's chooser (chosen, through the page's link), is remembered
//      with the saved defaults, and a session started with it records its profile_id;
// 13b. the full calibration shows the dot at the centre then the four corners; on a still
//      face the corners do not separate from the centre, which the page says in words, and
//      nothing is saved; Escape cancels a calibration and saves nothing;
// 13c. a camera that shows no face: the page says so during the dots and in the outcome,
//      and nothing is saved; the camera is released when leaving the page.
//
// One server and database for all; 13a and 13b share a browser whose camera shows an
// attentive face, 13c has its own with an empty desk.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { keepEvidence } from "../lib/artifacts.js";
import { launchBrowser } from "../lib/browser.js";
import { makeClip } from "../lib/clips.js";
import { STILLS } from "../lib/env.js";
import { endEarly, fillSessionForm, recordLiveMessages, startSession, waitForConfig } from "../lib/pages.js";
import { FocusServer } from "../lib/server.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { eventually } from "../lib/wait.js";

let tmp;
let server;
let attentive;
let empty;
let face;
let messages;
let emptyMessages;

before(async () => {
  tmp = makeTempDir("calibrate");
  const faceClip = makeClip(tmp, "attentive", [{ image: STILLS.attentive, seconds: 4 }]);
  const emptyClip = makeClip(tmp, "empty", [{ image: STILLS.noFace, seconds: 4 }]);
  server = new FocusServer();
  await server.start();
  face = await launchBrowser({ clip: faceClip.path });
  messages = recordLiveMessages(face.page);
  empty = await launchBrowser({ clip: emptyClip.path });
  emptyMessages = recordLiveMessages(empty.page);
  attentive = face.page;
}, { timeout: 25 * 60_000 });

after(async () => {
  await face?.close();
  await empty?.close();
  await server?.cleanup();
  removeTempDir(tmp);
});

const evidence = (label, page, recorded, body) => keepEvidence(label, {
  page,
  server,
  notes: () => recorded.map(({ at, msg }) => `${new Date(at).toISOString()} ${JSON.stringify(msg)}`).join("\n"),
}, body);

/** What the calibration sockets' server said, in order. */
const calibrationReplies = (recorded) =>
  recorded.filter(({ url }) => url.endsWith("/api/profiles/calibrate")).map(({ msg }) => msg);

async function profiles() {
  return (await server.api("/api/profiles")).profiles;
}

/** The outcome card's title and text, once it is shown. */
async function outcome(page, timeout = 40_000) {
  await page.locator("#calibrate-outcome").waitFor({ state: "visible", timeout });
  return {
    title: (await page.textContent("#outcome-title")).trim(),
    text: (await page.textContent("#outcome-text")).trim(),
  };
}

/** The dot's positions while the stage is shown (sampled every 50 ms), until it hides. */
function watchDots(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const seen = [];
    const stage = document.getElementById("calibrate-stage");
    const dot = document.getElementById("calibrate-dot");
    const timer = setInterval(() => {
      if (stage.hidden) {
        if (seen.length) {
          clearInterval(timer);
          resolve(seen);
        }
        return;
      }
      const point = dot.dataset.point;
      if (seen[seen.length - 1] !== point) seen.push(point);
    }, 50);
  }));
}

describe("calibrating in the app", () => {
  test("13a. a quick calibration saves a profile; the start page offers it and a session records it", { timeout: 180_000 }, () => evidence("calibrate-quick", attentive, messages, async () => {
    const page = attentive;
    await page.goto(`${server.url}/calibrate`);
    await eventually("the default name", async () => {
      assert.equal(await page.inputValue("#profile-name"), "My screen");
    });
    assert.equal(await page.isVisible("#profiles-empty"), true, "no profiles yet, said in words");
    await page.fill("#profile-name", "Desk");
    const dots = watchDots(page);
    await page.click("#quick-btn");
    await page.locator("#calibrate-stage").waitFor({ state: "visible", timeout: 10_000 });
    // The stage covers the whole window.
    const stage = await page.locator("#calibrate-stage").boundingBox();
    const view = await page.evaluate(() => [window.innerWidth, window.innerHeight]);
    assert.deepEqual([stage.x, stage.y, stage.width, stage.height], [0, 0, ...view]);
    assert.match(await page.textContent("#stage-prompt"), /Look at the dot/);

    const shown = await outcome(page);
    assert.equal(shown.title, "Saved \u201cDesk\u201d", JSON.stringify(shown));
    assert.match(shown.text, /^Quick calibration done/);
    assert.deepEqual(await dots, ["center"], "the quick calibration shows the centre dot only");
    const replies = calibrationReplies(messages);
    const frames = replies.filter((m) => m.frame);
    assert.ok(frames.length >= 3, `at least 3 frames analysed (${frames.length})`);
    assert.ok(frames.every((m) => m.frame.point === "center" && m.frame.face), JSON.stringify(frames));

    const saved = await profiles();
    assert.equal(saved.length, 1);
    assert.deepEqual([saved[0].name, saved[0].mode, saved[0].usable], ["Desk", "quick", true]);
    const id = saved[0].id;
    await eventually("the profile in the page's list", async () => {
      assert.match(await page.textContent("#profile-list"), /Desk/);
    });

    // "Start a session with it": the start page with the new profile chosen.
    await page.click("#use-btn");
    await page.waitForURL(`${server.url}/`);
    await waitForConfig(page, { emailConfigured: false });
    await eventually("the new profile chosen", async () => {
      assert.equal(await page.inputValue("#profile"), String(id));
    });
    const options = await page.$$eval("#profile option", (os) => os.map((o) => o.textContent));
    assert.deepEqual(options, ["No profile (the default rules)", "Desk (quick calibration)"]);
    assert.equal(await page.isVisible("#calibrate-link"), true, "Calibrate next to the chooser");

    // Remembered with the saved defaults, and sent as profile_id on start.
    await fillSessionForm(page, { duration: 1, threshold: 5, alertMode: "banner", saveDefaults: true });
    const sessionId = await startSession(page);
    const session = await server.api(`/api/sessions/${sessionId}`);
    assert.equal(session.profile_id, id, "the session records the profile it uses");
    await endEarly(page);
    await page.goto(server.url);
    await waitForConfig(page, { emailConfigured: false });
    await eventually("the profile remembered after a reload", async () => {
      assert.equal(await page.inputValue("#profile"), String(id));
    });
    // And "No profile" is remembered too.
    await page.selectOption("#profile", "");
    await fillSessionForm(page, { duration: 1, threshold: 5, alertMode: "banner", saveDefaults: true });
    const second = await startSession(page);
    assert.equal((await server.api(`/api/sessions/${second}`)).profile_id, null);
    await endEarly(page);
  }));

  test("13b. the full calibration shows five dots; points that do not separate are refused in words; Escape cancels", { timeout: 180_000 }, () => evidence("calibrate-full", attentive, messages, async () => {
    const page = attentive;
    const saved = (await profiles()).length;
    await page.goto(`${server.url}/calibrate`);
    await eventually("a free default name", async () => {
      assert.equal(await page.inputValue("#profile-name"), "My screen");
    });
    const dots = watchDots(page);
    await page.click("#full-btn");
    const shown = await outcome(page, 60_000);
    assert.deepEqual(await dots, ["center", "top_left", "top_right", "bottom_left", "bottom_right"]);
    assert.equal(shown.title, "Calibration not saved");
    assert.match(shown.text, /^The points did not separate \(the left and right corners were \d+ degrees apart, at least 5 needed\): look right at each dot while it is shown, then try again\.$/);
    assert.equal(await page.isVisible("#use-btn"), false);
    assert.equal((await profiles()).length, saved, "nothing saved");

    // Calibrate again, then Escape part-way: the stage goes, nothing is saved.
    await page.click("#retry-btn");
    assert.equal(await page.isVisible("#calibrate-outcome"), false);
    await page.click("#full-btn");
    await page.locator("#calibrate-stage").waitFor({ state: "visible", timeout: 10_000 });
    await eventually("the second dot", async () => {
      assert.equal(await page.getAttribute("#calibrate-dot", "data-point"), "top_left");
    }, { timeout: 15_000, interval: 50 });
    await page.keyboard.press("Escape");
    await page.locator("#calibrate-stage").waitFor({ state: "hidden", timeout: 5_000 });
    assert.equal((await page.textContent("#notice-title")).trim(), "Calibration cancelled");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "full-btn",
      `focus back on the button, not ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 80))}`);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await profiles()).length, saved, "a cancelled calibration saves nothing");
  }));

  test("13c. no face in view: said during the dots and in the outcome, nothing saved; the camera is released on leaving", { timeout: 120_000 }, () => evidence("calibrate-no-face", empty.page, emptyMessages, async () => {
    const page = empty.page;
    const saved = (await profiles()).length;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/calibrate`);
    await eventually("the default name", async () => {
      assert.equal(await page.inputValue("#profile-name"), "My screen");
    });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page keeps to a phone's width (${width} px)`);
    await page.click("#quick-btn");
    await eventually("the no-face warning on the stage", async () => {
      assert.equal((await page.textContent("#stage-face")).trim(),
        "No face seen: sit facing the screen, with your face lit and in view.");
    }, { timeout: 20_000, interval: 100 });
    const shown = await outcome(page);
    assert.equal(shown.title, "Calibration not saved");
    assert.equal(shown.text, "No face was seen while you looked at the centre: sit facing the screen, with your face lit and in view.");
    const refused = calibrationReplies(emptyMessages).find((m) => m.refused);
    assert.equal(refused.refused.reason, "no_face");
    assert.equal((await profiles()).length, saved, "nothing saved");

    // The camera is on now; leaving the page turns it off.
    const live = () => page.evaluate(() => {
      const video = document.getElementById("video");
      return Boolean(video && video.srcObject && video.srcObject.getVideoTracks().some((t) => t.readyState === "live"));
    });
    assert.equal(await live(), true);
    const tracks = await page.evaluateHandle(() => document.getElementById("video").srcObject.getVideoTracks());
    await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent("pagehide")));
    assert.deepEqual(await tracks.evaluate((ts) => ts.map((t) => t.readyState)), ["ended"]);
  }));
});
