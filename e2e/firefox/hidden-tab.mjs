// A manual check, not part of `npm test`: does the server-paced stream keep its rate in a
// hidden Firefox tab? Playwright cannot drive a stock Firefox, so this starts the real
// server (lib/server.js), serves hidden-tab.html on the server's origin through a small
// relay (every other request and the WebSocket go through to the server), and runs
// `firefox --headless` with a fake camera on it. After 10 s the page opens a tab in front of
// itself, which hides it. Every 10 s this prints the server's frames_analyzed and the page's
// 100 ms timer count; the tab's timers show the throttling, frames_analyzed the stream.
//
//   cd e2e && node firefox/hidden-tab.mjs [seconds, default 120]     (FIREFOX_PATH=/usr/bin/firefox)
//
// docs/architecture.md, "Streaming in the background", has the figures it gave.

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer } from "node:net";

import { FocusServer } from "../lib/server.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";

const FIREFOX = process.env.FIREFOX_PATH || "/usr/bin/firefox";
const SECONDS = Number(process.argv[2] || 120);
const HIDE_AFTER_MS = 10_000;
const PAGE = readFileSync(new URL("./hidden-tab.html", import.meta.url));

const server = new FocusServer();
await server.start();
const tmp = makeTempDir("firefox");
let firefox = null;
const reports = [];
const reportSink = createHttpServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => { body += chunk; });
  req.on("end", () => {
    try { reports.push(JSON.parse(body)); } catch { /* not a report */ }
    res.end();
  });
}).listen(0, "127.0.0.1");
// The page must share the server's origin (its WebSocket handshake is checked).
const relay = createServer((client) => {
  client.once("data", (first) => {
    if (first.toString("latin1").startsWith("GET /firefox-check?")) {
      client.end(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${PAGE.length}\r\nconnection: close\r\n\r\n${PAGE}`);
      return;
    }
    const upstream = connect(server.port, "127.0.0.1", () => {
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
}).listen(0, "127.0.0.1");
await Promise.all([reportSink, relay].map((s) => new Promise((r) => (s.listening ? r() : s.once("listening", r)))));

try {
  const session = await server.api("/api/sessions", {
    method: "POST",
    body: { duration_minutes: Math.ceil(SECONDS / 60) + 1, alert_threshold_s: 10, alert_mode: "banner" },
  });
  writeFileSync(`${tmp}/user.js`, [
    ["media.navigator.streams.fake", true],
    ["media.navigator.permission.disabled", true],
    ["dom.disable_open_during_load", false],
    ["browser.link.open_newwindow", 3],
    ["browser.tabs.loadDivertedInBackground", false],
    ["browser.shell.checkDefaultBrowser", false],
    ["datareporting.policy.dataSubmissionEnabled", false],
    ["browser.startup.homepage_override.mstone", "ignore"],
  ].map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join("\n"));
  const url = `http://127.0.0.1:${relay.address().port}/firefox-check?session=${session.id}` +
    `&report=${reportSink.address().port}&hideAfterMs=${HIDE_AFTER_MS}`;
  firefox = spawn(FIREFOX, ["--headless", "--no-remote", "--profile", tmp, url], { stdio: "ignore" });
  const started = Date.now();
  let previous = null;
  while (Date.now() - started < SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, 10_000));
    const { frames_analyzed: analysed } = await server.api(`/api/sessions/${session.id}`);
    const last = reports.filter((r) => r.timerRuns !== undefined).at(-1);
    const step = previous ? ` (+${analysed - previous.analysed} frames, +${(last?.timerRuns ?? 0) - previous.timerRuns} timer runs)` : "";
    console.log(`${Math.round((Date.now() - started) / 1000)} s: ${last?.hidden ? "hidden " : "visible"} frames_analyzed ${analysed}, 100 ms timer ran ${last?.timerRuns ?? 0} times${step}`);
    previous = { analysed, timerRuns: last?.timerRuns ?? 0 };
  }
  const errors = reports.filter((r) => r.error);
  console.log(`visibility: ${JSON.stringify(reports.filter((r) => r.visibility || r.opened !== undefined))}`);
  if (errors.length) console.log(`errors: ${JSON.stringify(errors.slice(0, 5))}`);
} finally {
  firefox?.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 2_000));
  try { firefox?.kill("SIGKILL"); } catch { /* gone */ }
  relay.close();
  reportSink.close();
  await server.cleanup();
  removeTempDir(tmp);
}
