// Pictures: the README's screenshots, and what a failed test leaves for diagnosis.

import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { DOCS_IMAGES_DIR, RESULTS_DIR, UPDATE_DOCS_IMAGES } from "./env.js";

/**
 * Screenshots the viewport (1280x800) to test-results/screenshots/<name>; with
 * `npm run screenshots` (E2E_UPDATE_SCREENSHOTS=1) also to docs/images/<name>.
 */
export async function documentScreenshot(page, name) {
  const dir = join(RESULTS_DIR, "screenshots");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  // No blinking caret, no half-finished transition in a picture meant for the README.
  await page.screenshot({ path, animations: "disabled", caret: "hide", timeout: 15_000 });
  if (UPDATE_DOCS_IMAGES) {
    mkdirSync(DOCS_IMAGES_DIR, { recursive: true });
    copyFileSync(path, join(DOCS_IMAGES_DIR, name));
  }
  return path;
}

/**
 * Runs `body`; if it throws, saves a screenshot, the page's text and the server log under
 * test-results/failures/<label>-*, says where, and throws again.
 */
export async function keepEvidence(label, { page, server, notes } = {}, body) {
  try {
    return await body();
  } catch (error) {
    const dir = join(RESULTS_DIR, "failures");
    const base = join(dir, label.replace(/[^a-z0-9]+/gi, "-").toLowerCase());
    try {
      mkdirSync(dir, { recursive: true });
      if (page && !page.isClosed()) {
        await page.screenshot({ path: `${base}.png`, fullPage: true, timeout: 5000 }).catch(() => {});
        const text = await page.evaluate(() => document.body.innerText).catch((e) => `(no text: ${e.message})`);
        writeFileSync(`${base}.page.txt`, `${page.url()}\n\n${text}\n`);
      }
      if (server) writeFileSync(`${base}.server.log`, server.log());
      if (notes) writeFileSync(`${base}.notes.txt`, typeof notes === "function" ? notes() : String(notes));
      error.message += `\n(evidence: ${base}.*)`;
    } catch {
      // Evidence is a courtesy; the test's own error is what matters.
    }
    throw error;
  }
}
