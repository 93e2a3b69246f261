// Unit check of assets/live/indicator.js, the indicator rule (pure: runs under node, no browser).
import assert from "node:assert/strict";
import { test } from "node:test";

import { createIndicator } from "../../assets/live/indicator.js";

const frame = (state, verdict, reason = null) => ({
  source: "frame", state, reason, verdict: { focused: verdict === "focused", reason: verdict === "focused" ? null : verdict },
});

test("flips on the second agreeing reply, before the clock", () => {
  const ind = createIndicator();
  assert.equal(ind.follow(frame("focused", "focused")).state, "focused");
  assert.equal(ind.follow(frame("focused", "looking_away")).state, "focused", "one frame is not enough");
  assert.deepEqual(ind.follow(frame("focused", "looking_away")), { state: "unfocused", reason: "looking_away" });
  assert.equal(ind.follow(frame("unfocused", "looking_away", "looking_away")).state, "unfocused");
});

test("a single odd frame never flips it", () => {
  const ind = createIndicator();
  ind.follow(frame("focused", "focused"));
  ind.follow(frame("focused", "focused"));
  assert.equal(ind.follow(frame("focused", "eyes_closed")).state, "focused");
  assert.equal(ind.follow(frame("focused", "focused")).state, "focused");
});

test("paused and no signal come from the clock", () => {
  const ind = createIndicator();
  ind.follow(frame("focused", "focused"));
  ind.follow(frame("focused", "focused"));
  assert.equal(ind.follow({ source: "tick", state: "paused" }).state, "paused");
  assert.deepEqual(ind.follow({ source: "tick", state: "unfocused", reason: "no_signal" }), { state: "unfocused", reason: "no_signal" });
  assert.equal(ind.follow({ source: "tick", state: "starting" }).state, "starting");
});
