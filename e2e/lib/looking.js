// A fake webcam that looks where the test tells it: the stand-in for a person whose eyes
// follow the calibration's dot, or who glances at their notes during a session.
//
// Chromium's file camera (`--use-file-for-fake-video-capture=FILE.y4m`) reads the file one
// frame at a time as it plays (10 frames/s here), at the frame's offset, and loops. This
// camera's file holds one frame; `look(view)` overwrites that frame in place (same size,
// same header, no truncation), so within a frame or two the camera shows the new view. A
// still camera cannot look at the corners, and a timed video cannot know when the page will
// show each dot; this follows the page as a person would.
//
// The views are committed, licensed frames of one person looking in different directions
// (tests/fixtures/stream, frames of the Pexels clip), made into single-frame Y4M files by
// lib/clips.js at test time.

import { closeSync, copyFileSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";

import { makeClip } from "./clips.js";

/**
 * Makes `<dir>/<name>.y4m` and one frame per view (`views`: `{ viewName: imagePath }`).
 * The camera starts on the first view. Returns `{ path, look(viewName), showing }`.
 */
export function makeLookingCamera(dir, name, views) {
  const frames = new Map();
  for (const [view, image] of Object.entries(views)) {
    // One frame at the clips' 10 frames/s.
    const clip = makeClip(dir, `${name}-${view}`, [{ image, seconds: 0.1 }]);
    frames.set(view, readFileSync(clip.path));
  }
  const [first] = frames.keys();
  const path = join(dir, `${name}.y4m`);
  copyFileSync(join(dir, `${name}-${first}.y4m`), path);
  const size = statSync(path).size;
  for (const [view, bytes] of frames) {
    if (bytes.length !== size) {
      throw new Error(`view ${view} is ${bytes.length} bytes, the camera's file ${size}: every view must be one 640x480 frame`);
    }
  }
  const camera = {
    path,
    showing: first,
    /** Shows `view` from the camera's next frame on. */
    look(view) {
      const bytes = frames.get(view);
      if (!bytes) throw new Error(`the camera has no view ${view}; it has ${[...frames.keys()].join(", ")}`);
      // In place: Chromium keeps the file open and reads the frame at its offset each time.
      // A truncating write could let it read a short file mid-way.
      const fd = openSync(path, "r+");
      try {
        writeSync(fd, bytes, 0, bytes.length, 0);
      } finally {
        closeSync(fd);
      }
      camera.showing = view;
    },
  };
  return camera;
}

/** The page function that tells the test the dot moved, and each page's handler of it. */
const BINDING = "__e2eDotMoved";
const handlers = new WeakMap();

/**
 * Makes the camera on `page` follow the calibration dot: whenever `#calibrate-dot` shows
 * another point, the camera looks at it (`views` maps a point to a view; default: the
 * point's own name). Call after each navigation to /calibrate. Returns the points followed
 * (in order) through `followed()`.
 */
export async function followDots(page, camera, views = {}) {
  const followed = [];
  if (!handlers.has(page)) {
    await page.exposeFunction(BINDING, (point) => handlers.get(page)?.(point));
  }
  handlers.set(page, (point) => {
    followed.push(point);
    camera.look(views[point] ?? point);
  });
  await page.evaluate((binding) => {
    const dot = document.getElementById("calibrate-dot");
    let last = null;
    const check = () => {
      if (dot.dataset.point !== last) {
        last = dot.dataset.point;
        window[binding](last);
      }
    };
    new MutationObserver(check).observe(dot, { attributes: true, attributeFilter: ["data-point"] });
    check();
  }, BINDING);
  return { followed: () => [...followed] };
}
