// Unit check of assets/live/indicator.js, the indicator rule (pure: runs under node, no browser).
import assert from "node:assert/strict";
import { test } from "node:test";

import { createIndicator, heldSeconds } from "../../assets/live/indicator.js";

const frame = (state, verdict, reason = null, zone = null) => ({
  source: "frame", state, reason, verdict: { focused: verdict === "focused", reason: verdict === "focused" ? null : verdict, zone },
});

test("flips on the second agreeing reply, before the clock", () => {
  const ind = createIndicator();
  assert.equal(ind.follow(frame("focused", "focused")).state, "focused");
  assert.equal(ind.follow(frame("focused", "looking_away")).state, "focused", "one frame is not enough");
  assert.deepEqual(ind.follow(frame("focused", "looking_away")), { state: "unfocused", reason: "looking_away", zone: null });
  assert.equal(ind.follow(frame("unfocused", "looking_away", "looking_away")).state, "unfocused");
});

test("a single odd frame never flips it", () => {
  const ind = createIndicator();
  ind.follow(frame("focused", "focused"));
  ind.follow(frame("focused", "focused"));
  assert.equal(ind.follow(frame("focused", "eyes_closed")).state, "focused");
  assert.equal(ind.follow(frame("focused", "focused")).state, "focused");
});

test("a glance at a zone (focused, on the notes) shows its name once two replies agree", () => {
  const ind = createIndicator();
  ind.follow(frame("focused", "focused"));
  ind.follow(frame("focused", "focused"));
  assert.deepEqual(ind.follow(frame("focused", "focused", null, "notes")), { state: "focused", reason: null, zone: null },
    "one frame on the notes is not enough");
  assert.deepEqual(ind.follow(frame("focused", "focused", null, "notes")), { state: "focused", reason: null, zone: "notes" });
  assert.deepEqual(ind.follow(frame("focused", "focused")), { state: "focused", reason: null, zone: "notes" });
  assert.deepEqual(ind.follow(frame("focused", "focused")), { state: "focused", reason: null, zone: null });
});

test("paused and no signal come from the clock", () => {
  const ind = createIndicator();
  ind.follow(frame("focused", "focused"));
  ind.follow(frame("focused", "focused"));
  assert.equal(ind.follow({ source: "tick", state: "paused" }).state, "paused");
  assert.deepEqual(ind.follow({ source: "tick", state: "unfocused", reason: "no_signal" }), { state: "unfocused", reason: "no_signal", zone: null });
  assert.equal(ind.follow({ source: "tick", state: "starting" }).state, "starting");
});

test("'for N s' only once the clock has confirmed the reason, and never past the timer", () => {
  const ind = createIndicator();
  const at = (state, verdict, reason, ms) => ({ ...frame(state, verdict, reason), ...ms });
  ind.follow(at("focused", "focused", null, { state_ms: 9000, unfocused_ms: 1400 }));
  ind.follow(at("focused", "eyes_closed", null, { state_ms: 9200, unfocused_ms: 1400 }));
  // The indicator has flipped, the clock has not: the timers still count focused.
  const ahead = at("focused", "eyes_closed", null, { state_ms: 9400, unfocused_ms: 1400 });
  const shown = ind.follow(ahead);
  assert.deepEqual(shown, { state: "unfocused", reason: "eyes_closed", zone: null });
  assert.equal(heldSeconds(shown, ahead), null, "no number before the clock confirms");
  // Confirmed: N is the clock's state_ms, floored; under a second, no number.
  const confirmed = at("unfocused", "eyes_closed", "eyes_closed", { state_ms: 600, unfocused_ms: 2000 });
  assert.equal(heldSeconds(ind.follow(confirmed), confirmed), null);
  const later = at("unfocused", "eyes_closed", "eyes_closed", { state_ms: 2999, unfocused_ms: 4399 });
  assert.equal(heldSeconds(ind.follow(later), later), 2);
  // The frames say another reason before the clock does: no number for either.
  ind.follow(at("unfocused", "looking_away", "eyes_closed", { state_ms: 3200, unfocused_ms: 4600 }));
  const switching = at("unfocused", "looking_away", "eyes_closed", { state_ms: 3400, unfocused_ms: 4800 });
  const now = ind.follow(switching);
  assert.equal(now.reason, "looking_away");
  assert.equal(heldSeconds(now, switching), null);
  assert.equal(heldSeconds({ state: "focused", reason: null }, later), null);
});
