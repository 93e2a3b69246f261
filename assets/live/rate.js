// The line under the video: how many frames a second the server analyses and how long each
// takes, and, when the rate is well under what the server asks for, why, in words. The
// cause is read from the server's own measurements (docs/api.md, `stream`): analysis slower
// than the asking interval means the server is busy; otherwise the frames come late from the
// page, which a hidden tab explains (the browser holds it back), as does a camera not yet
// delivering. Pure: no DOM, so e2e/unit checks it under node; stream.js shows what it says.

/**
 * The rate line for a message's `stream` figures. `page`: `{ settled }` (connected long
 * enough for a rate to mean something), `paused` (no frames are asked for), `hidden`
 * (document.hidden) and `cameraActive`.
 */
export function rateText(stream, { settled, paused, hidden, cameraActive }) {
  let text = `${stream.analysed_fps.toFixed(1)} frames/s analysed`;
  if (stream.analysis_ms != null) text += `, ${stream.analysis_ms} ms each`;
  if (!settled || paused || stream.analysed_fps >= 0.8 * stream.target_fps) return text;
  const interval = 1000 / stream.target_fps;
  if (stream.analysis_ms != null && stream.analysis_ms > interval) return `${text} (slowed down: the server is busy)`;
  if (hidden) return `${text} (slowed down: the browser is holding back this hidden tab)`;
  if (!cameraActive) return `${text} (waiting for the camera)`;
  return `${text} (slowed down: this browser is slow to capture frames)`;
}
