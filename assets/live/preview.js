// The start page's camera check: the camera's picture before a session, and the server's
// framing check of it in words (POST /api/frames/check: face found, centred, near enough,
// enough light, and what to fix), about once a second while the setup card is shown.
//
// The camera is camera.js's: the session that starts next takes it over as it is, so the
// browser asks for it once. Checks never overlap: the next is asked for a second after the
// previous answer (the server runs one check at a time and answers 429 to the rest).

import { $, show, UNREACHABLE } from "../common.js";
import { cameraActive, showCameraIn, startCamera, stopCamera } from "./camera.js";

/** Time between the answer to one check and the next request. */
const CHECK_EVERY_MS = 1000;
/** The frames checked are at most this wide (the server's models work at 640 px or less). */
const MAX_WIDTH = 640;

const els = {
  panel: $("preview-panel"),
  wrap: $("preview-wrap"),
  video: $("preview"),
  button: $("preview-btn"),
  headline: $("framing-headline"),
  checks: $("framing-checks"),
  advice: $("framing-advice"),
};

const INTRO = els.headline.textContent;
const CHECKS = {
  face_found: "Face found",
  centred: "Centred",
  near_enough: "Near enough",
  enough_light: "Enough light",
};

const state = {
  running: false,
  timer: null,
  /** Bumped on every start and stop: an answer to an older run is dropped. */
  run: 0,
  canvas: null,
};

/** Starts the preview and its checks; says in the panel why the camera could not start. */
export async function startPreview() {
  if (state.running) return;
  const run = ++state.run;
  state.running = true;
  els.button.textContent = "Stop the camera";
  showCameraIn(els.video);
  const problem = await startCamera();
  if (run !== state.run) return;
  if (problem) {
    state.running = false;
    els.button.textContent = "Check my camera";
    say(`${problem.title}. ${problem.text}`, "bad");
    return;
  }
  show(els.wrap);
  say("Checking the picture…");
  schedule(run, 0);
}

/**
 * Stops checking. `keepCamera`: leave the camera on (a session is about to use it);
 * otherwise it is turned off as well.
 */
export function stopPreview({ keepCamera = false } = {}) {
  state.run++;
  state.running = false;
  clearTimeout(state.timer);
  state.timer = null;
  els.button.textContent = "Check my camera";
  if (!keepCamera) stopCamera();
  resetPanel();
}

/** True while the preview shows the camera. */
export function previewRunning() {
  return state.running;
}

/** Starts the preview at once if this site may already use the camera (no prompt then). */
export async function startPreviewIfAllowed() {
  if (state.running || !navigator.permissions) return;
  try {
    const status = await navigator.permissions.query({ name: "camera" });
    if (status.state === "granted") await startPreview();
  } catch {
    // This browser cannot say (Firefox before 131): wait for the button.
  }
}

els.button.addEventListener("click", () => {
  if (state.running) stopPreview();
  else startPreview();
});

function resetPanel() {
  show(els.wrap, false);
  show(els.checks, false);
  els.advice.replaceChildren();
  say(INTRO);
}

function schedule(run, delayMs) {
  clearTimeout(state.timer);
  state.timer = setTimeout(() => check(run), delayMs);
}

async function check(run) {
  if (run !== state.run) return;
  // Nothing to check while the tab is hidden (and no point: nobody reads it).
  if (document.hidden || !cameraActive()) {
    schedule(run, CHECK_EVERY_MS);
    return;
  }
  const frame = await grabFrame();
  if (run !== state.run) return;
  if (!frame) {
    schedule(run, 200); // the video has no picture yet
    return;
  }
  let response;
  try {
    response = await fetch("/api/frames/check", {
      method: "POST",
      headers: { "Content-Type": "image/jpeg", Accept: "application/json" },
      body: frame,
    });
  } catch {
    if (run === state.run) say(UNREACHABLE, "bad");
    schedule(run, 3 * CHECK_EVERY_MS);
    return;
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (run !== state.run) return;
  if (response.ok && body) render(body);
  else if (response.status !== 429) {
    // 429: another check was running (another tab?); keep what is shown and ask again.
    say(`The picture could not be checked: ${(body && (body.detail || body.error)) || response.statusText}.`, "bad");
  }
  schedule(run, CHECK_EVERY_MS);
}

/** The preview's current picture as a JPEG, at most MAX_WIDTH wide; null before it plays. */
function grabFrame() {
  const { videoWidth: w, videoHeight: h } = els.video;
  if (!w || !h) return Promise.resolve(null);
  const scale = Math.min(1, MAX_WIDTH / w);
  state.canvas ||= document.createElement("canvas");
  const canvas = state.canvas;
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(h * scale);
  canvas.getContext("2d").drawImage(els.video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.8));
}

/** Shows one answer of the framing check (docs/api.md). */
function render(result) {
  say(result.headline, result.good ? "ok" : "bad");
  show(els.checks);
  for (const item of els.checks.children) {
    const value = result[item.dataset.check];
    const word = value === true ? "yes" : value === false ? "no" : "–";
    const text = `${CHECKS[item.dataset.check]}: ${word}`;
    if (item.textContent !== text) item.textContent = text;
    item.className = value === true ? "ok" : value === false ? "bad" : "unknown";
  }
  const advice = result.advice || [];
  const same = advice.length === els.advice.children.length &&
    advice.every((text, i) => els.advice.children[i].textContent === text);
  if (!same) {
    els.advice.replaceChildren(...advice.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
  }
}

/** Sets the headline (only when it changes: it is a live region). */
function say(text, kind = "") {
  if (els.headline.textContent !== text) els.headline.textContent = text;
  els.headline.className = `framing-headline ${kind}`.trim();
}
