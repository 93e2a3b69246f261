// The live session page: wires the form, the camera, the stream, the view, the alerts and
// the summary together, and owns the one piece of page state they share: which session is
// shown and whether it is over. Each concern keeps its own state in its module:
//
// | module | concern |
// | --- | --- |
// | settings.js | the form, its checks, the saved defaults |
// | profiles.js | the calibration profile chooser |
// | camera.js | the webcam and its errors in words |
// | preview.js | the start page's camera preview and framing check |
// | stream.js | the WebSocket, frame sending and pacing, reconnecting |
// | view.js | the indicator, timers, countdown, face box, connection pill |
// | alerts.js | banner, sound, desktop notification |
// | summary.js | the end-of-session card and its email/SMS status |
//
// Data reaches the page only through textContent.

import { $, api, ApiError, formatDateTime, formatDuration, show } from "../common.js";
import { clearNotice, notify } from "../notice.js";
import {
  clearAlert, handleAlert, loadEscalation, prepareAudio, requestNotifications, startAlerts,
} from "./alerts.js";
import { onCameraEnded, startCamera, stopCamera } from "./camera.js";
import {
  applyConfig, checkForm, clearErrors, loadDefaults, maxFrameWidth, readForm, showFieldError,
  showFormError, storeDefaults,
} from "./settings.js";
import { previewRunning, startPreviewIfAllowed, stopPreview } from "./preview.js";
import { loadProfiles } from "./profiles.js";
import { sendSoon, startStream, stopStream } from "./stream.js";
import { hideSummary, showSummary } from "./summary.js";
import { renderNoConnection, renderState, startView, stopView } from "./view.js";

const ACTIVE_KEY = "focus-sentry.active-session";

const page = {
  session: null, // the session as created (id, ends_at_ms, alert_mode, ...)
  ended: false,
  paused: false, // the server says the session is paused
};

const els = {
  form: $("session-form"),
  startBtn: $("start-btn"),
  setupCard: $("setup-card"),
  liveCard: $("live-card"),
  resumeCard: $("resume-card"),
  endBtn: $("end-btn"),
  pauseBtn: $("pause-btn"),
};

// ---------------------------------------------------------------------------------------
// Start-up: the server's limits, saved defaults, a session left running.

async function init() {
  loadDefaults();
  loadEscalation();
  loadProfiles();
  let config;
  try {
    config = await api("/api/config");
  } catch (e) {
    notify("Server unreachable", e.message, { action: init });
    return;
  }
  clearNotice();
  applyConfig(config);
  await checkRunningSession();
  if (!els.setupCard.hidden) startPreviewIfAllowed();
}

async function checkRunningSession() {
  // A session this tab was running, or one the history page offers to continue.
  const url = new URL(location.href);
  const wanted = url.searchParams.get("continue");
  if (wanted) {
    url.searchParams.delete("continue");
    history.replaceState(null, "", url);
  }
  const id = wanted || sessionStorage.getItem(ACTIVE_KEY);
  if (!id) return;
  let session;
  try {
    session = await api(`/api/sessions/${encodeURIComponent(id)}`);
  } catch {
    sessionStorage.removeItem(ACTIVE_KEY);
    return;
  }
  if (session.status !== "running" && !session.resumable) {
    sessionStorage.removeItem(ACTIVE_KEY);
    if (wanted) {
      notify("This session cannot be continued",
        "It is over: it was completed, or its planned end has passed.", { kind: "info" });
    }
    return;
  }
  offerToResume(session);
}

/**
 * The card for a session that is not streamed here: a running one (resume streaming, or end
 * it), or one a server restart interrupted before its planned end (continue it as the same
 * session, or leave it as it is).
 */
function offerToResume(session) {
  page.session = session;
  const cutOff = session.status !== "running";
  const planned = `Started ${formatDateTime(session.started_at_ms)}, planned to end at ${formatDateTime(session.ends_at_ms)}. `;
  $("resume-title").textContent = cutOff ? "A session was cut off by a server restart" : "A session is still running";
  $("resume-text").textContent = planned + (cutOff
    ? "Continue it as the same session until its planned end; the time the server was down shows as \u201coffline\u201d, neither focused nor unfocused."
    : "It keeps counting on the server (time without camera counts as \u201cno camera signal\u201d). Resume it, or end it now.");
  $("resume-btn").textContent = cutOff ? "Continue this session" : "Resume session";
  $("resume-end").textContent = cutOff ? "Leave it as it is" : "End it now";
  show(els.resumeCard);
  show(els.setupCard, false);
  $("resume-btn").focus();
}

$("resume-btn").addEventListener("click", async () => {
  show(els.resumeCard, false);
  prepareAudio(page.session.alert_mode);
  await requestNotifications();
  if (!(await cameraReady(() => $("resume-btn").click()))) {
    show(els.resumeCard);
    return;
  }
  if (page.session.status !== "running" && !(await continueSession())) {
    stopCamera();
    show(els.setupCard);
    startPreviewIfAllowed();
    return;
  }
  enterLive();
});

/** Continues an interrupted session on the server (POST .../resume); false if refused. */
async function continueSession() {
  try {
    const { live, ...session } = await api(`/api/sessions/${page.session.id}/resume`, { method: "POST" });
    page.session = session;
    sessionStorage.setItem(ACTIVE_KEY, String(session.id));
    return Boolean(live);
  } catch (e) {
    sessionStorage.removeItem(ACTIVE_KEY);
    notify("Could not continue the session", e.message, { kind: e.status === 409 ? "info" : "error" });
    return false;
  }
}

$("resume-end").addEventListener("click", async () => {
  show(els.resumeCard, false);
  if (page.session.status !== "running") {
    // Cut off: it is over already; leave it so and start afresh.
    sessionStorage.removeItem(ACTIVE_KEY);
    page.session = null;
    show(els.setupCard);
    startPreviewIfAllowed();
    return;
  }
  await endSession();
});

// ---------------------------------------------------------------------------------------
// Starting a session.

els.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  clearNotice();
  const form = readForm();
  const problem = checkForm(form);
  if (problem) {
    showFieldError(...problem);
    return;
  }
  els.startBtn.disabled = true;
  els.startBtn.textContent = "Starting…";
  try {
    // In the click's user gesture: audio and notifications need one.
    prepareAudio(form.alert_mode);
    await requestNotifications();
    if (!(await cameraReady(() => els.startBtn.click()))) return;
    let session;
    try {
      session = await api("/api/sessions", { method: "POST", body: form });
    } catch (e) {
      if (!previewRunning()) stopCamera();
      if (e instanceof ApiError && e.status === 422 && e.field) showFieldError(e.field, e.message);
      else if (e instanceof ApiError && e.network) notify("Server unreachable", e.message, { action: () => els.startBtn.click() });
      else showFormError(e.message);
      return;
    }
    storeDefaults(form);
    page.session = session;
    sessionStorage.setItem(ACTIVE_KEY, String(session.id));
    enterLive();
  } finally {
    els.startBtn.disabled = false;
    els.startBtn.textContent = "Start focus session";
  }
});

/** Starts the camera; if it cannot start, says why, with `retry` where trying again can help. */
async function cameraReady(retry) {
  const problem = await startCamera();
  if (!problem) return true;
  notify(problem.title, problem.text, { action: problem.retry ? retry : null });
  return false;
}

onCameraEnded(() => {
  if (page.ended || !page.session) return;
  notify(
    "The camera stopped",
    "The camera was disconnected or taken by another application. The session goes on, counting this time as \u201cno camera signal\u201d. Reconnect it and try again.",
    { action: () => startCamera().then((p) => !p && sendSoon()) },
  );
});

// ---------------------------------------------------------------------------------------
// The live view.

function enterLive() {
  page.ended = false;
  stopPreview({ keepCamera: true });
  show(els.setupCard, false);
  hideSummary();
  show(els.resumeCard, false);
  show(els.liveCard);
  startAlerts(page.session);
  startView(page.session);
  setPaused(false);
  startStream(page.session, {
    frameWidth: maxFrameWidth(),
    hooks: {
      onState: showLive,
      onResumed: sessionContinued,
      onEnded: (summary) => finish(summary),
      onStopped: sessionStopped,
      onGone: (text) => finish(null, text),
      onSilent: showNoConnection,
    },
  });
  askToEnd(false, { refocus: false });
  // Not the End button: a second Enter must not end the session just started.
  $("live-title").focus();
}

/** A live state of the server, from the socket or a pause / resume answer. */
function showLive(msg) {
  renderState(msg);
  handleAlert(msg);
  setPaused(msg.state === "paused");
}

/**
 * After a server restart the stream continued this session as the same one (stream.js says
 * so in a notice): keep its fresh state, e.g. `offline_ms` and the status.
 */
function sessionContinued(session) {
  page.session = { ...page.session, ...session };
}

// ---------------------------------------------------------------------------------------
// Pause and resume: the button, or P anywhere on the page but in a form field.

function setPaused(paused) {
  page.paused = paused;
  $("pause-label").textContent = paused ? "Resume" : "Pause";
  els.pauseBtn.setAttribute("aria-pressed", String(paused));
}

async function togglePause() {
  if (!page.session || page.ended || els.pauseBtn.disabled) return;
  const action = page.paused ? "resume" : "pause";
  els.pauseBtn.disabled = true;
  try {
    const { live } = await api(`/api/sessions/${page.session.id}/${action}`, { method: "POST" });
    if (live && !page.ended) showLive(live);
  } catch (e) {
    notify(action === "pause" ? "Could not pause" : "Could not resume", e.message, { action: togglePause });
  } finally {
    els.pauseBtn.disabled = false;
  }
}

els.pauseBtn.addEventListener("click", togglePause);
document.addEventListener("keydown", (event) => {
  if (event.key !== "p" && event.key !== "P") return;
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  if (els.liveCard.hidden || event.target.closest("input, select, textarea, [contenteditable]")) return;
  event.preventDefault();
  togglePause();
});

/** The server stopped answering: nothing shown is current any more. */
function showNoConnection(silentMs) {
  clearAlert();
  renderNoConnection(silentMs);
}

/**
 * The session ended while the page was not connected (one a server restart cut off before
 * its planned end is continued by stream.js instead, see sessionContinued).
 */
function sessionStopped(session) {
  finish(session.summary);
  if (session.status === "interrupted") {
    // The server stopped (or crashed) and the session's planned end has passed. Say so:
    // the summary alone would not explain the short totals.
    notify(
      "The server restarted",
      "The server stopped while this session was running, so it was closed as interrupted " +
        "with the totals saved just before. Start another session to carry on.",
      { kind: "info" },
    );
  }
}

// ---------------------------------------------------------------------------------------
// Ending.

// No single key press ends a session: End asks first, with "Keep going" focused, so a
// second Enter keeps the session; Escape keeps it too.
els.endBtn.addEventListener("click", () => askToEnd(true));
$("end-cancel").addEventListener("click", () => askToEnd(false));
$("end-confirm-btn").addEventListener("click", () => {
  askToEnd(false, { refocus: false });
  endSession();
});
$("end-confirm").addEventListener("keydown", (event) => {
  if (event.key === "Escape") askToEnd(false);
});

/** Shows or withdraws the question "End this session now?". */
function askToEnd(asking, { refocus = true } = {}) {
  show($("end-actions"), !asking);
  show($("end-confirm"), asking);
  if (!refocus) return;
  if (asking) $("end-cancel").focus();
  else els.endBtn.focus();
}

async function endSession() {
  if (!page.session) return;
  els.endBtn.disabled = true;
  try {
    const summary = await api(`/api/sessions/${page.session.id}/end`, { method: "POST" });
    finish(summary);
  } catch (e) {
    notify("Could not end the session", e.message, { action: endSession });
  } finally {
    els.endBtn.disabled = false;
  }
}

function finish(summary, message) {
  if (page.ended && !summary) return;
  page.ended = true;
  stopStream();
  stopView();
  stopCamera();
  clearNotice();
  clearAlert();
  sessionStorage.removeItem(ACTIVE_KEY);
  show(els.liveCard, false);
  show(els.resumeCard, false);
  if (!summary) {
    notify("Session over", message || "The session ended.", { action: null, kind: "info" });
    show(els.setupCard);
    startPreviewIfAllowed();
    return;
  }
  showSummary(summary, page.session);
}

$("again-btn").addEventListener("click", () => {
  hideSummary();
  page.session = null;
  show(els.setupCard);
  $("duration").focus();
  startPreviewIfAllowed();
});

window.addEventListener("pagehide", () => {
  // Leave the session running on the server (it can be resumed); just stop the camera.
  stopCamera();
});

init();
