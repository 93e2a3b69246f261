// Debian's Chromium, headless, driven by playwright-core (no browser download), with a fake
// webcam that plays a clip file. Each launch gets a fresh profile in a temp directory.

import { existsSync } from "node:fs";

import { chromium } from "playwright-core";

import { CHROMIUM } from "./env.js";
import { makeTempDir, removeTempDir } from "./tmp.js";

export const VIEWPORT = { width: 1280, height: 800 };

const BASE_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // The page streams frames from a timer; keep it running at full rate when unfocused.
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
];

/**
 * Launches Chromium with a fresh profile. `clip`: the fake camera's file. `camera`:
 * "allow" answers the camera prompt with yes (as a person who clicks Allow), "deny" with no.
 * Returns `{ context, page, close }`; `close` also removes the profile.
 */
export async function launchBrowser({ clip, camera = "allow", downloadsDir } = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
  const args = [...BASE_ARGS, "--use-fake-device-for-media-stream"];
  if (clip) args.push(`--use-file-for-fake-video-capture=${clip}`);
  if (camera === "allow") args.push("--use-fake-ui-for-media-stream");
  else if (camera === "deny") args.push("--deny-permission-prompts");
  else throw new Error(`camera must be "allow" or "deny", not ${camera}`);
  const profile = makeTempDir("profile");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: VIEWPORT,
    deviceScaleFactor: 1,
    acceptDownloads: true,
    downloadsPath: downloadsDir,
    locale: "en-US",
    timezoneId: "UTC",
    timeout: 60_000,
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] || (await context.newPage());
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    let timer;
    try {
      await Promise.race([context.close(), new Promise((r) => { timer = setTimeout(r, 15_000); })]);
    } finally {
      clearTimeout(timer);
      removeTempDir(profile);
    }
  };
  return { context, page, close };
}
