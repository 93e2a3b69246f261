// The notice: the one place a page says what went wrong (or what happened) in words, with
// the action that fixes it. Both pages carry the same markup (#notice, from the page chrome
// in src/web/pages.rs); a new notice replaces the one shown.

import { $, show } from "./common.js";

const state = { action: null };

/**
 * Shows a notice. `kind`: "error" (red, the default), "warn" or "info". `action`: what the
 * button does (no button without one); the notice closes first.
 */
export function notify(title, text, { actionLabel = "Try again", action = null, kind = "error" } = {}) {
  $("notice-title").textContent = title;
  $("notice-text").textContent = text;
  $("notice").className = kind === "error" ? "notice" : `notice ${kind}`;
  const button = $("notice-action");
  state.action = action;
  show(button, Boolean(action));
  button.textContent = actionLabel;
  show($("notice"));
}

export function clearNotice() {
  show($("notice"), false);
  state.action = null;
}

/** The title of the notice shown, or null. */
export function noticeTitle() {
  return $("notice").hidden ? null : $("notice-title").textContent;
}

$("notice-action").addEventListener("click", () => {
  const { action } = state;
  clearNotice();
  if (action) action();
});
