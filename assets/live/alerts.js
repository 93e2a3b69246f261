// Alerts: once per drift, on the rising edge of the server's `alert` (it rises when a drift
// reaches the threshold and clears on refocus). The banner, a two-tone beep, or both, as the
// session asked; a desktop notification as well when the tab is hidden and the user allowed
// notifications.

import { $, reasonText, show } from "../common.js";
import { driftText } from "./view.js";

const state = {
  mode: "banner", // the session's alert_mode
  active: false, // an alert is up for the current drift
  audio: null, // AudioContext, made in a user gesture
};

const banner = $("alert-banner");
const bannerText = $("alert-text");

/** Gets sound ready; call it in a click's user gesture (browsers start audio only then). */
export function prepareAudio(mode) {
  if (mode !== "sound" && mode !== "both") return;
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  if (!state.audio) state.audio = new Ctx();
  if (state.audio.state === "suspended") state.audio.resume().catch(() => {});
}

/** Asks once for permission to notify (in a user gesture). */
export async function requestNotifications() {
  if (!("Notification" in window) || Notification.permission !== "default") return;
  try {
    await Notification.requestPermission();
  } catch {
    // Older browsers take a callback; without permission we simply do not notify.
  }
}

/** Alerts as `mode` says ("banner", "sound" or "both") from now on. */
export function startAlerts(mode) {
  state.mode = mode || "banner";
  clearAlert();
}

/** Takes the banner down (refocus, or the session is over). */
export function clearAlert() {
  state.active = false;
  show(banner, false);
}

function alertText(msg) {
  return `Eyes back on the screen: ${reasonText(msg.reason).toLowerCase()} for ${driftText(msg.drift_ms)}.`;
}

/** Follows a live state message: alerts on the rising edge, updates, clears on refocus. */
export function handleAlert(msg) {
  const { mode } = state;
  if (msg.alert && !state.active) {
    state.active = true;
    const text = alertText(msg);
    if (mode === "banner" || mode === "both") {
      bannerText.textContent = text;
      show(banner);
    }
    if (mode === "sound" || mode === "both") beep();
    if (document.hidden) notifyDesktop(text);
  } else if (msg.alert && state.active && !banner.hidden) {
    bannerText.textContent = alertText(msg);
  } else if (!msg.alert && state.active) {
    clearAlert();
  }
}

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
