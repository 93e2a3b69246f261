// Reading and driving the pages the way a person sees them: visible text, colours, and the
// form's controls by their labels' ids (assets/index.html, assets/history.html).

import assert from "node:assert/strict";

/** What the live card shows right now. */
export async function readLive(page) {
  return page.evaluate(() => {
    const $ = (id) => document.getElementById(id);
    const visible = (node) => Boolean(node) && !node.hidden && node.getClientRects().length > 0;
    const dot = document.querySelector("#indicator .dot");
    const rgb = dot ? getComputedStyle(dot).backgroundColor.match(/\d+/g)?.slice(0, 3).map(Number) : null;
    return {
      liveVisible: visible($("live-card")),
      state: $("state-text").textContent.trim(),
      reason: $("reason-text").textContent.trim(),
      connection: $("conn-status").textContent.trim(),
      dot: rgb, // [r, g, b]
      bannerVisible: visible($("alert-banner")),
      banner: $("alert-text").textContent.trim(),
      noticeVisible: visible($("notice")),
      noticeTitle: $("notice-title").textContent.trim(),
      noticeText: $("notice-text").textContent.trim(),
      focused: $("stat-focused").textContent.trim(),
      unfocused: $("stat-unfocused").textContent.trim(),
      breaks: $("stat-breaks").textContent.trim(),
      percent: $("stat-percent").textContent.trim(),
      blinkRate: $("stat-blink-rate").textContent.trim(),
      perclos: $("stat-perclos").textContent.trim(),
      fatigueLine: $("fatigue-line").textContent.replace(/\s+/g, " ").trim(),
      netStats: $("net-stats").textContent.trim(),
      unjudged: visible($("stat-unjudged")) ? $("stat-unjudged").textContent.trim() : "",
      pauseLabel: $("pause-label").textContent.trim(),
      focusedElement: document.activeElement ? document.activeElement.id : null,
    };
  });
}

/** The colour family of an [r, g, b]: "blue" (paused), "green", "red" or "neutral". */
export function colourOf(rgb) {
  if (!rgb) return "none";
  const [r, g, b] = rgb;
  if (b > r + 60 && b > g + 40) return "blue";
  if (g > r + 60) return "green";
  if (r > g + 60) return "red";
  return "neutral";
}

/** "1:05" or "1:02:03" to seconds. */
export function clockSeconds(text) {
  return text.split(":").reduce((acc, part) => acc * 60 + Number(part), 0);
}

/** Fills the session form (every field, so nothing depends on what was there before). */
export async function fillSessionForm(page, form) {
  await page.fill("#duration", String(form.duration));
  await page.fill("#threshold", String(form.threshold));
  await page.selectOption("#alert-mode", form.alertMode);
  await page.fill("#email", form.email ?? "");
  await page.setChecked("#send-email", Boolean(form.sendEmail));
  await page.fill("#phone", form.phone ?? "");
  await page.setChecked("#send-sms", Boolean(form.sendSms));
  await page.setChecked("#save-defaults", Boolean(form.saveDefaults));
}

/** Waits until the page has the server's configuration (the email option reflects it). */
export async function waitForConfig(page, { emailConfigured }) {
  const hint = page.locator("#email-hint");
  await hint.filter({ hasText: /\S/ }).waitFor({ timeout: 15_000 });
  assert.equal(await page.isEnabled("#send-email"), emailConfigured, "the email option matches the server's configuration");
}

/**
 * Presses Start and waits for the live card; returns the session id, read from the address
 * of the WebSocket the page opened.
 */
export async function startSession(page) {
  const socket = page.waitForEvent("websocket", {
    predicate: (ws) => /\/api\/sessions\/\d+\/live$/.test(ws.url()),
    timeout: 20_000,
  });
  await page.click("#start-btn");
  const ws = await socket;
  await page.locator("#live-card").waitFor({ state: "visible", timeout: 10_000 });
  return Number(ws.url().match(/\/api\/sessions\/(\d+)\/live$/)[1]);
}

/**
 * Keeps every message the server sends the page on its live WebSockets, parsed, with the
 * time it arrived: `{ at, url, msg }`. (Playwright watches the socket; the page is
 * unchanged.)
 */
export function recordLiveMessages(page) {
  const messages = [];
  page.on("websocket", (ws) => {
    ws.on("framereceived", ({ payload }) => {
      if (typeof payload !== "string") return;
      try {
        messages.push({ at: Date.now(), url: ws.url(), msg: JSON.parse(payload) });
      } catch {
        // not JSON: not ours
      }
    });
  });
  return messages;
}

/**
 * Ends the running session early as a person does: End, then the confirmation. Checks that
 * End asks first with "Keep going" focused (so a second Enter keeps the session).
 */
export async function endEarly(page) {
  await page.click("#end-btn");
  await page.locator("#end-confirm").waitFor({ state: "visible", timeout: 5_000 });
  assert.equal(await page.evaluate(() => document.activeElement?.id), "end-cancel",
    "the question focuses 'Keep going'");
  await page.click("#end-confirm-btn");
}
