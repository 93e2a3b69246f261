// 10. The indicator follows the camera (issue 8.10): the camera switches between an
// attentive face and one looking away every 4 s. The indicator changes when two frame
// replies in a row agree on the new verdict (~0.2 s apart at 5 frames a second), well before
// the server's clock confirms the change after its 500 ms debounce (the timers and the
// timeline follow the clock); one odd frame could not flip it (e2e/unit/indicator.test.js).
// The reason's "for N s" waits for the clock too (no number while the indicator is ahead of
// it), and never exceeds the Unfocused timer beside it.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { keepEvidence } from "../lib/artifacts.js";
import { launchBrowser } from "../lib/browser.js";
import { makeClip } from "../lib/clips.js";
import { STILLS } from "../lib/env.js";
import { clockSeconds, fillSessionForm, recordLiveMessages, startSession, waitForConfig } from "../lib/pages.js";
import { FocusServer } from "../lib/server.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";

const WATCH_MS = 20_000;
/** The clock's debounce (crates/clock ClockParams::debounce_ms). */
const DEBOUNCE_MS = 500;
// Node and the page stamp events from different processes: allow this much skew.
const SKEW_MS = 100;

let tmp;
let server;
let browser;
let page;
let messages;

before(async () => {
  tmp = makeTempDir("indicator");
  const clip = makeClip(tmp, "switch", [
    { image: STILLS.attentive, seconds: 4 },
    { image: STILLS.lookingAway, seconds: 4 },
  ]);
  server = new FocusServer();
  await server.start();
  browser = await launchBrowser({ clip: clip.path });
  page = browser.page;
  messages = recordLiveMessages(page);
}, { timeout: 25 * 60_000 });

after(async () => {
  await browser?.close();
  await server?.cleanup();
  removeTempDir(tmp);
});

test("10. the indicator follows the frames' verdicts, ahead of the clock's debounce", { timeout: 120_000 }, () => keepEvidence("indicator", {
  page,
  server,
  notes: () => messages.map(({ at, msg }) => `${new Date(at).toISOString()} ${JSON.stringify(msg)}`).join("\n"),
}, async () => {
  await page.goto(server.url);
  await waitForConfig(page, { emailConfigured: false });
  await fillSessionForm(page, { duration: 2, threshold: 30, alertMode: "banner" });
  const id = await startSession(page);
  await page.evaluate(() => {
    // What the person reads after each render: the indicator's two lines and the Unfocused
    // timer (one render writes all three, so each record is one moment).
    window.__shown = [];
    const text = (id) => document.getElementById(id).textContent.trim();
    const observer = new MutationObserver(() => window.__shown.push(
      [Date.now(), text("state-text"), text("reason-text"), text("stat-unfocused")]));
    for (const id of ["state-text", "reason-text", "stat-unfocused"]) {
      observer.observe(document.getElementById(id), { childList: true, characterData: true, subtree: true });
    }
  });
  const from = Date.now();
  await new Promise((r) => setTimeout(r, WATCH_MS));
  const shown = await page.evaluate(() => window.__shown);
  await server.api(`/api/sessions/${id}/end`, { method: "POST" });

  const replies = messages
    .filter(({ at, msg }) => at >= from - 2_000 && msg.source === "frame" && msg.verdict)
    .map(({ at, msg }) => ({ at, verdict: Boolean(msg.verdict.focused), clock: msg.state }));
  // Changes between the two verdicts (not the first one, out of "Starting…").
  const changes = [];
  let last = null;
  for (const [at, text, reason] of shown) {
    if (text === last) continue;
    const between = (t) => t === "Focused" || t === "Not focused";
    if (at >= from && between(last) && between(text)) changes.push({ at, focused: text === "Focused", reason });
    last = text;
  }
  assert.ok(changes.length >= 3, `indicator changes in ${WATCH_MS / 1000} s: ${changes.length}`);

  for (const change of changes) {
    // The run of replies with the new verdict that this change followed: its first reply is
    // the last one with the new verdict that came after one with the other verdict.
    let first = -1;
    for (let i = 1; i < replies.length && replies[i].at <= change.at + SKEW_MS; i += 1) {
      if (replies[i].verdict === change.focused && replies[i - 1].verdict !== change.focused) first = i;
    }
    assert.ok(first > 0 && first + 1 < replies.length, `a run of '${change.focused ? "focused" : "not focused"}' verdicts before the change at ${change.at}`);
    const second = replies[first + 1];
    assert.equal(second.verdict, change.focused, "two replies in a row agree");
    assert.ok(change.at >= second.at - SKEW_MS,
      `the indicator changed ${second.at - change.at} ms before the second agreeing reply`);
    const confirmed = replies.slice(first).find((r) => r.clock === (change.focused ? "focused" : "unfocused"));
    // Two agreeing replies that already span the debounce (a server loaded down to under
    // 2 frames a second) are all the clock needs too: it confirms with the same reply, and
    // there is nothing for the indicator to be ahead of.
    const spansDebounce = second.at - replies[first].at >= DEBOUNCE_MS;
    if (confirmed && !spansDebounce) {
      assert.ok(change.at <= confirmed.at - 150,
        `the indicator changed only ${confirmed.at - change.at} ms before the clock confirmed it`);
    }
    // Ahead of the clock the timers still count focused: the reason gives no seconds yet.
    if (!change.focused) assert.equal(change.reason, "Looking away.", "the reason as the indicator turns red");
  }

  // 8.10: the reason's "for N s" agrees with the timers: it is part of the Unfocused time.
  let counted = 0;
  for (const [at, text, reason, unfocused] of shown) {
    const held = reason.match(/ for (\d+) s\.$/);
    if (!held) continue;
    counted += 1;
    assert.equal(text, "Not focused");
    assert.ok(Number(held[1]) <= clockSeconds(unfocused),
      `at ${new Date(at).toISOString()} the page read "${reason}" beside Unfocused ${unfocused}`);
  }
  assert.ok(counted > 0, "the reason said how long it had held at least once");
}));
