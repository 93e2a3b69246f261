// What the live indicator shows: it follows the camera, not only the clock. The clock
// (server) confirms a change after its 500 ms debounce, which at 5 frames a second is the
// 4th frame of the new state, ~1 s after the picture changed; the timers, the alert and the
// timeline follow the clock (they count a stretch from its first frame, so they catch up).
// The indicator changes as soon as two consecutive frame replies agree on a new verdict
// (~0.2 s apart), so a single odd frame (a blink) never flips it. Paused, starting and "no
// camera signal" come from the clock as they are. Pure: no DOM, so e2e/unit checks it under
// node. view.js shows what `follow(msg)` returns.

/** Same verdict: focused both, or unfocused for the same reason. */
function same(a, b) {
  return a.focused === b.focused && (a.focused || a.reason === b.reason);
}

export function createIndicator() {
  let previous = null; // the last frame reply's verdict
  let shown = null; // the verdict the indicator follows, once two replies agreed

  return {
    /** Forgets the frames seen (a new connection, the start, a resume). */
    reset() {
      previous = null;
      shown = null;
    },
    /**
     * The state to show for a live state message: `{ state, reason }`, `state` one of
     * "starting", "focused", "unfocused", "paused" (as the server's).
     */
    follow(msg) {
      const clock = { state: msg.state || (msg.focused ? "focused" : "unfocused"), reason: msg.reason ?? null };
      if (clock.state === "paused" || msg.reason === "no_signal") {
        previous = null;
        shown = null;
        return clock;
      }
      if (msg.source === "frame" && msg.verdict) {
        const verdict = { focused: Boolean(msg.verdict.focused), reason: msg.verdict.focused ? null : msg.verdict.reason ?? null };
        if (previous && same(previous, verdict)) shown = verdict;
        previous = verdict;
      }
      if (!shown) return clock;
      return { state: shown.focused ? "focused" : "unfocused", reason: shown.reason };
    },
  };
}
