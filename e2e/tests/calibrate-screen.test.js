// 13d. A full calibration that succeeds, in headless Chromium, with a fake camera that looks
// where the dot is (lib/looking.js: the camera's one frame is rewritten when the page moves
// the dot, as a person's eyes follow it). The views are frames of one woman's glances
// (tests/fixtures/stream), measured with `focus-sentry calibrate` / `analyze` after padding
// to 640x480: at the five dots her gaze (head and eyes) lies at yaw 32..47 deg, pitch
// -0.4..12.3 deg (6..18 with the head-pose fit before 2026-12-01), a glance to one side, so
// the profile puts the screen to the side of the camera. The "camera" view (frame 206: she
// looks into the camera, gaze yaw 10 deg) reads focused with the default rules (which assume
// the camera at the screen) and looking_away with that profile.
//
// 13d. The calibration saves a full profile whose screen region spans the views' gaze; the
//      start page chooses it; a session records it, names it on the live card and judges
//      the camera view looking_away, while a session with no profile ("Not calibrated", with
//      a link to calibrate) judges the same view focused.
// 13e. "Add a zone" on the calibration page: the camera looks where her notes are (frame
//      231, gaze yaw -33 deg) until the beep; the zone "notes" is saved into the profile,
//      listed with it and offered with it on the start page; a session then judges that view
//      focused on the notes, and the live card reads "Focused (notes)" and counts the time on
//      the notes beside the focused timer, as a part of it. Removing the zone (its button in
//      the list) leaves the profile's screen as it was.
// 13f. What a session was judged with: the end-of-session summary says 'Judged with profile
//      "Side desk" (full calibration; zones: notes).' (or "Not calibrated", 13d) and how long
//      of the focused time was on the notes (the API's zone_time, within focused_ms);
//      renaming the zone and the profile on the calibration page (a name another profile has
//      is refused beside the field, Escape closes the form) leaves the history of that
//      session saying what was used then and the time on "notes", in its detail, the list and
//      the CSV.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { keepEvidence } from "../lib/artifacts.js";
import { VIEWPORT, launchBrowser } from "../lib/browser.js";
import { REPO_ROOT } from "../lib/env.js";
import { measureLayout } from "../lib/layout.js";
import { durationText } from "../lib/format.js";
import { followDots, makeLookingCamera } from "../lib/looking.js";
import { endEarly, fillSessionForm, readLive, recordLiveMessages, startSession, waitForConfig } from "../lib/pages.js";
import { FocusServer } from "../lib/server.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { eventually } from "../lib/wait.js";

const STREAM = join(REPO_ROOT, "tests", "fixtures", "stream", "pexels_woman_attentive");
const frame = (n) => join(STREAM, `frame${n}.jpg`);
/** Where she looks in each view (gaze yaw, pitch in degrees, as `focus-sentry analyze` reads the padded frame). */
const VIEWS = {
  center: frame(166), // 41.7, 17.5
  top_left: frame(156), // 33.8, 15.4
  top_right: frame(171), // 43.8, 18.0
  bottom_left: frame(146), // 30.2, 6.4
  bottom_right: frame(151), // 42.1, 8.9
  camera: frame(206), // 9.7, 14.5: into the camera
  notes: frame(231), // -33.1, 15.0
};
const POINTS = ["center", "top_left", "top_right", "bottom_left", "bottom_right"];

let tmp;
let server;
let browser;
let camera;
let messages;
/** The profile 13d saves, for 13e. */
let savedId = null;
/** The session 13e runs with the zone, for 13f's history. */
let zoneSession = null;

before(async () => {
  tmp = makeTempDir("calibrate-screen");
  camera = makeLookingCamera(tmp, "looking", VIEWS);
  server = new FocusServer();
  await server.start();
  browser = await launchBrowser({ clip: camera.path });
  messages = recordLiveMessages(browser.page);
}, { timeout: 25 * 60_000 });

after(async () => {
  await browser?.close();
  await server?.cleanup();
  removeTempDir(tmp);
});

const evidence = (label, body) => keepEvidence(label, {
  page: browser.page,
  server,
  notes: () => messages.map(({ at, url, msg }) => `${new Date(at).toISOString()} ${url} ${JSON.stringify(msg)}`).join("\n"),
}, body);

/** The frame verdicts the server sent on session `id`'s live socket. */
const verdicts = (id) => messages
  .filter(({ url, msg }) => url.endsWith(`/api/sessions/${id}/live`) && msg.source === "frame" && msg.verdict)
  .map(({ msg }) => msg.verdict);

/** The live zone line: shown, its text, and the zone in bold (the clock's zone now). */
const zoneLine = (page) => page.evaluate(() => {
  const line = document.getElementById("stat-zones");
  return { shown: !line.hidden, text: line.textContent.trim(), now: line.querySelector(".zone-now")?.dataset.zone ?? null };
});

/** Seconds of "m:ss". */
const clockSeconds = (text) => {
  const [m, s] = text.split(":").map(Number);
  return m * 60 + s;
};

/** Starts a session from the start page with the form's profile as chosen, the camera on `view`. */
async function sessionLooking(page, view) {
  camera.look(view);
  await fillSessionForm(page, { duration: 1, threshold: 30, alertMode: "banner", saveDefaults: false });
  return startSession(page);
}

/** Waits for `count` frame verdicts of session `id` after the first, and returns them. */
async function settledVerdicts(id, count) {
  await eventually(`${count + 1} frame verdicts`, async () => {
    assert.ok(verdicts(id).length > count, `${verdicts(id).length} so far`);
  }, { timeout: 30_000 });
  // The first frame may still show the camera's previous view.
  return verdicts(id).slice(1);
}

describe("a full calibration with a camera that follows the dots", () => {
  test("13d. the profile is saved with separate points, chosen on the start page, and a session judges with it", { timeout: 240_000 }, () => evidence("calibrate-screen", async () => {
    const page = browser.page;
    camera.look("center");
    await page.goto(`${server.url}/calibrate`);
    await eventually("the default name", async () => {
      assert.equal(await page.inputValue("#profile-name"), "My screen");
    });
    await page.fill("#profile-name", "Side desk");
    const follow = await followDots(page, camera);
    await page.click("#full-btn");
    await page.locator("#calibrate-outcome").waitFor({ state: "visible", timeout: 90_000 });
    const title = (await page.textContent("#outcome-title")).trim();
    const text = (await page.textContent("#outcome-text")).trim();
    assert.equal(title, "Saved \u201cSide desk\u201d", text);
    assert.match(text, /^Calibration done: where your screen lies/);
    assert.deepEqual(follow.followed(), POINTS, "the camera looked at each dot as it was shown");

    // Every point's frames showed her face, at least three each.
    const frames = messages
      .filter(({ url, msg }) => url.endsWith("/api/profiles/calibrate") && msg.frame)
      .map(({ msg }) => msg.frame);
    for (const point of POINTS) {
      const at = frames.filter((f) => f.point === point);
      assert.ok(at.length >= 3 && at.every((f) => f.face), `${point}: ${JSON.stringify(at)}`);
    }

    // A full profile whose screen spans her gaze at the dots (measured: yaw 32..47 deg,
    // pitch -0.4..12.3 deg since the head-pose fit reads the landmarks' image positions;
    // 6..18 before, the mesh's depth reading her head ~5 deg higher), so the corners
    // separated; nothing else saved.
    const listed = (await server.api("/api/profiles")).profiles;
    assert.deepEqual(listed.map((p) => [p.name, p.mode, p.usable]), [["Side desk", "full", true]]);
    const { id } = listed[0];
    savedId = id;
    const { profile } = await server.api(`/api/profiles/${id}`);
    const gaze = profile.screen.gaze;
    assert.ok(gaze.yaw_min_deg > 25 && gaze.yaw_min_deg < 35, JSON.stringify(gaze));
    assert.ok(gaze.yaw_max_deg > 42 && gaze.yaw_max_deg < 52, JSON.stringify(gaze));
    assert.ok(gaze.pitch_min_deg > -5 && gaze.pitch_min_deg < 5, JSON.stringify(gaze));
    assert.ok(gaze.pitch_max_deg > 7 && gaze.pitch_max_deg < 18, JSON.stringify(gaze));
    assert.deepEqual(profile.zones, []);

    // "Start a session with it": chosen on the start page; the session records it and
    // judges her look into the camera (gaze yaw 10 deg, off this screen) looking away.
    await page.click("#use-btn");
    await page.waitForURL(`${server.url}/`);
    await waitForConfig(page, { emailConfigured: false });
    await eventually("the new profile chosen", async () => {
      assert.equal(await page.inputValue("#profile"), String(id));
    });
    const calibrated = await sessionLooking(page, "camera");
    assert.equal((await server.api(`/api/sessions/${calibrated}`)).profile_id, id);
    await eventually("the live card names the profile", async () => {
      assert.equal((await page.textContent("#live-profile")).trim(),
        "Judged with your profile \u201cSide desk\u201d (full calibration).");
    });
    const away = await settledVerdicts(calibrated, 4);
    assert.ok(away.every((v) => !v.focused && v.reason === "looking_away"), JSON.stringify(away));
    await eventually("the indicator says looking away", async () => {
      const live = await readLive(page);
      assert.equal(live.state, "Not focused");
      assert.match(live.reason, /^Looking away( for \d+ s)?\.$/);
    });
    await endEarly(page);

    // The same view with no profile (the camera assumed at the screen): focused.
    await page.goto(server.url);
    await waitForConfig(page, { emailConfigured: false });
    await page.selectOption("#profile", "");
    const uncalibrated = await sessionLooking(page, "camera");
    assert.equal((await server.api(`/api/sessions/${uncalibrated}`)).profile_id, null);
    assert.equal((await page.textContent("#live-profile")).trim(),
      "Not calibrated: facing the camera counts as facing the screen. Calibrate (opens a new tab) for your next session.");
    assert.equal(await page.getAttribute("#live-calibrate-link", "href"), "/calibrate");
    assert.equal(await page.getAttribute("#live-calibrate-link", "target"), "_blank");
    const focused = await settledVerdicts(uncalibrated, 4);
    assert.ok(focused.every((v) => v.focused), JSON.stringify(focused));
    await eventually("the indicator says focused", async () => {
      assert.equal((await readLive(page)).state, "Focused");
    });
    await endEarly(page);
    await page.locator("#summary-card").waitFor({ state: "visible", timeout: 10_000 });
    assert.equal((await page.textContent("#summary-profile")).trim(), "Not calibrated: judged with the default rules.");
  }));

  test("13e/13f. a zone added to the profile counts as focused and reads \u201cFocused (notes)\u201d; the summary and history keep what was used after renames", { timeout: 180_000 }, () => evidence("calibrate-zone", async () => {
    assert.ok(savedId, "13d saved a profile");
    const page = browser.page;
    camera.look("center");
    await page.goto(`${server.url}/calibrate`);
    assert.equal(await page.isVisible("#zone-card"), false, "no zone form before a profile is chosen");
    await page.click("button[aria-label='Add a zone to Side desk']");
    assert.equal((await page.textContent("#zone-title")).trim(), "Add a zone to \u201cSide desk\u201d");
    assert.equal(await page.inputValue("#zone-name"), "notes");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "zone-name");
    // Her notes lie where she glances aside: the camera looks there while the page asks.
    const follow = await followDots(page, camera, { zone: "notes" });
    await page.click("#zone-btn");
    await eventually("the prompt to look at the notes", async () => {
      assert.equal((await page.textContent("#stage-prompt")).trim(), "Look at your notes now and keep still until the beep");
    }, { timeout: 10_000, interval: 50 });
    await page.locator("#calibrate-outcome").waitFor({ state: "visible", timeout: 60_000 });
    const title = (await page.textContent("#outcome-title")).trim();
    assert.equal(title, "Zone \u201cnotes\u201d added to \u201cSide desk\u201d", await page.textContent("#outcome-text"));
    assert.equal((await page.textContent("#outcome-text")).trim(),
      "In sessions with this profile, looking at your notes counts as focused, shown as \u201cFocused (notes)\u201d.");
    assert.deepEqual(follow.followed(), ["center", "zone"], "the camera looked aside once the page asked");
    const { profile } = await server.api(`/api/profiles/${savedId}`);
    assert.deepEqual(profile.zones.map((z) => z.name), ["notes"]);
    // The zone lies where she looked (gaze yaw -33 deg), off the screen (yaw 30..47 deg).
    assert.ok(profile.zones[0].gaze.yaw_max_deg < profile.screen.gaze.yaw_min_deg, JSON.stringify(profile));
    await eventually("the zone in the list", async () => {
      assert.match(await page.textContent("#profile-list"), /Zones: notes/);
    });
    // The outcome, the zone form and the list with its zones and buttons keep to their cards,
    // on a desktop and on a phone.
    for (const width of [VIEWPORT.width, 390]) {
      await page.setViewportSize({ width, height: 844 });
      const layout = await measureLayout(page);
      assert.ok(layout.width <= layout.view, `${width} px: the page is ${layout.width} px wide`);
      assert.deepEqual(layout.escapes, [], `${width} px`);
    }
    await page.setViewportSize(VIEWPORT);

    await page.click("#use-btn");
    await page.waitForURL(`${server.url}/`);
    await waitForConfig(page, { emailConfigured: false });
    await eventually("the profile chosen, with its zone", async () => {
      assert.equal(await page.inputValue("#profile"), String(savedId));
      assert.equal(await page.$eval("#profile", (s) => s.selectedOptions[0].textContent),
        "Side desk (full calibration; zones: notes)");
    });
    const id = await sessionLooking(page, "notes");
    const onNotes = await settledVerdicts(id, 4);
    assert.ok(onNotes.every((v) => v.focused && v.zone === "notes"), JSON.stringify(onNotes));
    await eventually("the indicator says Focused (notes)", async () => {
      const live = await readLive(page);
      assert.deepEqual([live.state, live.reason], ["Focused (notes)", "Looking at your notes: a zone of your profile, counted as focused."]);
    });
    assert.equal((await page.textContent("#live-profile")).trim(),
      "Judged with your profile \u201cSide desk\u201d (full calibration; zones: notes).");
    // The time on the notes runs beside the focused timer, a part of it, in bold while the
    // clock has her on the notes.
    let onNotesSeconds = 0;
    await eventually("2 s on the notes in the live zone line", async () => {
      const line = await zoneLine(page);
      const match = line.text.match(/^Of it: notes (\d+:\d\d)$/);
      assert.ok(line.shown && match, JSON.stringify(line));
      assert.equal(line.now, "notes");
      onNotesSeconds = clockSeconds(match[1]);
      assert.ok(onNotesSeconds >= 2, JSON.stringify(line));
      assert.ok(onNotesSeconds <= clockSeconds((await readLive(page)).focused), "within the focused time");
    }, { timeout: 15_000 });
    // Back on the screen: plain Focused, and the notes' time stops.
    camera.look("center");
    await eventually("the indicator says Focused", async () => {
      assert.equal((await readLive(page)).state, "Focused");
    }, { timeout: 10_000 });
    await eventually("the zone line no longer on the notes", async () => {
      assert.equal((await zoneLine(page)).now, null);
    }, { timeout: 10_000 });
    await endEarly(page);
    zoneSession = id;
    // 13f: the summary says what the session was judged with, and the time on the notes.
    await page.locator("#summary-card").waitFor({ state: "visible", timeout: 10_000 });
    assert.equal((await page.textContent("#summary-profile")).trim(),
      "Judged with profile \u201cSide desk\u201d (full calibration; zones: notes).");
    const stored = await server.api(`/api/sessions/${id}`);
    const [notesTime] = stored.totals.zone_time;
    assert.deepEqual(stored.totals.zone_time.map((z) => z.zone), ["notes"], JSON.stringify(stored.totals));
    assert.ok(notesTime.ms >= onNotesSeconds * 1000 && notesTime.ms < stored.totals.focused_ms,
      `notes ${notesTime.ms} ms: at least the ${onNotesSeconds} s seen live, less than the focused ${stored.totals.focused_ms} ms`);
    assert.deepEqual(stored.summary.zone_time, [{ zone: "notes", seconds: Math.round(notesTime.ms / 100) / 10 }]);
    assert.equal(await page.isVisible("#sum-zones-row"), true);
    assert.equal((await page.textContent("#sum-zones")).trim(), `notes ${durationText(stored.summary.zone_time[0].seconds * 1000)}`);

    // 13f: renaming on the calibration page. Another profile's name is refused beside the
    // field; Escape closes the form without a change.
    const { profile: other } = await server.api(`/api/profiles/${savedId}`);
    await server.api("/api/profiles", { method: "POST", body: { name: "Laptop", profile: { ...other, zones: [] } } });
    await page.goto(`${server.url}/calibrate`);
    await page.click("button[aria-label='Rename Side desk']");
    const input = page.locator("#profile-list .rename-input");
    assert.equal(await input.inputValue(), "Side desk");
    assert.equal(await page.evaluate(() => document.activeElement?.className), "rename-input");
    await input.fill("laptop");
    await input.press("Enter");
    await eventually("the refusal beside the field", async () => {
      assert.equal((await page.textContent("#profile-list .rename-error")).trim(), "a profile named \"laptop\" already exists");
    });
    assert.equal(await input.getAttribute("aria-invalid"), "true");
    await input.press("Escape");
    assert.equal(await page.locator("#profile-list .rename-inline").count(), 0);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), "Rename Side desk");
    // The zone, by its pencil button: renamed in the list and in the profile, numbers kept.
    await page.click("button[aria-label='Rename the zone notes of Side desk']");
    assert.equal(await input.inputValue(), "notes");
    await input.fill("paper notes");
    await input.press("Enter");
    await eventually("the zone renamed in the list", async () => {
      assert.match(await page.textContent("#profile-list"), /Zones: paper notes/);
    });
    const renamedZone = await server.api(`/api/profiles/${savedId}`);
    assert.deepEqual(renamedZone.profile.zones.map((z) => z.name), ["paper notes"]);
    assert.deepEqual(renamedZone.profile.zones[0].gaze, profile.zones[0].gaze);
    // The profile, with the Rename button.
    await page.click("button[aria-label='Rename Side desk']");
    await input.fill("Side desk, left");
    await page.click("#profile-list .rename-inline button[type=submit]");
    await eventually("the profile renamed in the list", async () => {
      assert.deepEqual(await page.$$eval("#profile-list .profile-name", (n) => n.map((x) => x.textContent)), ["Laptop", "Side desk, left"]);
    });
    for (const width of [VIEWPORT.width, 390]) {
      await page.setViewportSize({ width, height: 844 });
      await page.click("button[aria-label='Rename the zone paper notes of Side desk, left']");
      const layout = await measureLayout(page);
      assert.ok(layout.width <= layout.view, `${width} px: the page is ${layout.width} px wide`);
      assert.deepEqual(layout.escapes, [], `${width} px, the rename form open`);
      await input.press("Escape");
    }
    await page.setViewportSize(VIEWPORT);

    // The history still says what the session was judged with then, in the list and the detail.
    await page.goto(`${server.url}/history`);
    const row = page.locator(`#sessions-body tr[data-session-id="${zoneSession}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.equal((await row.locator(".profile-mark").textContent()).trim(), "Side desk");
    assert.equal(await row.locator(".profile-mark").getAttribute("title"),
      "Judged with profile \u201cSide desk\u201d (full calibration; zones: notes).");
    await row.locator("button", { hasText: "Details" }).click();
    await page.locator("#detail-card").waitFor({ state: "visible" });
    assert.equal((await page.textContent("#detail-profile")).trim(),
      "Judged with profile \u201cSide desk\u201d (full calibration; zones: notes).");
    const detail = await page.$$eval("#detail-stats > div", (rows) =>
      Object.fromEntries(rows.map((r) => [r.querySelector("dt").textContent, r.querySelector("dd").textContent])));
    assert.equal(detail["Of the focused time, on your zones"], `notes ${durationText(notesTime.ms)}`, JSON.stringify(detail));
    const csv = await (await fetch(`${server.url}/api/sessions.csv`)).text();
    assert.match(csv, new RegExp(`\r\n${zoneSession},[^\r]*,Side desk,full,notes,notes=${notesTime.ms / 1000}\r\n`));

    // Removing the zone on the calibration page (it asks first): the profile keeps its screen.
    await page.goto(`${server.url}/calibrate`);
    page.once("dialog", (dialog) => dialog.accept());
    await page.click("button[aria-label='Remove the zone paper notes from Side desk, left']");
    await eventually("the zone gone from the list", async () => {
      assert.doesNotMatch(await page.textContent("#profile-list"), /Zones:/);
    });
    const after = await server.api(`/api/profiles/${savedId}`);
    assert.deepEqual([after.profile.zones, after.profile.screen], [[], profile.screen]);
  }));
});
