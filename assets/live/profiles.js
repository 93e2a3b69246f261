// The start page's calibration profile chooser: the saved profiles (GET /api/profiles), with
// "No profile" (the default rules) first and chosen by default. The choice is remembered with
// the form's saved defaults (settings.js), and the calibration page's "Start a session with
// it" link (`/?profile=ID`) chooses the profile just made. And the live card's line saying
// which profile the running session judges with (renderProfileInUse).

import { $, api, el } from "../common.js";

const els = { select: $("profile"), hint: $("profile-hint") };

const state = {
  /** The id to choose once the list is in (a saved default, or ?profile=ID). */
  wanted: null,
  /** The profiles listed, and the hint to show under the chooser when nothing else is to be said. */
  profiles: [],
  hint: "",
};

/** Fills the chooser from the server; says in the hint when the list could not be loaded. */
export async function loadProfiles() {
  const url = new URL(location.href);
  const fromLink = Number(url.searchParams.get("profile"));
  if (url.searchParams.has("profile")) {
    url.searchParams.delete("profile");
    history.replaceState(null, "", url);
    if (Number.isInteger(fromLink) && fromLink > 0) state.wanted = fromLink;
  }
  let profiles;
  try {
    ({ profiles } = await api("/api/profiles"));
  } catch (e) {
    els.hint.textContent = `The profiles could not be loaded (${e.message}); sessions use the default rules.`;
    return;
  }
  els.select.replaceChildren(
    el("option", { value: "" }, "No profile (the default rules)"),
    ...profiles.map((p) => el("option", { value: p.id, disabled: !p.usable },
      p.usable ? `${p.name} (${p.mode === "full" ? "full" : "quick"} calibration${zonesText(p.zones)})` : `${p.name} (cannot be used: ${p.problem})`)),
  );
  state.profiles = profiles;
  state.hint = profiles.length
    ? "Judges your attention relative to your calibrated screen and eyes."
    : "No profile yet: calibrate so that your screen counts wherever your camera sits.";
  apply();
}

/** Chooses profile `id` (null: no profile), now or once the list is in. */
export function chooseProfile(id) {
  state.wanted = id == null ? null : Number(id);
  apply();
}

function apply() {
  if (state.wanted == null) {
    els.select.value = "";
    if (state.hint) els.hint.textContent = state.hint;
    return;
  }
  const option = [...els.select.options].find((o) => o.value === String(state.wanted) && !o.disabled);
  // A remembered profile that was deleted since, or that this version cannot use: no profile.
  els.select.value = option ? option.value : "";
  // Say why the remembered one was not chosen (e.g. made by an older version: calibrate again).
  const unusable = state.profiles.find((p) => p.id === state.wanted && !p.usable);
  if (unusable) {
    els.hint.textContent = `Your profile "${unusable.name}" cannot be used: ${unusable.problem}. Sessions use the default rules until you choose another.`;
  } else if (state.hint) {
    els.hint.textContent = state.hint;
  }
}

/** The chosen profile's id, or null for none. */
export function chosenProfile() {
  return els.select.value ? Number(els.select.value) : null;
}

/**
 * Says in `line` which profile the session judges with: its name and kind, or "Not
 * calibrated" with a link to calibrate (in a new tab, so the session goes on here).
 */
export async function renderProfileInUse(line, id) {
  const calibrateLink = (text) =>
    el("a", { href: "/calibrate", target: "_blank", rel: "noopener", id: "live-calibrate-link" }, text);
  if (id == null) {
    delete line.dataset.for;
    line.replaceChildren(
      "Not calibrated: facing the camera counts as facing the screen. ",
      calibrateLink("Calibrate"),
      " (opens a new tab) for your next session.",
    );
    return;
  }
  line.replaceChildren(`Judged with your profile #${id}.`);
  // A later session's line must not be overwritten by this one's late answer.
  const token = String(id) + ":" + performance.now();
  line.dataset.for = token;
  try {
    const profile = await api(`/api/profiles/${encodeURIComponent(id)}`);
    if (line.dataset.for !== token) return;
    line.replaceChildren(
      "Judged with your profile ",
      el("strong", {}, `\u201c${profile.name}\u201d`),
      ` (${profile.mode === "full" ? "full" : "quick"} calibration${zonesText(profile.profile?.zones)}).`,
    );
  } catch (e) {
    if (line.dataset.for !== token) return;
    if (e.status === 404) {
      line.replaceChildren("Its calibration profile was deleted: judged with the default rules. ", calibrateLink("Calibrate"), " (opens a new tab).");
    }
    // Otherwise the line keeps the profile's number: the session judges with it all the same.
  }
}

/** "; zones: notes, second monitor", or nothing; `zones` are names or the profile's zone objects. */
function zonesText(zones) {
  return zones && zones.length ? `; zones: ${zones.map((z) => (typeof z === "string" ? z : z.name)).join(", ")}` : "";
}
