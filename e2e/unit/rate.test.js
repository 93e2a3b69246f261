// Unit check of assets/live/rate.js: the rate line under the video names the real cause of a
// low rate (issue 8.9), from the server's own measurements.
import assert from "node:assert/strict";
import { test } from "node:test";

import { rateText } from "../../assets/live/rate.js";

const page = { settled: true, paused: false, hidden: false, cameraActive: true };
const stream = (analysedFps, analysisMs) => ({ analysed_fps: analysedFps, target_fps: 5, analysis_ms: analysisMs });

test("at the full rate it only says the rate", () => {
  assert.equal(rateText(stream(4.9, 31), page), "4.9 frames/s analysed, 31 ms each");
  assert.equal(rateText(stream(4.0, 31), { ...page, hidden: true }), "4.0 frames/s analysed, 31 ms each", "80% of the target is enough");
});

test("a low rate names its cause: the server, a hidden tab, the camera, the browser", () => {
  assert.equal(rateText(stream(3.6, 225), page), "3.6 frames/s analysed, 225 ms each (slowed down: the server is busy)");
  // The server is busy even when the tab is hidden: its analysis is slower than it asks.
  assert.match(rateText(stream(3.6, 225), { ...page, hidden: true }), /the server is busy\)$/);
  assert.equal(rateText(stream(0.5, 30), { ...page, hidden: true }),
    "0.5 frames/s analysed, 30 ms each (slowed down: the browser is holding back this hidden tab)");
  assert.match(rateText(stream(0, null), { ...page, cameraActive: false }), /^0\.0 frames\/s analysed \(waiting for the camera\)$/);
  assert.match(rateText(stream(2, 30), page), /\(slowed down: this browser is slow to capture frames\)$/);
});

test("no cause while the rate cannot mean anything: just connected, or paused", () => {
  assert.equal(rateText(stream(1, 30), { ...page, settled: false }), "1.0 frames/s analysed, 30 ms each");
  assert.equal(rateText(stream(0, 30), { ...page, paused: true }), "0.0 frames/s analysed, 30 ms each");
});
