// Bounded waiting: every wait in the suite has a deadline and says what it waited for.

/** Thrown by a check when waiting longer cannot help (e.g. the page went somewhere else). */
export class GiveUp extends Error {}

/**
 * Runs `check` (which throws, e.g. an assert, while the condition does not hold) until it
 * passes, and returns what it returned; after `timeout` ms, throws its last error prefixed
 * with `what`. A `GiveUp` thrown by `check` ends the wait at once.
 */
export async function eventually(what, check, { timeout = 15_000, interval = 200 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (e instanceof GiveUp) {
        e.message = `gave up waiting for ${what}: ${e.message}`;
        throw e;
      }
      last = e;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, interval));
  }
  const error = new Error(`timed out after ${timeout / 1000} s waiting for ${what}: ${last && last.message}`);
  error.cause = last;
  throw error;
}

/** Resolves `promise`, or rejects after `ms` with a message naming `what`. */
export function withTimeout(what, promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
