// The live session page: the form, the camera, the frame stream over a WebSocket, the live
// state, alerts, and the summary. Data reaches the page only through textContent.
//
// Streaming: one frame in flight at a time. Each reply gives the round trip; the page aims
// for 5 frames per second and slows down when the server takes longer (the interval is
// 1.25 x the smoothed round trip, never under 200 ms), so a busy server is never flooded.

import {
  $, api, ApiError, UNREACHABLE, el, formatClock, formatDuration, formatPercent,
  formatDateTime, reasonText, show, deliveryList, deliveriesSettled, requestResend,
} from "./common.js";

const DEFAULTS_KEY = "focus-sentry.defaults";
const ACTIVE_KEY = "focus-sentry.active-session";
const MIN_INTERVAL_MS = 200; // 5 frames per second at most
const MAX_INTERVAL_MS = 2000;
const FRAME_TIMEOUT_MS = 5000; // a reply this late is given up on
const JPEG_QUALITY = 0.7;
const DELIVERY_POLL_MS = 1000; // how often the summary card asks how the email/SMS is doing
const DELIVERY_WATCH_MS = 90_000; // and for how long (the default retries take about 30 s)

const page = {
  config: null,
  session: null, // the session as created (id, ends_at_ms, alert_mode, ...)
  ws: null,
  stream: null, // MediaStream
  ended: false,
  inFlight: null, // { sentAt }
  lastSentAt: 0,
  rttEwma: null,
  frameTimer: null,
  reconnectTimer: null,
  reconnectAttempts: 0,
  alertActive: false,
  audio: null,
  lastState: null,
  lastStateAt: 0,
  countdownTimer: null,
  frameWidth: 640,
  sentFrames: 0,
  sentSince: performance.now(),
  deliveryTimer: null,
  deliveryWatch: null, // { id, until }
  summaryId: null, // the session whose summary card is shown
};

const els = {
  form: $("session-form"),
  startBtn: $("start-btn"),
  formError: $("form-error"),
  duration: $("duration"),
  threshold: $("threshold"),
  alertMode: $("alert-mode"),
  email: $("email"),
  sendEmail: $("send-email"),
  phone: $("phone"),
  sendSms: $("send-sms"),
  saveDefaults: $("save-defaults"),
  setupCard: $("setup-card"),
  liveCard: $("live-card"),
  summaryCard: $("summary-card"),
  resumeCard: $("resume-card"),
  notice: $("notice"),
  video: $("video"),
  overlay: $("overlay"),
  videoWrap: $("video-wrap"),
  indicator: $("indicator"),
  stateText: $("state-text"),
  reasonText: $("reason-text"),
  connStatus: $("conn-status"),
  banner: $("alert-banner"),
  bannerText: $("alert-text"),
};

// ---------------------------------------------------------------------------------------
// Notices: every failure is said in words, with the action that fixes it.

let noticeAction = null;

function notify(title, text, { actionLabel = "Try again", action = null, kind = "error" } = {}) {
  $("notice-title").textContent = title;
  $("notice-text").textContent = text;
  els.notice.className = kind === "error" ? "notice" : `notice ${kind}`;
  const button = $("notice-action");
  noticeAction = action;
  show(button, Boolean(action));
  button.textContent = actionLabel;
  show(els.notice);
}

function clearNotice() {
  show(els.notice, false);
  noticeAction = null;
}

$("notice-action").addEventListener("click", () => {
  const action = noticeAction;
  clearNotice();
  if (action) action();
});

// ---------------------------------------------------------------------------------------
// Start-up: the server's limits, saved defaults, a session left running.

async function init() {
  loadDefaults();
  try {
    page.config = await api("/api/config");
  } catch (e) {
    notify("Server unreachable", e.message, { action: init });
    return;
  }
  clearNotice();
  applyConfig(page.config);
  await checkRunningSession();
}

function applyConfig(config) {
  const { duration_minutes: d, alert_threshold_s: t, max_frame_width: w } = config.limits;
  els.duration.min = d.min;
  els.duration.max = d.max;
  els.threshold.min = t.min;
  els.threshold.max = t.max;
  page.frameWidth = w || 640;
  setChannel({
    checkbox: els.sendEmail,
    label: $("send-email-label"),
    hint: $("email-hint"),
    configured: config.email_configured,
    problems: config.email_problems || [],
    helpUrl: config.email_help_url || "/help/email",
    name: "Email",
    onText: "The summary is emailed when the session ends.",
  });
  setChannel({
    checkbox: els.sendSms,
    label: $("send-sms-label"),
    hint: $("phone-hint"),
    configured: config.sms_configured,
    problems: config.sms_problems || [],
    helpUrl: config.sms_help_url || "/help/sms",
    name: "SMS",
    onText: "The summary is texted when the session ends.",
  });
}

/** A channel the server cannot send on: its checkbox is off and disabled, and the hint says
 * why and links to the setup guide (served by the app). */
function setChannel({ checkbox, label, hint, configured, problems, helpUrl, name, onText }) {
  checkbox.disabled = !configured;
  label.classList.toggle("disabled", !configured);
  hint.replaceChildren();
  if (configured) {
    hint.textContent = onText;
    return;
  }
  checkbox.checked = false;
  const why = problems.length
    ? `${name} is off: the server's settings for ${problems.join(", ")} need fixing (its start-up log says what is wrong). `
    : `${name} is not set up on this server. `;
  hint.append(
    why,
    el("a", { href: helpUrl, target: "_blank", rel: "noopener" }, `How to set up ${name === "SMS" ? "SMS" : "email"}`),
    ".",
  );
}

function loadDefaults() {
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(DEFAULTS_KEY) || "null");
  } catch {
    saved = null;
  }
  if (!saved || typeof saved !== "object") return;
  if (saved.duration_minutes != null) els.duration.value = saved.duration_minutes;
  if (saved.alert_threshold_s != null) els.threshold.value = saved.alert_threshold_s;
  if (["banner", "sound", "both"].includes(saved.alert_mode)) els.alertMode.value = saved.alert_mode;
  els.email.value = saved.email || "";
  els.phone.value = saved.phone || "";
  els.sendEmail.checked = Boolean(saved.send_email);
  els.sendSms.checked = Boolean(saved.send_sms);
  els.saveDefaults.checked = true;
}

function storeDefaults(form) {
  try {
    if (els.saveDefaults.checked) localStorage.setItem(DEFAULTS_KEY, JSON.stringify(form));
    else localStorage.removeItem(DEFAULTS_KEY);
  } catch {
    // Storage may be disabled (private mode); the session goes on without it.
  }
}

async function checkRunningSession() {
  const id = sessionStorage.getItem(ACTIVE_KEY);
  if (!id) return;
  let session;
  try {
    session = await api(`/api/sessions/${encodeURIComponent(id)}`);
  } catch {
    sessionStorage.removeItem(ACTIVE_KEY);
    return;
  }
  if (session.status !== "running") {
    sessionStorage.removeItem(ACTIVE_KEY);
    return;
  }
  page.session = session;
  $("resume-text").textContent =
    `Started ${formatDateTime(session.started_at_ms)}, planned for ${formatDuration(session.planned_duration_s * 1000)}. ` +
    "It keeps counting on the server (time without camera counts as \u201cno camera signal\u201d). Resume it, or end it now.";
  show(els.resumeCard);
  show(els.setupCard, false);
  $("resume-btn").focus();
}

$("resume-btn").addEventListener("click", async () => {
  show(els.resumeCard, false);
  prepareAudio(page.session.alert_mode);
  await requestNotifications();
  if (!(await startCamera())) {
    show(els.resumeCard);
    return;
  }
  enterLive();
});

$("resume-end").addEventListener("click", async () => {
  show(els.resumeCard, false);
  await endSession();
});

// ---------------------------------------------------------------------------------------
// The form.

function readForm() {
  return {
    duration_minutes: els.duration.value === "" ? null : Number(els.duration.value),
    alert_threshold_s: els.threshold.value === "" ? null : Number(els.threshold.value),
    alert_mode: els.alertMode.value,
    email: els.email.value.trim() || null,
    phone: els.phone.value.trim() || null,
    send_email: els.sendEmail.checked,
    send_sms: els.sendSms.checked,
  };
}

const FIELD_INPUTS = {
  duration_minutes: "duration",
  alert_threshold_s: "threshold",
  alert_mode: "alert-mode",
  email: "email",
  phone: "phone",
  send_email: "send-email",
  send_sms: "send-sms",
};

function clearErrors() {
  els.formError.textContent = "";
  for (const node of document.querySelectorAll(".field-error[data-field]")) node.textContent = "";
  for (const id of Object.values(FIELD_INPUTS)) $(id).removeAttribute("aria-invalid");
}

function showFieldError(field, message) {
  const input = $(FIELD_INPUTS[field] || "");
  const slot = document.querySelector(`.field-error[data-field="${field}"]`);
  if (!input || !slot) {
    els.formError.textContent = message;
    return;
  }
  slot.textContent = message;
  input.setAttribute("aria-invalid", "true");
  input.focus();
}

/** The same checks as the server, so most mistakes are caught before a round trip. */
function checkForm(form) {
  const { duration_minutes: d, alert_threshold_s: t } = page.config
    ? page.config.limits
    : { duration_minutes: { min: 1, max: 600 }, alert_threshold_s: { min: 0.5, max: 600 } };
  if (form.duration_minutes == null || !Number.isFinite(form.duration_minutes) ||
      form.duration_minutes < d.min || form.duration_minutes > d.max) {
    return ["duration_minutes", `Enter a duration between ${d.min} and ${d.max} minutes.`];
  }
  if (form.alert_threshold_s == null || !Number.isFinite(form.alert_threshold_s) ||
      form.alert_threshold_s < t.min || form.alert_threshold_s > t.max) {
    return ["alert_threshold_s", `Enter a threshold between ${t.min} and ${t.max} seconds.`];
  }
  if (form.send_email && page.config && !page.config.email_configured) {
    return ["send_email", "Email is not set up on this server; untick \u201cSend email summary\u201d."];
  }
  if (form.send_sms && page.config && !page.config.sms_configured) {
    return ["send_sms", "SMS is not set up on this server; untick \u201cSend SMS summary\u201d."];
  }
  if (form.send_email && !form.email) {
    return ["email", "Enter an email address to receive the summary, or untick \u201cSend email summary\u201d."];
  }
  if (form.email && !/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(form.email)) {
    return ["email", `\u201c${form.email}\u201d does not look like an email address (e.g. you@example.com).`];
  }
  if (form.phone && !/^\+[1-9][0-9]{7,14}$/.test(form.phone.replace(/[\s().-]/g, ""))) {
    return ["phone", `\u201c${form.phone}\u201d is not a full international number: start with + and the country code, e.g. +14155550123.`];
  }
  if (form.send_sms && !form.phone) {
    return ["phone", "Enter a phone number with its country code (e.g. +14155550123), or untick \u201cSend SMS summary\u201d."];
  }
  return null;
}

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
    if (!(await startCamera())) return;
    let session;
    try {
      session = await api("/api/sessions", { method: "POST", body: form });
    } catch (e) {
      stopCamera();
      if (e instanceof ApiError && e.status === 422 && e.field) showFieldError(e.field, e.message);
      else if (e instanceof ApiError && e.network) notify("Server unreachable", e.message, { action: () => els.startBtn.click() });
      else els.formError.textContent = e.message;
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

// ---------------------------------------------------------------------------------------
// Camera.

async function startCamera() {
  if (page.stream && page.stream.active) return true;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    notify(
      "Camera not available here",
      "This browser does not offer the camera on this page. Open Focus Sentry at http://localhost:8000 or http://127.0.0.1:8000 (browsers allow the camera only on secure or local addresses), in a recent Chrome, Firefox, Edge or Safari.",
      { action: null },
    );
    return false;
  }
  try {
    page.stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
      audio: false,
    });
  } catch (e) {
    const retry = () => startCamera().then((ok) => ok && page.session && !page.ended && enterLive());
    const messages = {
      NotAllowedError: ["Camera access was denied", "Focus Sentry needs the camera to see whether you are looking at the screen. Allow camera access for this site (the camera icon in the address bar), then try again."],
      SecurityError: ["Camera access was denied", "The browser blocked the camera for this page. Allow camera access for this site, then try again."],
      NotFoundError: ["No camera found", "No webcam was found. Connect one (or enable it in your system settings), then try again."],
      OverconstrainedError: ["No suitable camera", "No camera could provide video. Connect another webcam, then try again."],
      NotReadableError: ["Camera is busy", "The camera could not be started: another application (a video call?) may be using it. Close it, then try again."],
      AbortError: ["Camera did not start", "The camera did not start. Try again, or reconnect it."],
    };
    const [title, text] = messages[e && e.name] || ["Camera did not start", `The camera could not be started (${(e && e.message) || "unknown error"}). Try again.`];
    notify(title, text, { action: page.session ? retry : () => els.startBtn.click() });
    return false;
  }
  els.video.srcObject = page.stream;
  try {
    await els.video.play();
  } catch {
    // Autoplay of a muted stream is allowed; if it still fails frames are skipped until it plays.
  }
  for (const track of page.stream.getVideoTracks()) {
    track.addEventListener("ended", () => {
      if (page.ended) return;
      notify(
        "The camera stopped",
        "The camera was disconnected or taken by another application. The session goes on, counting this time as \u201cno camera signal\u201d. Reconnect it and try again.",
        { action: () => startCamera().then((ok) => ok && scheduleFrame(0)) },
      );
    });
  }
  return true;
}

function stopCamera() {
  if (page.stream) for (const track of page.stream.getTracks()) track.stop();
  page.stream = null;
  els.video.srcObject = null;
}

// ---------------------------------------------------------------------------------------
// Live view and the WebSocket.

function enterLive() {
  page.ended = false;
  page.alertActive = false;
  page.lastState = null;
  show(els.setupCard, false);
  show(els.summaryCard, false);
  show(els.resumeCard, false);
  show(els.liveCard);
  const s = page.session;
  $("live-subtitle").textContent =
    `Planned ${formatDuration(s.planned_duration_s * 1000)}, ending at ${formatDateTime(s.ends_at_ms)}. ` +
    `Alert after ${s.alert_threshold_s} s away (${alertModeText(s.alert_mode)}).`;
  renderIdle();
  clearInterval(page.countdownTimer);
  page.countdownTimer = setInterval(renderCountdown, 250);
  connect();
  $("end-btn").focus();
}

function alertModeText(mode) {
  return { banner: "banner", sound: "sound", both: "banner and sound" }[mode] || mode;
}

function connect() {
  clearTimeout(page.reconnectTimer);
  if (page.ended || !page.session) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/api/sessions/${page.session.id}/live`);
  ws.binaryType = "arraybuffer";
  page.ws = ws;
  page.inFlight = null;
  setConnection("Connecting…", "");

  ws.addEventListener("open", () => {
    page.reconnectAttempts = 0;
    page.sentFrames = 0;
    page.sentSince = performance.now();
    setConnection("Connected", "ok");
    clearNotice();
    scheduleFrame(0);
  });

  ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    onMessage(msg);
  });

  ws.addEventListener("close", (event) => {
    if (page.ws !== ws) return;
    page.ws = null;
    page.inFlight = null;
    clearTimeout(page.frameTimer);
    if (page.ended) return;
    if (event.code === 4001) {
      setConnection("Paused", "warn");
      notify(
        "Streaming from another window",
        "This session was opened in another window or tab, which now sends the camera. Take it back here if you want to continue in this window.",
        { actionLabel: "Continue here", action: connect, kind: "warn" },
      );
      return;
    }
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  page.reconnectAttempts += 1;
  const delay = Math.min(10000, 1000 * 2 ** Math.min(page.reconnectAttempts - 1, 4));
  setConnection("Reconnecting…", "bad");
  notify(
    "Connection to the server lost",
    `Reconnecting in ${Math.round(delay / 1000)} s. The session keeps running on the server meanwhile (the time counts as \u201cno camera signal\u201d).`,
    { actionLabel: "Reconnect now", action: reconnectNow, kind: "warn" },
  );
  page.reconnectTimer = setTimeout(reconnectNow, delay);
}

/** Before reconnecting, asks whether the session still runs (it may have ended meanwhile). */
async function reconnectNow() {
  clearTimeout(page.reconnectTimer);
  if (page.ended || !page.session) return;
  let session;
  try {
    session = await api(`/api/sessions/${page.session.id}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      finish(null, "This session no longer exists on the server (it was deleted).");
      return;
    }
    page.reconnectAttempts += 1;
    const delay = Math.min(10000, 1000 * 2 ** Math.min(page.reconnectAttempts - 1, 4));
    setConnection("Server unreachable", "bad");
    notify("Server unreachable", `${UNREACHABLE} Retrying in ${Math.round(delay / 1000)} s.`, {
      actionLabel: "Retry now",
      action: reconnectNow,
    });
    page.reconnectTimer = setTimeout(reconnectNow, delay);
    return;
  }
  if (session.status === "interrupted") {
    // The server stopped (or crashed) and, on starting again, closed the session at its
    // last save. Say so: the summary alone would not explain the short totals.
    finish(session.summary);
    notify(
      "The server restarted",
      "The server stopped while this session was running, so it was closed as interrupted " +
        "with the totals saved just before. Start another session to carry on.",
      { kind: "info" },
    );
    return;
  }
  if (session.status !== "running") {
    finish(session.summary);
    return;
  }
  connect();
}

function setConnection(text, kind) {
  els.connStatus.textContent = text;
  els.connStatus.className = kind ? `pill ${kind}` : "pill";
}

function onMessage(msg) {
  if (msg.ended) {
    finish(msg.summary);
    return;
  }
  const answersFrame = msg.source === "frame";
  if (answersFrame && page.inFlight) {
    const rtt = performance.now() - page.inFlight.sentAt;
    page.rttEwma = page.rttEwma == null ? rtt : 0.8 * page.rttEwma + 0.2 * rtt;
    page.inFlight = null;
  }
  if (msg.error) {
    if (answersFrame) {
      $("frame-warning").textContent = `The last frame could not be used: ${msg.detail || msg.error}.`;
    } else if (msg.error !== "replaced") {
      notify("Server message", msg.detail || msg.error, { action: null, kind: "warn" });
    }
  } else {
    if (answersFrame) $("frame-warning").textContent = "";
    render(msg);
  }
  if (answersFrame) scheduleFrame(nextDelay());
  else if (!page.inFlight && document.hidden && performance.now() - page.lastSentAt >= interval()) {
    // Background tabs throttle timers to about once a second or less; the server's own
    // state messages keep the stream going.
    sendFrame();
  }
}

function interval() {
  if (page.rttEwma == null) return MIN_INTERVAL_MS;
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, page.rttEwma * 1.25));
}

function nextDelay() {
  return Math.max(0, page.lastSentAt + interval() - performance.now());
}

function scheduleFrame(delay) {
  clearTimeout(page.frameTimer);
  page.frameTimer = setTimeout(sendFrame, delay);
}

const capture = document.createElement("canvas");

function sendFrame() {
  const ws = page.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN || page.ended) return;
  if (page.inFlight && performance.now() - page.inFlight.sentAt < FRAME_TIMEOUT_MS) return;
  const video = els.video;
  if (!page.stream || video.readyState < 2 || !video.videoWidth) {
    scheduleFrame(MIN_INTERVAL_MS);
    return;
  }
  // Back-pressure on the socket itself: if earlier frames are still queued, wait.
  if (ws.bufferedAmount > 0) {
    scheduleFrame(MIN_INTERVAL_MS);
    return;
  }
  const scale = Math.min(1, page.frameWidth / video.videoWidth);
  capture.width = Math.round(video.videoWidth * scale);
  capture.height = Math.round(video.videoHeight * scale);
  capture.getContext("2d").drawImage(video, 0, 0, capture.width, capture.height);
  page.inFlight = { sentAt: performance.now() };
  page.lastSentAt = page.inFlight.sentAt;
  capture.toBlob(async (blob) => {
    if (!blob || page.ws !== ws || ws.readyState !== WebSocket.OPEN) {
      page.inFlight = null;
      scheduleFrame(MIN_INTERVAL_MS);
      return;
    }
    ws.send(await blob.arrayBuffer());
    countFrame();
  }, "image/jpeg", JPEG_QUALITY);
  // If no reply comes, try again after the timeout.
  scheduleFrame(FRAME_TIMEOUT_MS);
}

function countFrame() {
  page.sentFrames += 1;
  const now = performance.now();
  const elapsed = now - page.sentSince;
  if (elapsed >= 3000) {
    const fps = (page.sentFrames * 1000) / elapsed;
    const rtt = page.rttEwma == null ? "–" : `${Math.round(page.rttEwma)} ms`;
    const slow = page.rttEwma != null && page.rttEwma * 1.25 > MIN_INTERVAL_MS ? " (slowed down: the server is busy)" : "";
    $("net-stats").textContent = `${fps.toFixed(1)} frames/s, reply in ${rtt}${slow}`;
    page.sentFrames = 0;
    page.sentSince = now;
  }
}

// ---------------------------------------------------------------------------------------
// Rendering the state.

function renderIdle() {
  els.indicator.className = "indicator";
  els.videoWrap.className = "video-wrap";
  els.stateText.textContent = "Starting…";
  els.reasonText.textContent = "Waiting for the first camera frame.";
  for (const id of ["stat-focused", "stat-unfocused"]) $(id).textContent = "0:00";
  $("stat-breaks").textContent = "0";
  $("stat-percent").textContent = "–";
  $("frame-warning").textContent = "";
  clearOverlay();
}

function render(msg) {
  page.lastState = msg;
  page.lastStateAt = performance.now();
  const focused = Boolean(msg.focused);
  const cls = focused ? "is-focused" : "is-unfocused";
  els.indicator.className = `indicator ${cls}`;
  els.videoWrap.className = `video-wrap ${cls}`;
  els.stateText.textContent = focused ? "Focused" : "Not focused";
  els.reasonText.textContent = focused
    ? "Eyes on the screen."
    : `${reasonText(msg.reason)}${msg.drift_ms ? ` for ${formatDuration(msg.drift_ms)}` : ""}.`;
  $("stat-focused").textContent = formatClock(msg.focused_ms);
  $("stat-unfocused").textContent = formatClock(msg.unfocused_ms);
  $("stat-breaks").textContent = String(msg.breaks);
  $("stat-percent").textContent = formatPercent(msg.focus_percent);
  renderCountdown();
  if (msg.source === "frame") drawFace(msg.face, focused);
  else if (!msg.face && msg.reason === "no_signal") clearOverlay();
  handleAlert(msg);
}

function renderCountdown() {
  if (!page.session || page.ended) return;
  let remaining;
  if (page.lastState) {
    remaining = page.lastState.remaining_ms - (performance.now() - page.lastStateAt);
  } else {
    remaining = page.session.ends_at_ms - Date.now();
  }
  remaining = Math.max(0, remaining);
  $("stat-remaining").textContent = formatClock(remaining);
  const planned = page.session.planned_duration_s * 1000;
  const done = planned > 0 ? Math.min(1, Math.max(0, 1 - remaining / planned)) : 0;
  $("progress-bar").style.width = `${(done * 100).toFixed(1)}%`;
}

function clearOverlay() {
  const ctx = els.overlay.getContext("2d");
  ctx.clearRect(0, 0, els.overlay.width, els.overlay.height);
}

/** Draws the face box from the frame's pixel coordinates onto the overlay. */
function drawFace(face, focused) {
  const canvas = els.overlay;
  const rect = canvas.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(rect.width * dpr);
  canvas.height = Math.round(rect.height * dpr);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!face || !face.box || !face.image_width || !face.image_height) return;
  // The video is shown with object-fit: contain; map frame pixels the same way.
  const scale = Math.min(canvas.width / face.image_width, canvas.height / face.image_height);
  const offX = (canvas.width - face.image_width * scale) / 2;
  const offY = (canvas.height - face.image_height * scale) / 2;
  const [x0, y0, x1, y1] = face.box;
  ctx.lineWidth = 3 * dpr;
  ctx.strokeStyle = focused ? "#34d399" : "#f87171";
  ctx.setLineDash(focused ? [] : [10 * dpr, 6 * dpr]);
  ctx.strokeRect(offX + x0 * scale, offY + y0 * scale, (x1 - x0) * scale, (y1 - y0) * scale);
}

// ---------------------------------------------------------------------------------------
// Alerts: once per drift (the server's `alert` rises once and clears on refocus).

function prepareAudio(mode) {
  if (mode !== "sound" && mode !== "both") return;
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  if (!page.audio) page.audio = new Ctx();
  if (page.audio.state === "suspended") page.audio.resume().catch(() => {});
}

function beep() {
  const ctx = page.audio;
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

async function requestNotifications() {
  if (!("Notification" in window) || Notification.permission !== "default") return;
  try {
    await Notification.requestPermission();
  } catch {
    // Older browsers take a callback; without permission we simply do not notify.
  }
}

function handleAlert(msg) {
  const mode = page.session ? page.session.alert_mode : "banner";
  if (msg.alert && !page.alertActive) {
    page.alertActive = true;
    const words = reasonText(msg.reason).toLowerCase();
    const text = `Eyes back on the screen: ${words} for ${formatDuration(msg.drift_ms || 0)}.`;
    if (mode === "banner" || mode === "both") {
      els.bannerText.textContent = text;
      show(els.banner);
    }
    if (mode === "sound" || mode === "both") beep();
    if (document.hidden && "Notification" in window && Notification.permission === "granted") {
      try {
        const n = new Notification("Focus Sentry", { body: text, tag: "focus-sentry-alert" });
        n.addEventListener("click", () => { window.focus(); n.close(); });
      } catch {
        // Some browsers only allow notifications from a service worker; the banner remains.
      }
    }
  } else if (msg.alert && page.alertActive && !els.banner.hidden) {
    els.bannerText.textContent =
      `Eyes back on the screen: ${reasonText(msg.reason).toLowerCase()} for ${formatDuration(msg.drift_ms || 0)}.`;
  } else if (!msg.alert && page.alertActive) {
    page.alertActive = false;
    show(els.banner, false);
  }
}

// ---------------------------------------------------------------------------------------
// Ending.

$("end-btn").addEventListener("click", () => endSession());

async function endSession() {
  if (!page.session) return;
  const button = $("end-btn");
  button.disabled = true;
  try {
    const summary = await api(`/api/sessions/${page.session.id}/end`, { method: "POST" });
    finish(summary);
  } catch (e) {
    notify("Could not end the session", e.message, { action: endSession });
  } finally {
    button.disabled = false;
  }
}

function finish(summary, message) {
  if (page.ended && !summary) return;
  page.ended = true;
  clearTimeout(page.frameTimer);
  clearTimeout(page.reconnectTimer);
  clearInterval(page.countdownTimer);
  if (page.ws) {
    const ws = page.ws;
    page.ws = null;
    try { ws.close(1000, "session over"); } catch { /* already closed */ }
  }
  stopCamera();
  clearNotice();
  show(els.banner, false);
  page.alertActive = false;
  sessionStorage.removeItem(ACTIVE_KEY);
  show(els.liveCard, false);
  show(els.resumeCard, false);
  if (!summary) {
    notify("Session over", message || "The session ended.", { action: null, kind: "info" });
    show(els.setupCard);
    return;
  }
  renderSummary(summary);
  show(els.summaryCard);
  els.summaryCard.focus();
}

function renderSummary(s) {
  const percent = s.focus_percent || 0;
  $("summary-when").textContent = page.session
    ? `Started ${formatDateTime(page.session.started_at_ms)}`
    : "";
  const badge = $("summary-badge");
  if (s.status === "interrupted") {
    badge.textContent = "Interrupted";
    badge.className = "pill warn";
  } else if (s.ended_early) {
    badge.textContent = "Ended early";
    badge.className = "pill warn";
  } else {
    badge.textContent = "Completed";
    badge.className = "pill ok";
  }
  const breaks = s.breaks_count === 1 ? "1 break" : `${s.breaks_count} breaks`;
  const verdict = percent >= 85 ? "Excellent focus." : percent >= 65 ? "Good focus." : percent >= 40 ? "Mixed focus." : "A distracted session.";
  $("summary-headline").textContent =
    `${verdict} You were focused ${formatPercent(percent)} of ${formatDuration(s.total_seconds * 1000)}, ` +
    `with ${breaks}; your longest focused stretch was ${formatDuration(s.longest_focus_seconds * 1000)}.`;
  $("summary-meter").style.width = `${Math.min(100, Math.max(0, percent))}%`;
  $("sum-total").textContent = formatDuration(s.total_seconds * 1000);
  $("sum-focused").textContent = formatDuration(s.focused_seconds * 1000);
  $("sum-unfocused").textContent = formatDuration(s.unfocused_seconds * 1000);
  $("sum-breaks").textContent = String(s.breaks_count);
  $("sum-percent").textContent = formatPercent(percent);
  $("sum-longest").textContent = formatDuration(s.longest_focus_seconds * 1000);
  $("sum-early").textContent = s.ended_early ? "Yes" : "No";
  $("summary-history").href = `/history?session=${encodeURIComponent(s.id)}`;
  watchDeliveries(s.id);
}

// ---------------------------------------------------------------------------------------
// The summary by email and SMS: sent in the background after the session ends. The card
// asks the server how it is going until every channel is sent or failed (or for a while).

function watchDeliveries(id) {
  clearTimeout(page.deliveryTimer);
  if (page.summaryId !== id) {
    // Another session's summary: start from an empty card.
    show($("summary-delivery"), false);
    $("summary-delivery-list").replaceChildren();
  }
  page.summaryId = id;
  $("summary-delivery-note").textContent = "";
  page.deliveryWatch = { id, until: performance.now() + DELIVERY_WATCH_MS };
  pollDeliveries();
}

async function pollDeliveries() {
  const watch = page.deliveryWatch;
  if (!watch) return;
  let session;
  try {
    session = await api(`/api/sessions/${encodeURIComponent(watch.id)}`);
  } catch (e) {
    if (page.deliveryWatch !== watch) return;
    if (e instanceof ApiError && e.status === 404) return;
    $("summary-delivery-note").textContent = `Could not ask the server how the summary is doing: ${e.message}`;
    page.deliveryTimer = setTimeout(pollDeliveries, DELIVERY_POLL_MS * 3);
    return;
  }
  if (page.deliveryWatch !== watch) return;
  const deliveries = session.deliveries || [];
  show($("summary-delivery"), deliveries.length > 0);
  $("summary-delivery-list").replaceChildren(deliveryList(deliveries, resendDelivery));
  const settled = deliveriesSettled(deliveries);
  if (settled) {
    $("summary-delivery-note").textContent = "";
    page.deliveryWatch = null;
  } else if (performance.now() < watch.until) {
    $("summary-delivery-note").textContent = "";
    page.deliveryTimer = setTimeout(pollDeliveries, DELIVERY_POLL_MS);
  } else {
    $("summary-delivery-note").textContent =
      "Still trying in the background; the history page shows how it ends.";
    page.deliveryWatch = null;
  }
}

async function resendDelivery(delivery, button) {
  const queued = await requestResend(delivery, button, $("summary-delivery-note"));
  if (queued && page.summaryId != null) watchDeliveries(page.summaryId);
}

$("again-btn").addEventListener("click", () => {
  clearTimeout(page.deliveryTimer);
  page.deliveryWatch = null;
  show(els.summaryCard, false);
  page.session = null;
  page.lastState = null;
  show(els.setupCard);
  els.duration.focus();
});

window.addEventListener("pagehide", () => {
  // Leave the session running on the server (it can be resumed); just stop the camera.
  stopCamera();
});

init();
