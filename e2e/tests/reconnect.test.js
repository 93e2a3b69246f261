// 6. Losing the server mid-session, and getting it back.
//
// a. The network between page and server drops and comes back (a relay in between is cut):
//    the page says it lost the connection, then carries on with the same session.
// b. The server process is killed (SIGKILL, as in a crash): the page says it lost the
//    connection and that the server cannot be reached, and keeps retrying.
// c. The server is started again on the same port and database: it closed the crashed
//    session as interrupted at start-up (the crash-recovery rule), and the page, on its next
//    retry, continues that same session (POST .../resume, before its planned end): it says
//    the server restarted, streams again, and the outage is an "offline" stretch of the
//    session's timeline.
// e. A session cut off while no page streamed it is continued from the history's
//    "Continue this session".

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { keepEvidence } from "../lib/artifacts.js";
import { launchBrowser } from "../lib/browser.js";
import { makeClip } from "../lib/clips.js";
import { STILLS } from "../lib/env.js";
import {
  clockSeconds, colourOf, endEarly, fillSessionForm, readLive, recordLiveMessages, startSession,
  waitForConfig,
} from "../lib/pages.js";
import { durationText } from "../lib/format.js";
import { startProxy } from "../lib/proxy.js";
import { FocusServer } from "../lib/server.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { eventually, GiveUp } from "../lib/wait.js";

// An attentive face throughout: any "not focused" here would come from the outage.
const FORM = { duration: 2, threshold: 5, alertMode: "banner" };
// The page retries after 1, 2, 4, 8, then every 10 s.
const RECONNECT_TIMEOUT = 40_000;
const LOST = /^(Connection to the server lost|Server unreachable)$/;

let tmp;
let server;
let proxy;
let browser;
let page;
let messages;

before(async () => {
  tmp = makeTempDir("reconnect");
  const clip = makeClip(tmp, "attentive", [{ image: STILLS.attentive, seconds: 4 }]);
  server = new FocusServer();
  await server.start();
  proxy = await startProxy(server.port);
  browser = await launchBrowser({ clip: clip.path });
  page = browser.page;
  messages = recordLiveMessages(page);
}, { timeout: 25 * 60_000 });

after(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.cleanup();
  removeTempDir(tmp);
});

const evidence = (label, body) => keepEvidence(label, {
  page,
  server,
  notes: () => messages.map(({ at, url, msg }) => `${new Date(at).toISOString()} ${url} ${JSON.stringify(msg)}`).join("\n"),
}, body);

/** Starts a session at `base` and waits until frames are answered; returns its id. */
async function startStreaming(base) {
  await page.goto(base);
  await waitForConfig(page, { emailConfigured: false });
  await fillSessionForm(page, FORM);
  const id = await startSession(page);
  await eventually("the live view to stream focused frames", async () => {
    const live = await readLive(page);
    assert.equal(live.connection, "Connected");
    assert.equal(live.state, "Focused");
    assert.match(live.netStats, /frames\/s/);
    // The indicator follows two agreeing frame replies, ahead of the clock: wait until the
    // clock itself has judged (an outage while it is still "starting" counts as starting).
    assert.ok(clockSeconds(live.focused) >= 1, `the clock's focused time: ${live.focused}`);
  }, { timeout: 30_000 });
  return id;
}

/** Waits for the page to say it lost the server, with the live view still there. */
async function expectLost() {
  return eventually("the page to say the connection was lost", async () => {
    const live = await readLive(page);
    assert.equal(live.noticeVisible, true, "a notice is shown");
    assert.match(live.noticeTitle, LOST);
    assert.match(live.connection, /^(Reconnecting…|Server unreachable)$/);
    assert.equal(live.liveVisible, true, "the live view stays");
    return live;
  }, { timeout: 15_000 });
}

/** Waits for the page to stream session `id` again, from frames sent after `since`. */
async function expectContinued(id, since) {
  await eventually(`the page to continue session ${id}`, async () => {
    if (await page.isVisible("#summary-card")) {
      const badge = (await page.textContent("#summary-badge")).trim();
      const session = await server.api(`/api/sessions/${id}`);
      throw new GiveUp(`the page shows the session's summary ("${badge}") instead of continuing; ` +
        `the server has it as ${session.status}`);
    }
    const live = await readLive(page);
    assert.equal(live.liveVisible, true, "still the live view");
    assert.equal(live.connection, "Connected");
    assert.equal(live.noticeVisible, false, "the lost-connection notice is gone");
    assert.equal(live.state, "Focused");
    const fresh = messages.filter(({ at, msg }) => at > since && msg.source === "frame");
    assert.ok(fresh.length >= 3, `frames answered since the server came back: ${fresh.length}`);
    assert.ok(fresh.every(({ url }) => url.endsWith(`/api/sessions/${id}/live`)), "on the same session's stream");
  }, { timeout: RECONNECT_TIMEOUT });
  const session = await server.api(`/api/sessions/${id}`);
  assert.equal(session.status, "running");
}

describe("losing the server mid-session", () => {
  test("6a. a network drop: the page says so, then continues the same session", { timeout: 120_000 }, () => evidence("network-drop", async () => {
    const id = await startStreaming(proxy.url);
    const before = await readLive(page);
    await proxy.drop();
    await expectLost();
    await new Promise((r) => setTimeout(r, 2_000));
    const back = Date.now();
    await proxy.restore();
    await expectContinued(id, back);
    const after = await readLive(page);
    // The clock ran on the server meanwhile; the outage counts as no camera signal, never
    // as focused time the page did not see.
    assert.ok(clockSeconds(after.focused) + clockSeconds(after.unfocused) > clockSeconds(before.focused) + clockSeconds(before.unfocused));
    await endEarly(page);
    await page.locator("#summary-card").waitFor({ state: "visible", timeout: 10_000 });
    const session = await server.api(`/api/sessions/${id}`);
    assert.equal(session.status, "completed");
    assert.equal((await page.textContent("#summary-badge")).trim(), "Ended early");
    assert.ok(session.events.some((e) => e.kind === "unfocused" && e.reason === "no_signal"),
      "the outage is in the timeline as no camera signal");
  }));

  test("6d. the server hangs: 'No connection' in grey within 3 s of its last answer, live again when it answers", { timeout: 120_000 }, () => evidence("server-frozen", async () => {
    const id = await startStreaming(server.url);
    server.freeze();
    const frozeAt = Date.now();
    let shown;
    let held;
    try {
      shown = await eventually("'No connection' while the server hangs", async () => {
        const live = await readLive(page);
        assert.equal(live.state, "No connection");
        assert.equal(colourOf(live.dot), "neutral", `dot colour ${live.dot}`);
        assert.equal(live.bannerVisible, false);
        return { live, at: Date.now() };
      }, { timeout: 10_000, interval: 100 });
      await new Promise((r) => setTimeout(r, 1_500));
      held = await readLive(page);
    } finally {
      server.thaw();
    }
    // 3 s of silence, the page's 0.5 s check, this test's 0.1 s poll and a frame's slack.
    assert.ok(shown.at - frozeAt <= 4_500, `'No connection' came ${shown.at - frozeAt} ms after the server hung`);
    assert.equal(held.state, "No connection", "it stays while the server hangs");
    assert.deepEqual([held.focused, held.unfocused], [shown.live.focused, shown.live.unfocused],
      "the timers stop while there is no connection");
    await expectContinued(id, Date.now());
    await endEarly(page);
    await page.locator("#summary-card").waitFor({ state: "visible", timeout: 10_000 });
  }));

  let killedId = null;

  test("6b. the server is killed: the page says it lost the connection and keeps trying", { timeout: 120_000 }, () => evidence("server-killed", async () => {
    killedId = await startStreaming(server.url);
    await server.kill();
    const killedAt = Date.now();
    // The socket drops with the process: grey "No connection" at once, not the last verdict.
    const grey = await eventually("'No connection' after the kill", async () => {
      const live = await readLive(page);
      assert.equal(live.state, "No connection");
      assert.equal(colourOf(live.dot), "neutral", `dot colour ${live.dot}`);
      assert.equal(live.bannerVisible, false);
      return Date.now();
    }, { timeout: 5_000, interval: 100 });
    assert.ok(grey - killedAt <= 3_000, `'No connection' came ${grey - killedAt} ms after the kill`);
    await expectLost();
    // The first retry finds nobody: the page says the server cannot be reached, and when
    // it will try again.
    const unreachable = await eventually("'Server unreachable' after a failed retry", async () => {
      const live = await readLive(page);
      assert.equal(live.noticeTitle, "Server unreachable");
      return live;
    }, { timeout: 15_000 });
    assert.match(unreachable.noticeText, /cannot be reached/);
    assert.match(unreachable.noticeText, /Retrying in \d+ s/);
    assert.equal(await page.isVisible("#notice-action"), true, "a button to retry now");
  }));

  // The product's crash rule: on start-up the server closes every session a crash left
  // running as "interrupted" with its saved totals (docs/api.md, Lifecycle); before its
  // planned end such a session is `resumable`. The page's next retry finds the server,
  // continues the session (POST .../resume) and streams it again: the same session, with
  // the outage in its timeline as "offline", never as focused or as no camera signal.
  test("6c. the server comes back on the same port and database: the page continues the interrupted session", {
    timeout: 120_000,
  }, () => evidence("server-restarted", async () => {
    assert.ok(killedId, "6b started a session and killed the server");
    await server.start();
    const back = Date.now();
    await eventually(`the page to continue session ${killedId}`, async () => {
      if (await page.isVisible("#summary-card")) {
        const session = await server.api(`/api/sessions/${killedId}`);
        throw new GiveUp(`the page shows the session's summary instead of continuing; the server has it as ${session.status}`);
      }
      const live = await readLive(page);
      assert.equal(live.connection, "Connected");
      assert.equal(live.state, "Focused");
      assert.equal(live.noticeTitle, "The server restarted");
      assert.match(live.noticeText, /session goes on/);
      const fresh = messages.filter(({ at, msg }) => at > back && msg.source === "frame");
      assert.ok(fresh.length >= 3, `frames answered since the server came back: ${fresh.length}`);
      assert.ok(fresh.every(({ url }) => url.endsWith(`/api/sessions/${killedId}/live`)), "on the same session's stream");
    }, { timeout: RECONNECT_TIMEOUT });
    const running = await server.api(`/api/sessions/${killedId}`);
    assert.equal(running.status, "running");
    assert.ok(running.totals.offline_ms > 0, `offline_ms ${running.totals.offline_ms}`);
    if (running.totals.offline_ms >= 1000) {
      // Beside the timers: the time that counts as neither focused nor unfocused.
      await eventually("the outage shown as not counted", async () => {
        assert.match((await readLive(page)).unjudged, /\d+:\d{2} server offline\.$/);
      }, { timeout: 5_000 });
    }

    await endEarly(page);
    await page.locator("#summary-card").waitFor({ state: "visible", timeout: 10_000 });
    const session = await server.api(`/api/sessions/${killedId}`);
    assert.equal(session.status, "completed");
    assert.equal(session.end_reason, "user");
    const offline = session.events.filter((e) => e.kind === "offline");
    assert.equal(offline.length, 1, `one offline stretch: ${JSON.stringify(session.events)}`);
    assert.equal(offline[0].duration_ms, session.totals.offline_ms);
    assert.deepEqual(session.events.filter((e) => e.reason === "no_signal" && e.start_ms >= offline[0].start_ms && e.start_ms < offline[0].end_ms), [],
      "the outage is not counted as no camera signal");
    // The parts add up to the whole.
    const t = session.totals;
    assert.equal(t.focused_ms + t.unfocused_ms + t.starting_ms + t.paused_ms + t.offline_ms, t.total_ms);
    // The summary card shows the outage and why the session ended.
    assert.equal(await page.isVisible("#sum-offline-row"), true);
    assert.equal((await page.textContent("#sum-offline")).trim(), durationText(session.summary.offline_seconds * 1000));
    assert.equal((await page.textContent("#sum-reason")).trim(), "You ended it early.");
  }));

  // With no page left streaming it (the tab was closed), a session cut off by a crash is
  // continued from the history: its details offer "Continue this session", which opens the
  // live page on it.
  test("6e. a cut-off session with no page left: 'Continue this session' from the history", {
    timeout: 150_000,
  }, () => evidence("continue-from-history", async () => {
    const id = await startStreaming(server.url);
    await page.goto("about:blank");
    await server.kill();
    await server.start();
    const cut = await server.api(`/api/sessions/${id}`);
    assert.equal(cut.status, "interrupted");
    assert.equal(cut.resumable, true);
    assert.equal(cut.end_reason, "server_lost");

    await page.goto(`${server.url}/history?session=${id}`);
    await page.locator("#detail-card").waitFor({ state: "visible", timeout: 10_000 });
    assert.match(await page.locator("#detail-stats").innerText(), /Why it ended\s+The server stopped unexpectedly\./);
    const link = page.locator("#detail-continue");
    assert.equal(await link.isVisible(), true, "an interrupted session before its planned end can be continued");
    await Promise.all([page.waitForURL(/\/(\?|$)/, { timeout: 10_000 }), link.click()]);
    await page.locator("#resume-card").waitFor({ state: "visible", timeout: 10_000 });
    assert.equal((await page.textContent("#resume-title")).trim(), "A session was cut off by a server restart");
    assert.equal((await page.textContent("#resume-btn")).trim(), "Continue this session");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "resume-btn");
    assert.equal(new URL(page.url()).searchParams.get("continue"), null, "the address no longer asks to continue");

    const back = Date.now();
    await page.click("#resume-btn");
    await expectContinued(id, back);
    const session = await server.api(`/api/sessions/${id}`);
    assert.ok(session.totals.offline_ms > 0, `offline_ms ${session.totals.offline_ms}`);
    assert.equal(session.events.filter((e) => e.kind === "offline").length, 1);
    await endEarly(page);
    await page.locator("#summary-card").waitFor({ state: "visible", timeout: 10_000 });
  }));
});
