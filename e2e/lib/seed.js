// Finished sessions for the history page, made the way the page makes them: in a browser tab
// on the server's origin, each session is started with POST /api/sessions, streams real
// JPEG frames over its live WebSocket (one per {"next": true}, as the server paces them) and
// is ended with POST .../end. The server judges every frame as usual; nothing is written to
// the database behind its back.

import { readFileSync } from "node:fs";

/**
 * Runs one session per entry of `plans`, one after another, in `page` (already on the
 * server's origin). A plan is `{ frames: [[name, count], ...], endOnUnfocused }`: the frames
 * sent in order (`name` a key of `images`, a map of name -> JPEG path), after which the
 * session is ended; with `endOnUnfocused` it is ended as soon as the clock turns unfocused
 * instead (a drift cut short by the end). Returns the sessions' ids, in order.
 */
export async function seedSessions(page, images, plans) {
  const encoded = Object.fromEntries(
    Object.entries(images).map(([name, path]) => [name, readFileSync(path).toString("base64")]),
  );
  return page.evaluate(async ({ encoded, plans }) => {
    const bytes = Object.fromEntries(Object.entries(encoded).map(([name, b64]) =>
      [name, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))]));
    const call = async (path, body) => {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json();
    };
    const ids = [];
    for (const plan of plans) {
      const session = await call("/api/sessions", { duration_minutes: 10, alert_threshold_s: 1, alert_mode: "banner" });
      const order = plan.frames.flatMap(([name, count]) => Array(count).fill(name));
      await new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://${location.host}/api/sessions/${session.id}/live`);
        ws.binaryType = "arraybuffer";
        let sent = 0;
        let ending = false;
        const end = () => {
          if (ending) return;
          ending = true;
          call(`/api/sessions/${session.id}/end`).then(() => { ws.close(); resolve(); }, reject);
        };
        const timer = setTimeout(() => reject(new Error(`session ${session.id}: no end after 60 s (${sent} frames sent)`)), 60_000);
        ws.onerror = () => reject(new Error(`session ${session.id}: the live socket failed`));
        ws.onmessage = (event) => {
          const msg = JSON.parse(event.data);
          if (msg.error) reject(new Error(`session ${session.id}: ${msg.error}: ${msg.detail}`));
          if (ending || msg.ended) return;
          if (plan.endOnUnfocused && msg.state === "unfocused") {
            clearTimeout(timer);
            end();
          } else if (msg.next) {
            if (sent < order.length) ws.send(bytes[order[sent++]]);
            else {
              clearTimeout(timer);
              end();
            }
          }
        };
      });
      ids.push(session.id);
    }
    return ids;
  }, { encoded, plans });
}
