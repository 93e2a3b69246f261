// What the calibration page shows: the full-screen stage (the dot, the prompt, the progress
// and whether a face is seen), the outcome in words, and the list of saved profiles.
// Data reaches the page only through textContent.

import { $, el, formatDateTime, show } from "../common.js";

const els = {
  intro: $("calibrate-intro"),
  stage: $("calibrate-stage"),
  cancel: $("cancel-btn"),
  dot: $("calibrate-dot"),
  prompt: $("stage-prompt"),
  progress: $("stage-progress"),
  face: $("stage-face"),
  outcome: $("calibrate-outcome"),
  outcomeTitle: $("outcome-title"),
  outcomeText: $("outcome-text"),
  renameForm: $("rename-form"),
  renameName: $("rename-name"),
  renameError: $("rename-error"),
  useBtn: $("use-btn"),
  list: $("profile-list"),
  empty: $("profiles-empty"),
  zoneCard: $("zone-card"),
  zoneTitle: $("zone-title"),
};

const POINT_WORDS = {
  center: "the centre",
  top_left: "the top-left corner",
  top_right: "the top-right corner",
  bottom_left: "the bottom-left corner",
  bottom_right: "the bottom-right corner",
};

const state = { started: 0, totalMs: 0, timer: null, recent: [] };

/** Shows the full-screen stage for a calibration planned to last `totalMs`. */
export function showStage(totalMs) {
  state.started = performance.now();
  state.totalMs = totalMs;
  state.recent = [];
  els.progress.value = 0;
  els.face.textContent = "";
  els.prompt.textContent = "Look at the dot";
  show(els.outcome, false);
  show(els.stage);
  document.body.classList.add("calibrating");
  // A modal stage: the keyboard's focus goes into it (Cancel), and back when it closes.
  els.cancel.focus();
  clearInterval(state.timer);
  // The bar moves with time; it never claims 100% before the server has answered.
  state.timer = setInterval(() => {
    const done = (performance.now() - state.started) / state.totalMs;
    els.progress.value = Math.min(95, Math.round(done * 100));
  }, 100);
}

export function hideStage() {
  clearInterval(state.timer);
  state.timer = null;
  show(els.stage, false);
  document.body.classList.remove("calibrating");
}

/** A dot at `point`, the `index`th of `count`. */
export function showDot(point, index, count) {
  els.dot.dataset.point = point;
  els.prompt.textContent = count === 1
    ? "Look at the dot and keep still"
    : `Look at the dot: ${POINT_WORDS[point]} (${index + 1} of ${count})`;
}

/**
 * A zone's look: no dot (the eyes are on the zone, off the screen), the prompt says where to
 * look; `data-point="zone"` says so to the page's tests as to its style.
 */
export function showZoneLook(zone) {
  els.dot.dataset.point = "zone";
  els.prompt.textContent = `Look at your ${zone} now and keep still until the beep`;
}

/** A short beep: the zone's look is done (the user's eyes are off the screen). */
export function beep() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.15;
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.2);
    tone.onended = () => audio.close();
  } catch {
    // No audio here: the prompt on the screen says it is done.
  }
}

/** The zone form for `profile` ({ id, name }), or hidden for null. */
export function showZoneCard(profile) {
  show(els.zoneCard, Boolean(profile));
  if (profile) els.zoneTitle.textContent = `Add a zone to \u201c${profile.name}\u201d`;
}

/** One analysed frame: says so when the last few showed no face. */
export function noteFrame(frame) {
  state.recent.push(frame.face);
  if (state.recent.length > 3) state.recent.shift();
  const missing = state.recent.length === 3 && state.recent.every((face) => !face);
  els.face.textContent = missing
    ? "No face seen: sit facing the screen, with your face lit and in view."
    : "";
  els.face.classList.toggle("bad", missing);
}

export function showAnalysing() {
  els.prompt.textContent = "Working out your profile…";
}

/**
 * The outcome in words. `kind`: "saved", "refused", "name" (the name needs changing) or
 * "error". Focus moves to the outcome so a keyboard or screen-reader user lands on it.
 */
export function showOutcome(outcome, name, zone = null) {
  hideStage();
  show(els.outcome);
  show(els.renameForm, outcome.kind === "name");
  show(els.useBtn, outcome.kind === "saved");
  els.outcome.className = `card calibrate-outcome ${outcome.kind === "saved" ? "good" : "bad"}`;
  els.renameError.textContent = "";
  els.renameName.removeAttribute("aria-invalid");
  if (outcome.kind === "saved" && zone) {
    const { profile } = outcome;
    els.outcomeTitle.textContent = `Zone \u201c${zone}\u201d added to \u201c${profile.name}\u201d`;
    els.outcomeText.textContent = `In sessions with this profile, looking at your ${zone} counts as focused, shown as \u201cFocused (${zone})\u201d.`;
    els.useBtn.href = `/?profile=${encodeURIComponent(profile.id)}`;
  } else if (outcome.kind === "saved") {
    const { profile } = outcome;
    els.outcomeTitle.textContent = `Saved \u201c${profile.name}\u201d`;
    els.outcomeText.textContent = profile.mode === "quick"
      ? "Quick calibration done: your open eyes and where you sit are learned; the screen keeps the usual margins. Choose this profile on the start page (it is chosen for you now)."
      : "Calibration done: where your screen lies, your open eyes and where you sit are learned. Choose this profile on the start page (it is chosen for you now).";
    els.useBtn.href = `/?profile=${encodeURIComponent(profile.id)}`;
  } else if (outcome.kind === "refused") {
    els.outcomeTitle.textContent = "Calibration not saved";
    els.outcomeText.textContent = `${capitalise(outcome.detail)}.`;
  } else if (outcome.kind === "name") {
    els.outcomeTitle.textContent = "Calibration done: choose another name";
    els.outcomeText.textContent = "The calibration worked, but it could not be saved under that name.";
    els.renameName.value = name;
    els.renameError.textContent = outcome.detail;
    els.renameName.setAttribute("aria-invalid", "true");
  } else {
    els.outcomeTitle.textContent = "Calibration not saved";
    els.outcomeText.textContent = outcome.detail;
  }
  els.outcome.focus();
  if (outcome.kind === "name") els.renameName.focus();
}

export function hideOutcome() {
  show(els.outcome, false);
}

function capitalise(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

/**
 * The saved profiles, newest first, each with its zones (a remove button on each calling
 * `onRemoveZone(profile, zone)`), an "Add a zone" button calling `onZone(profile)` and a
 * delete button calling `onDelete(profile)`.
 */
export function renderProfiles(profiles, { onDelete, onZone, onRemoveZone, onRename, onRenameZone }) {
  show(els.empty, profiles.length === 0);
  els.list.replaceChildren(...profiles.map((p) => {
    const item = el("li", { class: "profile-item", "data-profile-id": p.id });
    item.append(
      el("div", { class: "profile-main" },
        el("strong", { class: "profile-name", text: p.name }),
        el("span", { class: "muted small", text: ` \u00b7 ${p.mode === "full" ? "full" : "quick"} calibration, ${formatDateTime(Date.parse(p.created_at))}` }),
        p.zones?.length
          ? el("p", { class: "muted small profile-zones" }, "Zones: ", ...p.zones.map((zone) => el("span", { class: "zone-chip", "data-zone": zone },
            el("span", { class: "zone-name", text: zone }),
            el("button", { type: "button", class: "zone-rename", "aria-label": `Rename the zone ${zone} of ${p.name}`, title: "Rename this zone", onclick: () => onRenameZone(item, p, zone) }, "\u270e"),
            el("button", { type: "button", class: "zone-remove", "aria-label": `Remove the zone ${zone} from ${p.name}`, title: "Remove this zone", onclick: () => onRemoveZone(p, zone) }, "\u00d7"),
          )))
          : null,
        p.usable ? null : el("p", { class: "hint", text: `Cannot be used by this version: ${p.problem}` }),
      ),
      el("div", { class: "profile-actions" },
        el("button", { type: "button", class: "btn small", "aria-label": `Rename ${p.name}`, onclick: () => onRename(item, p) }, "Rename"),
        p.usable
          ? el("button", { type: "button", class: "btn small", "aria-label": `Add a zone to ${p.name}`, onclick: () => onZone(p) }, "Add a zone")
          : null,
        el("button", { type: "button", class: "btn small danger", "aria-label": `Delete ${p.name}`, onclick: () => onDelete(p) }, "Delete"),
      ),
    );
    return item;
  }));
}

/**
 * Opens a small form in the list item `item` to rename something (a profile or one of its
 * zones): the field holds `value`; Enter saves, Escape or Cancel closes it and gives the focus
 * back to `returnTo`. `save(name)` resolves once saved (the list is drawn again then) or
 * rejects with an error whose message, in words, is shown beside the field.
 */
export function openRename(item, { label, value, maxLength, returnTo, save }) {
  item.querySelector(".rename-inline")?.remove();
  const input = el("input", { type: "text", class: "rename-input", maxlength: maxLength, autocomplete: "off", "aria-label": label });
  input.value = value;
  const error = el("p", { class: "field-error rename-error", "aria-live": "polite" });
  const close = () => {
    form.remove();
    if (returnTo?.isConnected) returnTo.focus();
  };
  const form = el("form", { class: "rename-inline", novalidate: true },
    el("label", { class: "small", text: label }),
    el("div", { class: "rename-row" },
      input,
      el("button", { type: "submit", class: "btn small primary" }, "Save"),
      el("button", { type: "button", class: "btn small", onclick: close }, "Cancel"),
    ),
    error,
  );
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    const refuse = (message) => {
      error.textContent = message;
      input.setAttribute("aria-invalid", "true");
      input.focus();
    };
    if (!name) return refuse("Give it a name.");
    if (name.length > maxLength) return refuse(`At most ${maxLength} characters.`);
    if (name === value) return close();
    try {
      await save(name);
    } catch (e) {
      refuse(e.message);
    }
  });
  item.append(form);
  input.focus();
  input.select();
}
