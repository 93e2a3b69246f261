// The camera: asks for it, shows it in the live view's <video>, and says in words why it
// could not start (denied, missing, busy). Frames are read from the <video> by stream.js.

import { $ } from "../common.js";

const state = { stream: null, onEnded: null, previews: new Set() };

/** The live view's video element: the camera's picture, and where frames are read from. */
export const video = $("video");

/** What happens when the camera stops by itself (unplugged, taken by another app). */
export function onCameraEnded(callback) {
  state.onEnded = callback;
}

/**
 * Shows the camera in another <video> too (the start page's preview): now if it runs, and
 * whenever it starts again; until `stopCamera`.
 */
export function showCameraIn(element) {
  state.previews.add(element);
  if (state.stream) element.srcObject = state.stream;
}

/** True while the camera streams. */
export function cameraActive() {
  return Boolean(state.stream && state.stream.active);
}

const PROBLEMS = {
  NotAllowedError: ["Camera access was denied", "Focus Sentry needs the camera to see whether you are looking at the screen. Allow camera access for this site (the camera icon in the address bar), then try again."],
  SecurityError: ["Camera access was denied", "The browser blocked the camera for this page. Allow camera access for this site, then try again."],
  NotFoundError: ["No camera found", "No webcam was found. Connect one (or enable it in your system settings), then try again."],
  OverconstrainedError: ["No suitable camera", "No camera could provide video. Connect another webcam, then try again."],
  NotReadableError: ["Camera is busy", "The camera could not be started: another application (a video call?) may be using it. Close it, then try again."],
  AbortError: ["Camera did not start", "The camera did not start. Try again, or reconnect it."],
};

/**
 * Starts the camera (if it is not running). Resolves to null when it runs, else to the
 * problem in words: `{ title, text, retry }` (`retry`: whether trying again can help).
 */
export async function startCamera() {
  if (cameraActive()) return null;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return {
      title: "Camera not available here",
      text: "This browser does not offer the camera on this page. Open Focus Sentry at http://localhost:8000 or http://127.0.0.1:8000 (browsers allow the camera only on secure or local addresses), in a recent Chrome, Firefox, Edge or Safari.",
      retry: false,
    };
  }
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
      audio: false,
    });
  } catch (e) {
    const [title, text] = PROBLEMS[e && e.name] ||
      ["Camera did not start", `The camera could not be started (${(e && e.message) || "unknown error"}). Try again.`];
    return { title, text, retry: true };
  }
  for (const element of [video, ...state.previews]) {
    element.srcObject = state.stream;
    try {
      await element.play();
    } catch {
      // Autoplay of a muted stream is allowed; if it still fails frames are skipped until it plays.
    }
  }
  const stream = state.stream;
  for (const track of stream.getVideoTracks()) {
    track.addEventListener("ended", () => {
      if (state.stream === stream && state.onEnded) state.onEnded();
    });
  }
  return null;
}

export function stopCamera() {
  if (state.stream) for (const track of state.stream.getTracks()) track.stop();
  state.stream = null;
  for (const element of [video, ...state.previews]) element.srcObject = null;
  state.previews.clear();
}
