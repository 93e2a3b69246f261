// Temporary directories (clips, databases, browser profiles) that go away when the test
// process ends, however it ends: normally, on an error, or on Ctrl-C (lib/server.js turns
// the signals into an exit).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dirs = new Set();

process.on("exit", () => {
  for (const dir of dirs) {
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

/** A new directory under the system's temp dir, named `focus-e2e-<label>-XXXXXX`. */
export function makeTempDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `focus-e2e-${label}-`));
  dirs.add(dir);
  return dir;
}

/** Removes a directory made by `makeTempDir` now. */
export function removeTempDir(dir) {
  if (!dir) return;
  dirs.delete(dir);
  // A browser's helper processes may still be closing files in its profile: retry for a few
  // seconds (a killed Chromium's renderers and utility processes outlive it by over a second
  // on a loaded machine, and an ENOTEMPTY here failed a test file whose tests all passed).
  // If it still will not go, it is left for the exit handler: a profile that outlives its
  // browser by a few seconds is no failure of the test that used it.
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 25, retryDelay: 200 });
  } catch (e) {
    dirs.add(dir);
    console.warn(`could not remove ${dir} yet (${e.code ?? e.message}); removing it at exit`);
  }
}
