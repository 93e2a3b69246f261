// What the live indicator shows: it follows the camera, not only the clock. The clock
// (server) confirms a change after its 500 ms debounce, which at 5 frames a second is the
// 4th frame of the new state, ~1 s after the picture changed; the timers, the alert and the
// timeline follow the clock.
// The indicator changes as soon as two consecutive frame replies agree on a new verdict
// (~0.2 s apart), so a single odd frame (a blink) never flips it. Paused, starting and "no
// camera signal" come from the clock as they are. Pure: no DOM, so e2e/unit checks it under
// node. view.js shows what `follow(msg)` returns.
//
// The clock never backdates a change: the timers count the new state from when the clock
// confirms it. So in the window between the indicator's flip and that confirmation (up to
// the debounce) the timers still run for the old state, and the reason says no "for N s"
// (`heldSeconds`): a number there could only come from the clock, which has not seen the
// drift yet. Once it has, N is the clock's `state_ms`, part of the Unfocused timer and
// floored like it, so the reason never reads "Eyes closed for 2 s" beside Unfocused 0:01.

/** Same verdict: focused both on the same place (the screen, or the same zone), or unfocused for the same reason. */
function same(a, b) {
  return a.focused === b.focused && (a.focused ? a.zone === b.zone : a.reason === b.reason);
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
     * The state to show for a live state message: `{ state, reason, zone }`, `state` one of
     * "starting", "focused", "unfocused", "paused" (as the server's); `zone`: focused on one
     * of the profile's extra zones ("notes"), from the frames' verdicts, else null.
     */
    follow(msg) {
      const clock = { state: msg.state || (msg.focused ? "focused" : "unfocused"), reason: msg.reason ?? null, zone: null };
      if (clock.state === "paused" || msg.reason === "no_signal") {
        previous = null;
        shown = null;
        return clock;
      }
      if (msg.source === "frame" && msg.verdict) {
        const focused = Boolean(msg.verdict.focused);
        const verdict = {
          focused,
          reason: focused ? null : msg.verdict.reason ?? null,
          zone: focused ? msg.verdict.zone ?? null : null,
        };
        if (previous && same(previous, verdict)) shown = verdict;
        previous = verdict;
      }
      if (!shown) return clock;
      return { state: shown.focused ? "focused" : "unfocused", reason: shown.reason, zone: shown.zone };
    },
  };
}

/**
 * The "for N s" of the unfocused reason `shown` (what `follow` returned for `msg`): how long
 * the clock has held that same state and reason (`state_ms`), in whole seconds, floored like
 * the timers; null while the clock has not confirmed it (the indicator is ahead of it), or
 * under a second. Never more than the Unfocused timer's seconds (`state_ms <= unfocused_ms`).
 */
export function heldSeconds(shown, msg) {
  if (shown.state !== "unfocused" || msg.state !== "unfocused" || msg.reason !== shown.reason) return null;
  const seconds = Math.floor((msg.state_ms || 0) / 1000);
  return seconds >= 1 ? seconds : null;
}
