// The live view: the indicator (green, red, with the reason in words), the face box over
// the video, the focused / unfocused timers, the countdown and the connection pill. It shows
// what the server's live state messages say: the timers its clock, the indicator the frames'
// own verdicts once two in a row agree (./indicator.js), so it follows the camera within
// ~0.5 s while the timers wait for the clock's 500 ms debounce.

import { $, formatClock, formatDateTime, formatDuration, formatPercent, formatPerclos, reasonText } from "../common.js";
import { createIndicator, heldSeconds } from "./indicator.js";
import { renderProfileInUse } from "./profiles.js";

const indicator = createIndicator();

const state = {
  session: null, // the session shown (planned length, end time)
  lastState: null, // the last live state message
  lastStateAt: 0, // when it arrived (performance.now())
  countdownTimer: null,
};

const els = {
  indicator: $("indicator"),
  videoWrap: $("video-wrap"),
  overlay: $("overlay"),
  stateText: $("state-text"),
  reasonText: $("reason-text"),
  connStatus: $("conn-status"),
};

/** Shows `session` from its start: no verdict yet, clocks at zero, the countdown running. */
export function startView(session) {
  state.session = session;
  state.lastState = null;
  indicator.reset();
  $("live-subtitle").textContent =
    `Planned ${formatDuration(session.planned_duration_s * 1000)}, ending at ${formatDateTime(session.ends_at_ms)}. ` +
    `Alert after ${session.alert_threshold_s} s away (${alertModeText(session.alert_mode)}).`;
  renderProfileInUse($("live-profile"), session.profile_id ?? null);
  renderIdle();
  // The zones are known from the start (0:00 each), so the line never moves what is below.
  renderZones((session.profile?.zones || []).map((zone) => ({ zone, ms: 0 })), null);
  clearInterval(state.countdownTimer);
  state.countdownTimer = setInterval(renderCountdown, 250);
}

/** Stops the countdown (the session is over). */
export function stopView() {
  clearInterval(state.countdownTimer);
  state.countdownTimer = null;
  state.session = null;
  state.lastState = null;
}

/**
 * A drift's length as the reason says it: whole seconds counted down like the timers
 * (formatClock), so "for 2 s" never stands beside "Unfocused 0:01".
 */
export function driftText(ms) {
  return formatDuration(Math.floor((ms || 0) / 1000) * 1000);
}

function alertModeText(mode) {
  return { banner: "banner", sound: "sound", both: "banner and sound" }[mode] || mode;
}

function renderIdle() {
  els.indicator.className = "indicator";
  els.videoWrap.className = "video-wrap";
  els.stateText.textContent = "Starting…";
  els.reasonText.textContent = "Waiting for the first camera frame.";
  for (const id of ["stat-focused", "stat-unfocused"]) $(id).textContent = "0:00";
  $("stat-breaks").textContent = "0";
  $("stat-percent").textContent = "–";
  $("frame-warning").textContent = "";
  renderUnjudged({});
  renderFatigue(null);
  clearOverlay();
}

/** Shows a live state message of the server (docs/api.md, the live WebSocket). */
export function renderState(msg) {
  state.lastState = msg;
  state.lastStateAt = performance.now();
  // The server's `state` as it is (no verdict before the first judged frames: "starting",
  // also just after a resume; paused time is neither green nor red), ahead of the clock's
  // debounce when two frame replies agree (indicator.js).
  const shown = indicator.follow(msg);
  const kind = shown.state;
  const cls = { focused: "is-focused", unfocused: "is-unfocused", paused: "is-paused" }[kind] || "";
  els.indicator.className = `indicator ${cls}`;
  els.videoWrap.className = `video-wrap ${kind === "paused" ? "" : cls}`;
  const [title, reason] = stateWords(shown, msg);
  els.stateText.textContent = title;
  els.reasonText.textContent = reason;
  $("stat-focused").textContent = formatClock(msg.focused_ms);
  $("stat-unfocused").textContent = formatClock(msg.unfocused_ms);
  $("stat-breaks").textContent = String(msg.breaks);
  $("stat-percent").textContent = formatPercent(msg.focus_percent);
  renderUnjudged(msg);
  renderFatigue(msg.fatigue);
  if (msg.zone_time) renderZones(msg.zone_time, msg.zone_name);
  renderCountdown();
  if (kind === "paused" || kind === "starting") clearOverlay();
  else if (msg.source === "frame") drawFace(msg.face, kind === "focused");
  else if (!msg.face && msg.reason === "no_signal") clearOverlay();
}

/** The indicator's two lines for `shown` (indicator.follow(msg)). */
function stateWords(shown, msg) {
  switch (shown.state) {
    case "focused":
      return shown.zone
        ? [`Focused (${shown.zone})`, `Looking at your ${shown.zone}: a zone of your profile, counted as focused.`]
        : ["Focused", "Eyes on the screen."];
    case "unfocused": {
      // "for N s" only once the clock has confirmed this reason (indicator.js heldSeconds).
      const seconds = heldSeconds(shown, msg);
      return ["Not focused", `${reasonText(shown.reason)}${seconds == null ? "" : ` for ${driftText(seconds * 1000)}`}.`];
    }
    case "paused":
      return ["Paused", `Not counted for ${formatClock(msg.state_ms)}. Resume (P) to go on.`];
    case "offline":
      return ["Offline", "The server was down; this time is not counted."];
    default:
      return ["Starting…", "Waiting for the first frames to be judged."];
  }
}

/**
 * Time that is neither focused nor unfocused, so the timers visibly add up. The line keeps
 * its place while empty: its first words (a pause, the first second of starting) must not
 * move the buttons below it.
 */
function renderUnjudged(msg) {
  const parts = [
    [msg.starting_ms, "starting"],
    [msg.paused_ms, "paused"],
    [msg.offline_ms, "server offline"],
  ].filter(([ms]) => ms >= 1000);
  const line = $("stat-unjudged");
  line.textContent = parts.length
    ? `Not counted: ${parts.map(([ms, what]) => `${formatClock(ms)} ${what}`).join(", ")}.`
    : "";
}

/**
 * The focused time on each extra zone of the profile ("Of it: notes 0:12 · tv 0:00"), counted
 * by the server's clock like the timers (a part of "Focused"); the zone the clock has the
 * user on now in bold. Hidden without zones.
 */
function renderZones(zoneTime, current) {
  const line = $("stat-zones");
  line.replaceChildren();
  if (!zoneTime.length) {
    line.hidden = true;
    return;
  }
  line.append("Of it: ");
  zoneTime.forEach((z, i) => {
    if (i > 0) line.append(" · ");
    const part = document.createElement("span");
    part.className = z.zone === current ? "zone-now" : "";
    part.dataset.zone = z.zone;
    part.textContent = `${z.zone} ${formatClock(z.ms)}`;
    line.append(part);
  });
  line.hidden = false;
}

/**
 * The last minute's blink rate and PERCLOS (the server's `fatigue`, docs/api.md): "–" until
 * the eyes have been in view for 10 s of it (also for a while after a resume). The line's
 * shape stays the same either way, so nothing moves when the figures come.
 */
function renderFatigue(fatigue) {
  const rate = fatigue ? fatigue.blink_rate_per_min : null;
  $("stat-blink-rate").textContent = rate == null ? "–" : String(Math.round(rate));
  $("stat-perclos").textContent = formatPerclos(fatigue ? fatigue.perclos_percent : null);
}

/**
 * The server is not answering: a grey indicator that says so, and the timers held where the
 * server last put them (they move again with its next message).
 */
export function renderNoConnection(silentMs) {
  indicator.reset();
  els.indicator.className = "indicator is-offline";
  els.videoWrap.className = "video-wrap";
  clearOverlay();
  if (silentMs == null) {
    els.stateText.textContent = "Not streaming here";
    els.reasonText.textContent = "Another window sends the camera for this session.";
    return;
  }
  els.stateText.textContent = "No connection";
  els.reasonText.textContent = silentMs >= 3000
    ? `No answer from the server for ${Math.floor(silentMs / 1000)} s; the timers wait for it.`
    : "The connection to the server dropped; the timers wait for it.";
}

/** Says why the last frame could not be used (empty text clears it). */
export function showFrameWarning(text) {
  $("frame-warning").textContent = text;
}

/** The frame rate and round trip line under the video. */
export function showNetStats(text) {
  $("net-stats").textContent = text;
}

/** The connection pill: `kind` "ok", "warn", "bad" or "" (neutral). */
export function setConnection(text, kind) {
  els.connStatus.textContent = text;
  els.connStatus.className = kind ? `pill ${kind}` : "pill";
}

function renderCountdown() {
  const { session } = state;
  if (!session) return;
  let remaining;
  if (state.lastState) {
    remaining = state.lastState.remaining_ms - (performance.now() - state.lastStateAt);
  } else {
    remaining = session.ends_at_ms - Date.now();
  }
  remaining = Math.max(0, remaining);
  $("stat-remaining").textContent = formatClock(remaining);
  const planned = session.planned_duration_s * 1000;
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
