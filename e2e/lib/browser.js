// Debian's Chromium, headless, driven by playwright-core (no browser download), with a fake
// webcam that plays a clip file. Each launch gets a fresh profile in a temp directory.
//
// `launchBrowser` is Playwright's launch, which turns Chromium's background throttling off.
// `launchThrottledBrowser` starts Chromium itself, as a user's browser runs, with throttling
// on (and intensive throttling after 10 s instead of 5 minutes), and attaches over CDP with
// none of Playwright's defaults: the only way to see what a hidden tab really does.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

import { chromium } from "playwright-core";

import { CHROMIUM } from "./env.js";
import { makeTempDir, removeTempDir } from "./tmp.js";

export const VIEWPORT = { width: 1280, height: 800 };

/** Waits for `promise`, or `ms` at most (a browser that hangs on close must not hang the run). */
async function waitAtMost(promise, ms) {
  let timer;
  try {
    await Promise.race([promise, new Promise((r) => { timer = setTimeout(r, ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

const BASE_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // Playwright's usual set: these tests keep their page in front. Test 9 launches with
  // throttling on (launchThrottledBrowser) to see what a hidden tab really does.
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
    try {
      await waitAtMost(context.close(), 15_000);
    } finally {
      removeTempDir(profile);
    }
  };
  return { context, page, close };
}

/**
 * Starts Chromium with its background throttling on, as people run it: none of the
 * `--disable-background-timer-throttling`, `--disable-renderer-backgrounding` or
 * `--disable-backgrounding-occluded-windows` flags Playwright adds, and intensive wake-up
 * throttling (timers once a minute) after 10 hidden seconds instead of 5 minutes. Attaches
 * with `connectOverCDP` and `noDefaults`, so Playwright changes nothing either (no focus
 * emulation), and tabs opened with `context.newPage()` share one window: bringing one to the
 * front hides the others (`document.hidden`). Returns `{ context, page, close }`.
 */
export async function launchThrottledBrowser({ clip }) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
  const profile = makeTempDir("profile");
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    `--user-data-dir=${profile}`,
    `--window-size=${VIEWPORT.width},${VIEWPORT.height}`,
    "--enable-features=IntensiveWakeUpThrottling:grace_period_seconds/10",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--lang=en-US",
  ];
  if (clip) args.push(`--use-file-for-fake-video-capture=${clip}`);
  args.push("about:blank");
  const child = spawn(CHROMIUM, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, TZ: "UTC" },
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const killChild = () => {
    try { child.kill("SIGKILL"); } catch { /* gone */ }
  };
  process.on("exit", killChild);
  let endpoint;
  try {
    endpoint = await new Promise((resolve, reject) => {
      let log = "";
      const timer = setTimeout(() => reject(new Error(`Chromium did not open its DevTools port in 60 s:\n${log}`)), 60_000);
      child.stderr.on("data", (chunk) => {
        log += chunk;
        const found = /DevTools listening on (ws:\/\/\S+)/.exec(log);
        if (found) {
          clearTimeout(timer);
          resolve(found[1]);
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`Chromium exited (${code}) before it listened:\n${log}`));
      });
    });
  } catch (e) {
    killChild();
    removeTempDir(profile);
    throw e;
  }
  // Keep draining its log so it never blocks on a full pipe.
  child.stderr.resume();
  const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true, timeout: 60_000 });
  const context = browser.contexts()[0];
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] || (await context.newPage());
  await page.setViewportSize(VIEWPORT);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await waitAtMost(browser.close(), 15_000);
    } finally {
      killChild();
      // Its helper processes write to the profile until the browser is gone.
      await waitAtMost(exited, 10_000);
      process.off("exit", killChild);
      removeTempDir(profile);
    }
  };
  return { context, page, close };
}
