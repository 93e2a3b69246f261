// Alerts: from the rising edge of the server's `alert` (it rises when a drift reaches the
// threshold and clears on refocus), escalating while the drift goes on:
//
// 1. at the threshold: what the session asked for (banner, a two-tone beep, or both);
// 2. `sound_after_s` later: the beep (again, if the first step had one);
// 3. `notify_after_s` after the threshold, while the tab is hidden (at once if it is hidden
//    later): a desktop notification, if the user allowed notifications.
//
// The two delays are the user's (the form's "If the drift goes on" fields), remembered in
// this browser (localStorage). Snoozing (5, 15 or 30 minutes) keeps every step quiet until
// it ends; a drift still going on then alerts at once. Time is the server's: how long the
// drift has lasted (`drift_ms`) past the session's threshold, so steps come on time whatever
// the page's timers do in a hidden tab.

import { $, formatTime, loadSaved, reasonText, show } from "../common.js";
import { driftText } from "./view.js";

const ESCALATION_KEY = "focus-sentry.escalation";
/** `-1` is never. */
export const ESCALATION_DEFAULTS = { sound_after_s: 15, notify_after_s: 30 };
const CHOICES = [-1, 0, 5, 15, 30, 60, 120];

const state = {
  mode: "banner", // the session's alert_mode
  thresholdMs: 0, // the session's alert threshold
  active: false, // an alert is up for the current drift
  beeped: false, // the escalation's sound step has played for this drift
  notified: false, // a desktop notification has gone out for this drift
  lastMsg: null, // the last live state message
  snoozedUntil: 0, // Date.now() until which alerts are quiet; 0 = not snoozed
  snoozeTimer: null,
  escalation: { ...ESCALATION_DEFAULTS },
  audio: null, // AudioContext, made in a user gesture
};

const els = {
  banner: $("alert-banner"),
  bannerText: $("alert-text"),
  soundAfter: $("escalate-sound"),
  notifyAfter: $("escalate-notify"),
  snoozeButtons: $("snooze-buttons"),
  snoozed: $("snoozed"),
  snoozedText: $("snoozed-text"),
  unsnooze: $("unsnooze-btn"),
};

/** The escalation delays saved in this browser, or the defaults. */
export function loadEscalation() {
  const saved = loadSaved(ESCALATION_KEY);
  const valid = (v) => CHOICES.includes(v);
  const escalation = { ...ESCALATION_DEFAULTS };
  if (saved && typeof saved === "object") {
    if (valid(saved.sound_after_s)) escalation.sound_after_s = saved.sound_after_s;
    if (valid(saved.notify_after_s)) escalation.notify_after_s = saved.notify_after_s;
  }
  state.escalation = escalation;
  els.soundAfter.value = String(escalation.sound_after_s);
  els.notifyAfter.value = String(escalation.notify_after_s);
  return escalation;
}

function saveEscalation() {
  state.escalation = {
    sound_after_s: Number(els.soundAfter.value),
    notify_after_s: Number(els.notifyAfter.value),
  };
  try {
    localStorage.setItem(ESCALATION_KEY, JSON.stringify(state.escalation));
  } catch {
    // Storage may be disabled (private mode); the choice holds for this page.
  }
}
els.soundAfter.addEventListener("change", saveEscalation);
els.notifyAfter.addEventListener("change", saveEscalation);

/** True when the escalation or the mode may need sound: get audio ready in the gesture. */
function mayBeep(mode) {
  return mode === "sound" || mode === "both" || state.escalation.sound_after_s >= 0;
}

/** Gets sound ready; call it in a click's user gesture (browsers start audio only then). */
export function prepareAudio(mode) {
  if (!mayBeep(mode)) return;
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  if (!state.audio) state.audio = new Ctx();
  if (state.audio.state === "suspended") state.audio.resume().catch(() => {});
}

/** Asks once for permission to notify (in a user gesture), unless notifications are off. */
export async function requestNotifications() {
  if (state.escalation.notify_after_s < 0) return;
  if (!("Notification" in window) || Notification.permission !== "default") return;
  try {
    await Notification.requestPermission();
  } catch {
    // Older browsers take a callback; without permission we simply do not notify.
  }
}

/** Alerts for `session` (its alert_mode and threshold) from now on; not snoozed. */
export function startAlerts(session) {
  state.mode = session.alert_mode || "banner";
  state.thresholdMs = Math.round((session.alert_threshold_s || 0) * 1000);
  state.lastMsg = null;
  unsnooze();
  clearAlert();
}

/** Takes the banner down (refocus, no connection, or the session is over). */
export function clearAlert() {
  state.active = false;
  state.beeped = false;
  state.notified = false;
  show(els.banner, false);
}

/**
 * The alert's words: how long the whole drift has lasted (`drift_ms`, part of the Unfocused
 * timer and floored like it) and, apart, what the camera sees now; the current reason may
 * have held for less than the drift (no face, then eyes closed).
 */
function alertText(msg) {
  return `Eyes back on the screen: unfocused for ${driftText(msg.drift_ms)} (${reasonText(msg.reason).toLowerCase()}).`;
}

const snoozed = () => state.snoozedUntil > Date.now();

/** Follows a live state message: alerts on the rising edge, escalates, clears on refocus. */
export function handleAlert(msg) {
  state.lastMsg = msg;
  if (!msg.alert) {
    if (state.active) clearAlert();
    return;
  }
  if (snoozed()) return;
  const { mode, escalation } = state;
  const text = alertText(msg);
  if (!state.active) {
    state.active = true;
    if (mode === "banner" || mode === "both") show(els.banner);
    if (mode === "sound" || mode === "both") beep();
  }
  if (!els.banner.hidden) els.bannerText.textContent = text;
  const pastThresholdMs = (msg.drift_ms || 0) - state.thresholdMs;
  if (!state.beeped && escalation.sound_after_s >= 0 && pastThresholdMs >= escalation.sound_after_s * 1000) {
    state.beeped = true;
    // With the sound at once and the mode's own beep just played, once is enough.
    if (!(escalation.sound_after_s === 0 && (mode === "sound" || mode === "both"))) beep();
  }
  if (!state.notified && document.hidden && escalation.notify_after_s >= 0 &&
      pastThresholdMs >= escalation.notify_after_s * 1000) {
    state.notified = true;
    notifyDesktop(text);
  }
}

// ---------------------------------------------------------------------------------------
// Snooze.

/** Keeps alerts quiet for `minutes`; the banner goes down at once. */
export function snooze(minutes) {
  state.snoozedUntil = Date.now() + minutes * 60_000;
  clearAlert();
  clearTimeout(state.snoozeTimer);
  state.snoozeTimer = setTimeout(endSnooze, minutes * 60_000);
  els.snoozedText.textContent = `Alerts snoozed until ${formatTime(state.snoozedUntil)}.`;
  show(els.snoozeButtons, false);
  show(els.snoozed);
  els.unsnooze.focus();
}

/** Alerts are back on (the button, or a new session). */
export function unsnooze() {
  state.snoozedUntil = 0;
  clearTimeout(state.snoozeTimer);
  state.snoozeTimer = null;
  show(els.snoozed, false);
  show(els.snoozeButtons);
}

function endSnooze() {
  const wasFocused = document.activeElement === els.unsnooze;
  unsnooze();
  if (wasFocused) els.snoozeButtons.querySelector("button")?.focus();
  // A drift still going on alerts now (the timer may run late in a hidden tab; the next
  // state message checks the time too).
  if (state.lastMsg) handleAlert(state.lastMsg);
}

for (const button of els.snoozeButtons.querySelectorAll("button[data-minutes]")) {
  button.addEventListener("click", () => snooze(Number(button.dataset.minutes)));
}
els.unsnooze.addEventListener("click", () => {
  unsnooze();
  els.snoozeButtons.querySelector("button")?.focus();
  if (state.lastMsg) handleAlert(state.lastMsg);
});

// ---------------------------------------------------------------------------------------
// Sound and desktop notifications.

function notifyDesktop(text) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const n = new Notification("Focus Sentry", { body: text, tag: "focus-sentry-alert" });
    n.addEventListener("click", () => { window.focus(); n.close(); });
  } catch {
    // Some browsers only allow notifications from a service worker; the banner remains.
  }
}

function beep() {
  const ctx = state.audio;
  if (!ctx) return;
  const t = ctx.currentTime;
  // Two short tones, soft attack and release so there is no click.
  for (const [offset, freq] of [[0, 880], [0.22, 660]]) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t + offset);
    gain.gain.exponentialRampToValueAtTime(0.25, t + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + offset + 0.18);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t + offset);
    osc.stop(t + offset + 0.2);
  }
}
