// The frame stream: the session's WebSocket, camera frames sent as JPEG, the server's live
// state messages handed on, and reconnecting with backoff when the connection drops.
//
// Silence: the server sends a state message at least every second. When the socket drops,
// or nothing arrives for 3 s, the page says "No connection" at once (hooks.onSilent) rather
// than go on showing the last verdict as if it were live.
//
// Pacing: one frame in flight at a time. Each reply gives the round trip; the page aims for
// 5 frames per second and slows down when the server takes longer (the interval is 1.25 x
// the smoothed round trip, never under 200 ms), so a busy server is never flooded.

import { api, ApiError, UNREACHABLE } from "../common.js";
import { clearNotice, notify } from "../notice.js";
import { cameraActive, video } from "./camera.js";
import { setConnection, showFrameWarning, showNetStats } from "./view.js";

const MIN_INTERVAL_MS = 200; // 5 frames per second at most
const MAX_INTERVAL_MS = 2000;
const FRAME_TIMEOUT_MS = 5000; // a reply this late is given up on
const JPEG_QUALITY = 0.7;
const STATS_EVERY_MS = 3000;
const SILENCE_MS = 3000; // no message this long: no connection
const WATCHDOG_MS = 500;

const state = {
  session: null, // the session streamed ({ id, ... }); null when not streaming
  hooks: null, // { onState(msg), onEnded(summary), onStopped(session), onGone(text), onSilent(ms) }
  frameWidth: 640,
  ws: null,
  inFlight: null, // { sentAt } of the frame awaiting its reply
  lastSentAt: 0,
  rttEwma: null, // smoothed round trip, ms
  frameTimer: null,
  reconnectTimer: null,
  reconnectAttempts: 0,
  sentFrames: 0,
  sentSince: performance.now(),
  lastMessageAt: 0, // performance.now() of the last message on the open socket
  silent: false, // "No connection" is shown
  handedOver: false, // another window took the stream over (close code 4001)
  watchdog: null,
};

const capture = document.createElement("canvas");

/**
 * Streams the camera to `session` until `stopStream()`. `hooks`: `onState(msg)` for each live
 * state; `onEnded(summary)` when the server ends the session; `onStopped(session)` when,
 * after a lost connection, the session turns out to have ended meanwhile (`session` as
 * `GET /api/sessions/{id}` gives it); `onGone(text)` when it no longer exists;
 * `onSilent(ms)` when the connection drops or the server says nothing for 3 s (`ms`: how
 * long it has been silent; called again as it goes on; null when another window took the
 * stream over).
 */
export function startStream(session, { frameWidth, hooks }) {
  state.session = session;
  state.hooks = hooks;
  state.frameWidth = frameWidth || 640;
  state.silent = false;
  state.lastMessageAt = performance.now();
  clearInterval(state.watchdog);
  state.watchdog = setInterval(checkSilence, WATCHDOG_MS);
  document.addEventListener("visibilitychange", checkSilence);
  connect();
}

/** Says "No connection" once the server has been silent too long (or the socket is gone). */
function checkSilence() {
  if (!state.session || state.handedOver) return;
  const silentMs = performance.now() - state.lastMessageAt;
  const dropped = !state.ws || state.ws.readyState >= WebSocket.CLOSING;
  if (dropped || silentMs >= SILENCE_MS) {
    state.silent = true;
    state.hooks.onSilent(silentMs);
  }
}

/** Closes the socket and stops every timer (the session is over). */
export function stopStream() {
  state.session = null;
  clearInterval(state.watchdog);
  document.removeEventListener("visibilitychange", checkSilence);
  clearTimeout(state.frameTimer);
  clearTimeout(state.reconnectTimer);
  if (state.ws) {
    const ws = state.ws;
    state.ws = null;
    try { ws.close(1000, "session over"); } catch { /* already closed */ }
  }
}

/** Sends a frame as soon as it can (e.g. the camera is back). */
export function sendSoon() {
  scheduleFrame(0);
}

function connect() {
  clearTimeout(state.reconnectTimer);
  if (!state.session) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/api/sessions/${state.session.id}/live`);
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  state.inFlight = null;
  state.handedOver = false;
  setConnection("Connecting…", "");

  ws.addEventListener("open", () => {
    state.reconnectAttempts = 0;
    state.sentFrames = 0;
    state.sentSince = performance.now();
    setConnection("Connected", "ok");
    clearNotice();
    scheduleFrame(0);
  });

  ws.addEventListener("message", (event) => {
    if (state.ws !== ws) return;
    state.lastMessageAt = performance.now();
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
    if (state.ws !== ws) return;
    state.ws = null;
    state.inFlight = null;
    clearTimeout(state.frameTimer);
    if (!state.session) return;
    if (event.code === 4001) {
      state.handedOver = true;
      state.hooks.onSilent(null);
      setConnection("Paused", "warn");
      notify(
        "Streaming from another window",
        "This session was opened in another window or tab, which now sends the camera. Take it back here if you want to continue in this window.",
        { actionLabel: "Continue here", action: connect, kind: "warn" },
      );
      return;
    }
    checkSilence();
    scheduleReconnect();
  });
}

/** 1, 2, 4, 8, then every 10 s. */
function backoffMs() {
  state.reconnectAttempts += 1;
  return Math.min(10000, 1000 * 2 ** Math.min(state.reconnectAttempts - 1, 4));
}

function scheduleReconnect() {
  const delay = backoffMs();
  setConnection("Reconnecting…", "bad");
  notify(
    "Connection to the server lost",
    `Reconnecting in ${Math.round(delay / 1000)} s. The session keeps running on the server meanwhile (the time counts as \u201cno camera signal\u201d).`,
    { actionLabel: "Reconnect now", action: reconnectNow, kind: "warn" },
  );
  state.reconnectTimer = setTimeout(reconnectNow, delay);
}

/** Before reconnecting, asks whether the session still runs (it may have ended meanwhile). */
async function reconnectNow() {
  clearTimeout(state.reconnectTimer);
  const { session, hooks } = state;
  if (!session) return;
  let now;
  try {
    now = await api(`/api/sessions/${session.id}`);
  } catch (e) {
    if (state.session !== session) return;
    if (e instanceof ApiError && e.status === 404) {
      hooks.onGone("This session no longer exists on the server (it was deleted).");
      return;
    }
    const delay = backoffMs();
    setConnection("Server unreachable", "bad");
    notify("Server unreachable", `${UNREACHABLE} Retrying in ${Math.round(delay / 1000)} s.`, {
      actionLabel: "Retry now",
      action: reconnectNow,
    });
    state.reconnectTimer = setTimeout(reconnectNow, delay);
    return;
  }
  if (state.session !== session) return;
  if (now.status !== "running") {
    hooks.onStopped(now);
    return;
  }
  connect();
}

function onMessage(msg) {
  if (msg.ended) {
    state.hooks.onEnded(msg.summary);
    return;
  }
  // The server's request for a frame ({"next": true}): this page still sends on its own
  // timer, which the server serves too.
  if (msg.next) return;
  const answersFrame = msg.source === "frame";
  if (answersFrame && state.inFlight) {
    const rtt = performance.now() - state.inFlight.sentAt;
    state.rttEwma = state.rttEwma == null ? rtt : 0.8 * state.rttEwma + 0.2 * rtt;
    state.inFlight = null;
  }
  if (msg.error) {
    if (answersFrame) {
      showFrameWarning(`The last frame could not be used: ${msg.detail || msg.error}.`);
    } else if (msg.error !== "replaced") {
      notify("Server message", msg.detail || msg.error, { action: null, kind: "warn" });
    }
  } else {
    if (answersFrame) showFrameWarning("");
    state.hooks.onState(msg);
  }
  if (answersFrame) scheduleFrame(nextDelay());
  else if (!state.inFlight && document.hidden && performance.now() - state.lastSentAt >= interval()) {
    // Background tabs throttle timers to about once a second or less; the server's own
    // state messages keep the stream going.
    sendFrame();
  }
}

function interval() {
  if (state.rttEwma == null) return MIN_INTERVAL_MS;
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, state.rttEwma * 1.25));
}

function nextDelay() {
  return Math.max(0, state.lastSentAt + interval() - performance.now());
}

function scheduleFrame(delay) {
  clearTimeout(state.frameTimer);
  state.frameTimer = setTimeout(sendFrame, delay);
}

function sendFrame() {
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN || !state.session) return;
  if (state.inFlight && performance.now() - state.inFlight.sentAt < FRAME_TIMEOUT_MS) return;
  if (!cameraActive() || video.readyState < 2 || !video.videoWidth) {
    scheduleFrame(MIN_INTERVAL_MS);
    return;
  }
  // Back-pressure on the socket itself: if earlier frames are still queued, wait.
  if (ws.bufferedAmount > 0) {
    scheduleFrame(MIN_INTERVAL_MS);
    return;
  }
  const scale = Math.min(1, state.frameWidth / video.videoWidth);
  capture.width = Math.round(video.videoWidth * scale);
  capture.height = Math.round(video.videoHeight * scale);
  capture.getContext("2d").drawImage(video, 0, 0, capture.width, capture.height);
  state.inFlight = { sentAt: performance.now() };
  state.lastSentAt = state.inFlight.sentAt;
  capture.toBlob(async (blob) => {
    if (!blob || state.ws !== ws || ws.readyState !== WebSocket.OPEN) {
      state.inFlight = null;
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
  state.sentFrames += 1;
  const now = performance.now();
  const elapsed = now - state.sentSince;
  if (elapsed >= STATS_EVERY_MS) {
    const fps = (state.sentFrames * 1000) / elapsed;
    const rtt = state.rttEwma == null ? "–" : `${Math.round(state.rttEwma)} ms`;
    const slow = state.rttEwma != null && state.rttEwma * 1.25 > MIN_INTERVAL_MS ? " (slowed down: the server is busy)" : "";
    showNetStats(`${fps.toFixed(1)} frames/s, reply in ${rtt}${slow}`);
    state.sentFrames = 0;
    state.sentSince = now;
  }
}
