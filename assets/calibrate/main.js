// The calibration page: a name, then a full calibration (a dot at the centre and the four
// corners, ~2 s each) or a quick one (the centre, 3 s), full screen; the outcome in words
// (saved, or why not), another name when that one is taken, and the saved profiles. Then,
// optionally, extra zones of a saved profile ("notes", "second monitor"): the user looks at
// the zone for ~3 s until a beep, and glances there count as focused.
//
// | module | concern |
// | --- | --- |
// | run.js | the dots' plan, the calibration socket, the frames sent per dot |
// | view.js | the stage, the outcome, the profile list |
// | ../live/camera.js | the webcam and its errors in words (shared with the session page) |
// | ../live/capture.js | a frame as JPEG (shared with the session's stream) |
//
// Escape (or Cancel) stops a calibration; leaving the page releases the camera.

import { $, api } from "../common.js";
import { clearNotice, notify } from "../notice.js";
import { startCamera, stopCamera, video } from "../live/camera.js";
import { Cancelled, FULL, QUICK, ZONE, calibrate, dotMs } from "./run.js";
import {
  beep, hideOutcome, hideStage, noteFrame, openRename, renderProfiles, showAnalysing, showDot, showOutcome,
  showStage, showZoneCard, showZoneLook,
} from "./view.js";

const DEFAULT_NAME = "My screen";

const els = {
  form: $("calibrate-form"),
  name: $("profile-name"),
  nameError: $("profile-name-error"),
  quickBtn: $("quick-btn"),
  fullBtn: $("full-btn"),
  stage: $("calibrate-stage"),
  cancelBtn: $("cancel-btn"),
  renameForm: $("rename-form"),
  renameName: $("rename-name"),
  renameError: $("rename-error"),
  retryBtn: $("retry-btn"),
  zoneForm: $("zone-form"),
  zoneName: $("zone-name"),
  zoneError: $("zone-name-error"),
  zoneBtn: $("zone-btn"),
};

/** The longest zone and profile names the server keeps. */
const ZONE_NAME_MAX = 40;
const PROFILE_NAME_MAX = 60;

const page = {
  profiles: [],
  control: null, // { cancel } while a calibration runs
  pending: null, // an outcome of kind "name": the calibration waiting for another name
  lastButton: null,
  zoneTarget: null, // the profile a zone is added to: { id, name }
};

async function loadProfiles() {
  try {
    const { profiles } = await api("/api/profiles");
    page.profiles = profiles;
  } catch (e) {
    notify("Profiles not loaded", e.message, { action: loadProfiles });
    return;
  }
  renderProfiles(page.profiles, {
    onDelete: deleteProfile, onZone: targetZone, onRemoveZone: removeZone, onRename: renameProfile, onRenameZone: renameZone,
  });
  if (!els.name.value.trim()) els.name.value = freeName();
}

/** "My screen", or "My screen 2", ... : a name no profile has yet. */
function freeName() {
  const taken = new Set(page.profiles.map((p) => p.name.toLowerCase()));
  for (let n = 1; ; n += 1) {
    const name = n === 1 ? DEFAULT_NAME : `${DEFAULT_NAME} ${n}`;
    if (!taken.has(name.toLowerCase())) return name;
  }
}

async function deleteProfile(profile) {
  if (!window.confirm(`Delete the profile \u201c${profile.name}\u201d? Sessions that used it keep their figures.`)) return;
  try {
    await api(`/api/profiles/${profile.id}`, { method: "DELETE" });
  } catch (e) {
    notify("Profile not deleted", e.message);
    return;
  }
  if (page.zoneTarget?.id === profile.id) {
    page.zoneTarget = null;
    showZoneCard(null);
  }
  await loadProfiles();
}

async function removeZone(profile, zone) {
  if (!window.confirm(`Remove the zone \u201c${zone}\u201d from \u201c${profile.name}\u201d? Glances there will no longer count as focused in new sessions.`)) return;
  try {
    await api(`/api/profiles/${profile.id}/zones/${encodeURIComponent(zone)}`, { method: "DELETE" });
  } catch (e) {
    notify("Zone not removed", e.message);
    return;
  }
  await loadProfiles();
}

/** Opens the rename form of `profile` in its list item. */
function renameProfile(item, profile) {
  openRename(item, {
    label: `New name for the profile \u201c${profile.name}\u201d`,
    value: profile.name,
    maxLength: PROFILE_NAME_MAX,
    returnTo: item.querySelector(".profile-actions .btn"),
    save: async (name) => {
      const saved = await api(`/api/profiles/${profile.id}`, { method: "PATCH", body: { name } });
      if (page.zoneTarget?.id === profile.id) {
        page.zoneTarget = { id: saved.id, name: saved.name };
        showZoneCard(page.zoneTarget);
      }
      await loadProfiles();
      focusProfile(profile.id, ".profile-actions .btn");
    },
  });
}

/** Opens the rename form of `profile`'s zone `zone` in its list item. */
function renameZone(item, profile, zone) {
  openRename(item, {
    label: `New name for the zone \u201c${zone}\u201d of \u201c${profile.name}\u201d`,
    value: zone,
    maxLength: ZONE_NAME_MAX,
    returnTo: [...item.querySelectorAll(".zone-chip")].find((chip) => chip.dataset.zone === zone)?.querySelector(".zone-rename"),
    save: async (name) => {
      await api(`/api/profiles/${profile.id}/zones/${encodeURIComponent(zone)}`, { method: "PATCH", body: { name } });
      await loadProfiles();
      focusProfile(profile.id, ".profile-actions .btn");
    },
  });
}

/** After the list is drawn again: the focus on `selector` in profile `id`'s item. */
function focusProfile(id, selector) {
  const item = document.querySelector(`#profile-list li[data-profile-id="${id}"]`);
  item?.querySelector(selector)?.focus();
}

/** Starts the camera for the preview when the browser already allows it (no prompt on arrival). */
async function previewIfAllowed() {
  try {
    const status = await navigator.permissions.query({ name: "camera" });
    if (status.state === "granted") await startCamera();
  } catch {
    // No Permissions API for the camera here: the camera starts with the calibration.
  }
}

/** Reads a name field; says what is wrong beside it and returns null when it is empty. */
function nameFrom(input, error, problem) {
  const name = input.value.trim();
  error.textContent = "";
  input.removeAttribute("aria-invalid");
  if (!name) {
    error.textContent = problem;
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return null;
  }
  return name;
}

function startScreen(points, button) {
  if (page.control) return;
  const name = nameFrom(els.name, els.nameError, "Give the profile a name, e.g. the desk or screen it is for.");
  if (name) start(points, button, { name });
}

function startZone(event) {
  event.preventDefault();
  if (page.control || !page.zoneTarget) return;
  const zone = nameFrom(els.zoneName, els.zoneError, "Name the zone, e.g. notes or second monitor.");
  if (!zone) return;
  if (zone.length > ZONE_NAME_MAX) {
    els.zoneError.textContent = `A zone's name has at most ${ZONE_NAME_MAX} characters.`;
    els.zoneName.setAttribute("aria-invalid", "true");
    els.zoneName.focus();
    return;
  }
  start(ZONE, els.zoneBtn, { profile_id: page.zoneTarget.id, zone });
}

/** Shows the zone form for `profile` (just saved, or chosen in the list). */
function targetZone(profile) {
  page.zoneTarget = { id: profile.id, name: profile.name };
  showZoneCard(profile);
  if (!els.zoneName.value.trim()) els.zoneName.value = "notes";
  els.zoneName.focus();
}

async function start(points, button, saveAs) {
  if (page.control) return;
  clearNotice();
  dismissPending();
  hideOutcome();
  page.lastButton = button;
  const control = { cancel: () => {} };
  page.control = control;
  const problem = await startCamera();
  if (problem) {
    page.control = null;
    notify(problem.title, problem.text, problem.retry ? { action: () => start(points, button, saveAs) } : {});
    return;
  }
  showStage(points.length * dotMs(points));
  enterFullscreen();
  try {
    const outcome = await calibrate({
      points,
      finish: saveAs,
      video,
      control,
      hooks: {
        onDot: saveAs.zone ? () => showZoneLook(saveAs.zone) : showDot,
        onFrame: noteFrame,
        onFrameError: () => {},
        onAnalysing: () => {
          // The eyes are on the zone, not the screen: a beep says the look is done.
          if (saveAs.zone) beep();
          showAnalysing();
        },
      },
    });
    settle(outcome, saveAs.name, saveAs.zone);
  } catch (e) {
    hideStage();
    if (e instanceof Cancelled) {
      notify("Calibration cancelled", "Nothing was saved. Start again when you are ready.", { kind: "info" });
    } else {
      notify("Calibration stopped", e.message, { action: () => start(points, button, saveAs) });
    }
    // Back where the calibration was started from, once out of full screen (leaving it
    // moves the focus to the page).
    await leaveFullscreen();
    button.focus();
  } finally {
    if (page.control === control) page.control = null;
    await leaveFullscreen();
  }
}

/** Shows an outcome; keeps a "choose another name" one for the rename form. */
function settle(outcome, name, zone) {
  page.pending = outcome.kind === "name" ? outcome : null;
  showOutcome(outcome, name, zone);
  if (outcome.kind === "saved") {
    loadProfiles();
    // The next step offered: zones for the profile just made (or just given one).
    page.zoneTarget = { id: outcome.profile.id, name: outcome.profile.name };
    showZoneCard(outcome.profile);
    // After a zone, the next one gets its own name; after the screen, "notes" is offered.
    if (zone) els.zoneName.value = "";
    else if (!els.zoneName.value.trim()) els.zoneName.value = "notes";
  }
}

function dismissPending() {
  if (page.pending) page.pending.dismiss();
  page.pending = null;
}

async function rename(event) {
  event.preventDefault();
  const pending = page.pending;
  if (!pending) return;
  const name = els.renameName.value.trim();
  if (!name) {
    els.renameError.textContent = "Give the profile a name.";
    els.renameName.focus();
    return;
  }
  try {
    settle(await pending.retry(name), name, null);
  } catch (e) {
    page.pending = null;
    notify("Calibration not saved", e.message);
  }
}

function cancel() {
  if (page.control) page.control.cancel();
}

function enterFullscreen() {
  // Full screen puts the corner dots at the screen's own corners. Browsers may refuse it
  // (no user gesture, a kiosk); the stage fills the window then.
  if (!document.fullscreenElement && els.stage.requestFullscreen) {
    els.stage.requestFullscreen().catch(() => {});
  }
}

async function leaveFullscreen() {
  if (!document.fullscreenElement || !document.exitFullscreen) return;
  try {
    await document.exitFullscreen();
  } catch {
    // Already left (Escape in full screen leaves it by itself).
  }
}

els.form.addEventListener("submit", (event) => {
  event.preventDefault();
  startScreen(FULL, els.fullBtn);
});
els.quickBtn.addEventListener("click", () => startScreen(QUICK, els.quickBtn));
els.zoneForm.addEventListener("submit", startZone);
els.cancelBtn.addEventListener("click", cancel);
els.renameForm.addEventListener("submit", rename);
els.retryBtn.addEventListener("click", () => {
  dismissPending();
  hideOutcome();
  (page.lastButton || els.fullBtn).focus();
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && page.control) {
    event.preventDefault();
    cancel();
  }
});
// In full screen the browser takes Escape to leave it: leaving full screen mid-calibration
// cancels it too.
document.addEventListener("fullscreenchange", () => {
  if (!document.fullscreenElement && page.control && !els.stage.hidden) cancel();
});
// Leaving the page stops the calibration and releases the camera.
window.addEventListener("pagehide", () => {
  cancel();
  dismissPending();
  stopCamera();
});

loadProfiles();
previewIfAllowed();
