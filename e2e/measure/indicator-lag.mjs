// A manual measurement, not part of `npm test`: how long after the camera's picture changes
// does the live indicator change? The fake camera plays an attentive face for 4 s, then a
// face looking away for 4 s, in a loop. In the page, a requestVideoFrameCallback on the live
// <video> notes when the picture shown changes (its mean brightness jumps), and a
// MutationObserver notes when the indicator's text changes; the lag is the time between the
// two. It also prints what the server measured of the stream (rates, analysis and request
// times), which make up the lag together with the clock's debounce.
//
//   cd e2e && node measure/indicator-lag.mjs [seconds, default 45]
//
// docs/architecture.md ("Streaming in the background", indicator lag) has its figures.

import { launchBrowser } from "../lib/browser.js";
import { makeClip } from "../lib/clips.js";
import { STILLS } from "../lib/env.js";
import { fillSessionForm, recordLiveMessages, startSession, waitForConfig } from "../lib/pages.js";
import { FocusServer } from "../lib/server.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";

const SECONDS = Number(process.argv[2] || 45);

const tmp = makeTempDir("lag");
const clip = makeClip(tmp, "switch", [
  { image: STILLS.attentive, seconds: 4 },
  { image: STILLS.lookingAway, seconds: 4 },
]);
const server = new FocusServer();
let browser = null;
try {
  await server.start();
  browser = await launchBrowser({ clip: clip.path });
  const { page } = browser;
  const messages = recordLiveMessages(page);
  await page.goto(server.url);
  await waitForConfig(page, { emailConfigured: false });
  await fillSessionForm(page, { duration: Math.ceil(SECONDS / 60) + 1, threshold: 30, alertMode: "banner" });
  const id = await startSession(page);
  await page.evaluate(() => {
    window.__picture = [];
    window.__indicator = [];
    const videos = document.querySelectorAll("video");
    const video = videos[videos.length - 1];
    const canvas = document.createElement("canvas");
    canvas.width = 32;
    canvas.height = 24;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    let last = null;
    const onFrame = () => {
      ctx.drawImage(video, 0, 0, 32, 24);
      const d = ctx.getImageData(0, 0, 32, 24).data;
      let sum = 0;
      for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
      const mean = sum / (32 * 24 * 3);
      if (last !== null && Math.abs(mean - last) > 3) window.__picture.push(Date.now());
      last = mean;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    const text = document.getElementById("state-text");
    new MutationObserver(() => window.__indicator.push([Date.now(), text.textContent.trim()]))
      .observe(text, { childList: true, characterData: true, subtree: true });
  });
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const { picture, indicator } = await page.evaluate(() => ({ picture: window.__picture, indicator: window.__indicator }));
  let shown = null;
  const changes = indicator.filter(([, state]) => {
    const changed = state !== shown;
    shown = state;
    return changed;
  });
  const lags = [];
  for (const at of picture) {
    const next = changes.find(([t]) => t >= at);
    if (next && next[0] - at < 3000) lags.push(next[0] - at);
  }
  lags.sort((a, b) => a - b);
  const stream = messages.filter(({ msg }) => msg.source === "frame" && msg.stream).map(({ msg }) => msg.stream);
  const median = (key) => {
    const v = stream.map((s) => s[key]).filter((x) => x != null).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)];
  };
  console.log(`picture changes ${picture.length}, indicator changes ${changes.length}`);
  console.log(`lag ms: min ${lags[0]}, median ${lags[Math.floor(lags.length / 2)]}, max ${lags.at(-1)} (${lags.join(" ")})`);
  console.log(`server, median per frame: analysed ${median("analysed_fps")} fps, analysis ${median("analysis_ms")} ms, request ${median("request_ms")} ms`);
  await server.api(`/api/sessions/${id}/end`, { method: "POST" });
} finally {
  await browser?.close();
  await server.cleanup();
  removeTempDir(tmp);
}
