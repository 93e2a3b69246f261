// One calibration: the dots' plan, the calibration socket (GET /api/profiles/calibrate, see
// docs/api.md "Calibration") and the frames sent while each dot is shown.
//
// For each dot: it is shown, the eyes get SETTLE_MS to land on it, the server is told which
// point the next frames show, then frames are captured and sent one at a time (the next once
// the previous is answered, at most 5 a second) for CAPTURE_MS, and at least MIN_FRAMES
// analysed ones (a slow server makes the dot stay a little longer). Then the server is asked
// to save the profile under the name. Frames exist only in memory, here and on the server.

import { captureJpeg, videoReady } from "../live/capture.js";

export const FULL = ["center", "top_left", "top_right", "bottom_left", "bottom_right"];
export const QUICK = ["center"];
/**
 * An extra zone (notes, a second monitor): one look at it, sent as the centre point. The
 * eyes need longer to land there than on a dot that appears where they already are.
 */
export const ZONE = ["zone"];

const SETTLE_MS = 500;
const ZONE_SETTLE_MS = 1200;
const FRAME_INTERVAL_MS = 200;
const MIN_FRAMES = 3;
/** A dot waits at most this long past its time for its first analysed frames. */
const OVERTIME_MS = 4000;

/** How long each dot is shown (ms): ~2 s for the full calibration's five, 3 s for the quick one. */
export function dotMs(points) {
  return points.length === 1 ? 3000 : 2000;
}

/** Thrown when the calibration was cancelled (Escape, leaving the page). */
export class Cancelled extends Error {
  constructor() {
    super("cancelled");
    this.name = "Cancelled";
  }
}

/** The server's replies, one at a time, in order; rejects when the socket closes. */
class Channel {
  constructor(ws) {
    this.ws = ws;
    this.inbox = [];
    this.waiting = [];
    this.closed = null;
    ws.binaryType = "arraybuffer";
    ws.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(message);
      else this.inbox.push(message);
    };
    ws.onclose = () => this.fail(new Error("The connection to the server was lost during the calibration."));
  }

  fail(error) {
    if (!this.closed) this.closed = error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.closed);
  }

  next() {
    if (this.inbox.length) return Promise.resolve(this.inbox.shift());
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  send(data) {
    if (this.ws.readyState !== WebSocket.OPEN) throw this.closed || new Error("The connection to the server was lost.");
    this.ws.send(typeof data === "string" ? data : data instanceof ArrayBuffer ? data : JSON.stringify(data));
  }

  close(error = new Cancelled()) {
    this.fail(error);
    try {
      this.ws.close(1000);
    } catch {
      // already closed
    }
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/api/profiles/calibrate`);
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(new Channel(ws));
    ws.onerror = () => reject(new Error("The calibration could not reach the server. Check that Focus Sentry is still running, then try again."));
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a calibration over `points` with frames from `video`, then saves it: `finish` is
 * `{ name }` (a new profile) or `{ profile_id, zone }` (`points` is ZONE: a zone added to
 * that profile).
 * `hooks`: `onDot(point, index, count)` when a dot is shown; `onFrame(frame)` per analysed
 * frame (`{point, face, frames, faces}`); `onFrameError(reply)` for a frame not counted;
 * `onAnalysing()` once the dots are done. `control.cancel()` (set here) cancels it.
 *
 * Resolves with the outcome: `{kind: "saved", profile}`, `{kind: "refused", reason, point,
 * detail}`, `{kind: "name", detail, retry(name), dismiss()}` (a bad or taken name: the
 * calibration is kept until `retry` with another name, or `dismiss`), or `{kind: "error",
 * detail}`. Rejects with `Cancelled`, or an Error in words when the server is lost.
 */
export async function calibrate({ points, finish: saveAs, video, hooks, control }) {
  let cancelled = false;
  let channel = null;
  control.cancel = () => {
    cancelled = true;
    if (channel) channel.close();
  };
  const check = () => {
    if (cancelled) throw new Cancelled();
  };
  channel = await connect();
  if (cancelled) {
    channel.close();
    throw new Cancelled();
  }
  try {
    for (const [index, point] of points.entries()) {
      check();
      hooks.onDot(point, index, points.length);
      await sleep(point === "zone" ? ZONE_SETTLE_MS : SETTLE_MS);
      check();
      // A zone's frames are a centre-only calibration of where the zone lies.
      channel.send({ point: point === "zone" ? "center" : point });
      await channel.next();
      const due = performance.now() + dotMs(points) - SETTLE_MS;
      let analysed = 0;
      while (performance.now() < due || (analysed < MIN_FRAMES && performance.now() < due + OVERTIME_MS)) {
        check();
        const started = performance.now();
        if (!videoReady(video)) {
          await sleep(100);
          continue;
        }
        const jpeg = await captureJpeg(video, { maxWidth: 640 });
        check();
        if (!jpeg) continue;
        channel.send(jpeg);
        const reply = await channel.next();
        if (reply.frame) {
          analysed += 1;
          hooks.onFrame(reply.frame);
        } else {
          hooks.onFrameError(reply);
        }
        await sleep(Math.max(0, FRAME_INTERVAL_MS - (performance.now() - started)));
      }
    }
    check();
    hooks.onAnalysing();
    return await finish(channel, saveAs);
  } catch (e) {
    channel.close();
    throw cancelled ? new Cancelled() : e;
  }
}

/** Asks the server to save the calibration (`saveAs`: see `calibrate`) and returns the outcome. */
async function finish(channel, saveAs) {
  channel.send({ finish: saveAs });
  const reply = await channel.next();
  if (reply.saved) {
    channel.close();
    return { kind: "saved", profile: reply.saved };
  }
  if (reply.refused) {
    channel.close();
    return { kind: "refused", ...reply.refused };
  }
  if (reply.field === "name") {
    return {
      kind: "name",
      detail: reply.detail,
      retry: (another) => finish(channel, { name: another }),
      dismiss: () => channel.close(),
    };
  }
  channel.close();
  return { kind: "error", detail: reply.detail || reply.error || "The calibration could not be saved." };
}
