// Fake webcam clips for Chromium's `--use-file-for-fake-video-capture`, made at test time
// with ffmpeg from the committed photos and the shared video (never committed).
//
// Chromium plays the file at the frame rate in its Y4M header from the moment the page opens
// the camera, and loops it. Every segment is scaled and padded to 640x480 (the size the page
// asks for), 10 frames/s (twice the page's 5 frames/s, so no sent frame is stale), yuv420p.

import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";

import { FFMPEG } from "./env.js";

export const CLIP_FPS = 10;
const FRAME = "scale=640:480:force_original_aspect_ratio=decrease," +
  "pad=640:480:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1";

/**
 * Writes `<dir>/<name>.y4m` from `segments`, played in order, and returns its path and
 * length. A segment is `{ image, seconds }` (a still held that long) or
 * `{ video, from, seconds }` (a cut of a video); either may add `filter`, an ffmpeg filter
 * applied to its frames first (e.g. `lutrgb` to darken it).
 */
export function makeClip(dir, name, segments) {
  const args = ["-hide_banner", "-loglevel", "error", "-y"];
  const filters = [];
  segments.forEach((segment, i) => {
    if (segment.image) {
      args.push("-loop", "1", "-framerate", String(CLIP_FPS), "-t", String(segment.seconds), "-i", segment.image);
    } else if (segment.video) {
      args.push("-ss", String(segment.from), "-t", String(segment.seconds), "-i", segment.video);
    } else {
      throw new Error(`segment ${i} has neither image nor video`);
    }
    // trim + setpts: every segment lasts exactly its seconds, whatever the source's timing.
    filters.push(
      `[${i}:v]${segment.filter ? `${segment.filter},` : ""}fps=${CLIP_FPS},${FRAME},trim=duration=${segment.seconds},setpts=PTS-STARTPTS,format=yuv420p[v${i}]`,
    );
  });
  const inputs = segments.map((_, i) => `[v${i}]`).join("");
  filters.push(`${inputs}concat=n=${segments.length}:v=1:a=0[out]`);
  const path = join(dir, `${name}.y4m`);
  args.push("-filter_complex", filters.join(";"), "-map", "[out]", "-r", String(CLIP_FPS),
    "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", path);
  const run = spawnSync(FFMPEG, args, { encoding: "utf8", timeout: 60_000 });
  if (run.error) throw new Error(`could not run ${FFMPEG} (apt-get install ffmpeg): ${run.error.message}`);
  if (run.status !== 0) throw new Error(`ffmpeg failed making ${name}.y4m:\n${run.stderr}`);
  const seconds = segments.reduce((sum, s) => sum + s.seconds, 0);
  const frameBytes = 640 * 480 * 1.5;
  const frames = Math.round(statSync(path).size / frameBytes);
  if (Math.abs(frames - seconds * CLIP_FPS) > 2) {
    throw new Error(`${name}.y4m has about ${frames} frames; expected ${seconds * CLIP_FPS}`);
  }
  return { path, seconds };
}

/**
 * Writes `<dir>/<name>.jpg`: `image` as the fake webcam would show it (scaled and padded to
 * 640x480), for tests that send frames themselves. Returns its path.
 */
export function makeFrame(dir, name, image) {
  const path = join(dir, `${name}.jpg`);
  const run = spawnSync(FFMPEG, ["-hide_banner", "-loglevel", "error", "-y", "-i", image,
    "-vf", FRAME, "-frames:v", "1", "-q:v", "3", path], { encoding: "utf8", timeout: 60_000 });
  if (run.error) throw new Error(`could not run ${FFMPEG} (apt-get install ffmpeg): ${run.error.message}`);
  if (run.status !== 0) throw new Error(`ffmpeg failed making ${name}.jpg:\n${run.stderr}`);
  return path;
}
