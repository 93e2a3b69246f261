// The frame stream: the session's WebSocket, camera frames sent as JPEG when the server asks
// for them, the server's live state messages handed on, and reconnecting with backoff when
// the connection drops (continuing the session if a server restart cut it off).
//
// Silence: the server sends something at least every second. When the socket drops, or
// nothing arrives for 3 s, the page says "No connection" at once (hooks.onSilent) rather
// than go on showing the last verdict as if it were live.
//
// Pacing is the server's: it sends {"next": true} when it wants a frame (at most 5 a second,
// once the previous one is answered), and the page captures in that message's handler. No
// timer is in the frame path: a hidden tab's timers run once a second, once a minute after
// Chromium's intensive throttling starts, while WebSocket messages, createImageBitmap and a
// dedicated Worker are not throttled. The JPEG is encoded in a Worker (./encoder.js); where
// that is not available, on the page with canvas.toBlob (docs/architecture.md, "Streaming in
// the background").

import { api, ApiError, UNREACHABLE } from "../common.js";
import { clearNotice, notify } from "../notice.js";
import { cameraActive, video } from "./camera.js";
import { captureJpeg, videoReady } from "./capture.js";
import { rateText } from "./rate.js";
import { setConnection, showFrameWarning, showNetStats } from "./view.js";

const JPEG_QUALITY = 0.7;
const SILENCE_MS = 3000; // no message this long: no connection
const WATCHDOG_MS = 500;
// Rates are judged only after this long on a connection (the first seconds ramp up).
const SETTLE_MS = 5000;

const state = {
  session: null, // the session streamed ({ id, ... }); null when not streaming
  hooks: null, // { onState, onEnded, onStopped, onGone, onSilent, onResumed? }
  frameWidth: 640,
  ws: null,
  connectedAt: 0, // performance.now() when the socket opened
  capturing: false, // a frame is being captured and encoded
  asked: false, // the server asked for a frame the camera could not give yet
  reconnectTimer: null,
  reconnectAttempts: 0,
  lastMessageAt: 0, // performance.now() of the last message on the open socket
  silent: false, // "No connection" is shown
  handedOver: false, // another window took the stream over (close code 4001)
  resumed: false, // a server restart interrupted the session and it was just continued
  watchdog: null,
};

/**
 * Streams the camera to `session` until `stopStream()`. `hooks`: `onState(msg)` for each live
 * state; `onEnded(summary)` when the server ends the session; `onStopped(session)` when,
 * after a lost connection, the session turns out to have ended meanwhile (`session` as
 * `GET /api/sessions/{id}` gives it); `onGone(text)` when it no longer exists;
 * `onSilent(ms)` when the connection drops or the server says nothing for 3 s (`ms`: how
 * long it has been silent; called again as it goes on; null when another window took the
 * stream over); `onResumed(session)` (optional) when a session that a server restart
 * interrupted was continued on reconnecting (`session` as `POST .../resume` answers).
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

/**
 * Says "No connection" once the server has been silent too long (or the socket is gone).
 * Page timers are throttled in a hidden tab, so this may run late there; it runs again when
 * the tab shows.
 */
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
  clearTimeout(state.reconnectTimer);
  if (state.ws) {
    const ws = state.ws;
    state.ws = null;
    try { ws.close(1000, "session over"); } catch { /* already closed */ }
  }
}

/** Sends the frame the server asked for as soon as the camera can give it (it is back). */
export function sendSoon() {
  if (state.asked) captureFrame();
}

function connect() {
  clearTimeout(state.reconnectTimer);
  if (!state.session) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/api/sessions/${state.session.id}/live`);
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  state.capturing = false;
  state.asked = false;
  state.handedOver = false;
  setConnection("Connecting…", "");

  ws.addEventListener("open", () => {
    state.reconnectAttempts = 0;
    state.connectedAt = performance.now();
    setConnection("Connected", "ok");
    clearNotice();
  });

  ws.addEventListener("message", (event) => {
    if (state.ws !== ws) return;
    state.lastMessageAt = performance.now();
    if (typeof event.data !== "string") return;
    if (state.resumed) {
      state.resumed = false;
      notify(
        "The server restarted",
        "The server stopped while this session was running. It is back and the session goes on; the time it was away shows as \u201cserver offline\u201d in the session\u2019s timeline.",
        { action: null, kind: "info" },
      );
    }
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
    `Reconnecting in ${Math.round(delay / 1000)} s. The session keeps running on the server meanwhile (the time counts as \u201cno camera signal\u201d); if the server itself stopped, the session continues when it is back.`,
    { actionLabel: "Reconnect now", action: reconnectNow, kind: "warn" },
  );
  state.reconnectTimer = setTimeout(reconnectNow, delay);
}

/**
 * Before reconnecting, asks whether the session still runs: it may have ended meanwhile, or
 * a server restart may have interrupted it, in which case it is continued as the same session
 * (`POST .../resume`; the outage becomes an "offline" stretch of its timeline).
 */
async function reconnectNow() {
  clearTimeout(state.reconnectTimer);
  const { session, hooks } = state;
  if (!session) return;
  let now;
  try {
    now = await api(`/api/sessions/${session.id}`);
    if (now.status === "interrupted" && now.resumable) {
      now = await api(`/api/sessions/${session.id}/resume`, { method: "POST" });
      if (state.session !== session) return;
      state.resumed = true;
      hooks.onResumed?.(now);
    }
  } catch (e) {
    if (state.session !== session) return;
    if (e instanceof ApiError && e.status === 404) {
      hooks.onGone("This session no longer exists on the server (it was deleted).");
      return;
    }
    if (e instanceof ApiError && e.status === 409) {
      // It could not be continued after all (its planned end passed meanwhile): show it as
      // it stands.
      try {
        const stopped = await api(`/api/sessions/${session.id}`);
        if (state.session !== session) return;
        if (stopped.status === "running") connect();
        else hooks.onStopped(stopped);
        return;
      } catch {
        // unreachable again: retry below
      }
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
  if (msg.next) {
    captureFrame();
    return;
  }
  const answersFrame = msg.source === "frame";
  if (msg.error) {
    if (answersFrame) {
      showFrameWarning(`The last frame could not be used: ${msg.detail || msg.error}.`);
    } else if (msg.error !== "replaced") {
      notify("Server message", msg.detail || msg.error, { action: null, kind: "warn" });
    }
    return;
  }
  if (answersFrame) showFrameWarning("");
  showStreamStats(msg);
  state.hooks.onState(msg);
}

/** What the server measured of the stream, in words: the rate, and why it is low (rate.js). */
function showStreamStats(msg) {
  if (!msg.stream) return;
  showNetStats(rateText(msg.stream, {
    settled: performance.now() - state.connectedAt >= SETTLE_MS,
    paused: msg.state === "paused",
    hidden: document.hidden,
    cameraActive: cameraActive(),
  }));
}

// ---------------------------------------------------------------------------------------
// Capturing a frame: createImageBitmap from the video, JPEG in a Worker (./capture.js), sent
// on the socket.

/** Answers the server's request: one frame, captured now. */
async function captureFrame() {
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN || !state.session) return;
  // The server asks again after a second if no frame comes; no queue is kept here.
  if (state.capturing) return;
  if (!cameraActive() || !videoReady(video)) {
    state.asked = true;
    return;
  }
  state.asked = false;
  state.capturing = true;
  try {
    const buffer = await captureJpeg(video, { maxWidth: state.frameWidth, quality: JPEG_QUALITY });
    if (buffer && state.ws === ws && ws.readyState === WebSocket.OPEN) ws.send(buffer);
  } catch {
    // A failed capture is not answered; the server asks again.
  } finally {
    state.capturing = false;
  }
}
