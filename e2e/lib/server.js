// The server under test: the real binary (dev profile, built by `cargo build` in the repo
// root), started on a free loopback port with a temporary database, in a temp working
// directory so no developer's .env is read, and with no FOCUS_*/TWILIO_* settings but the
// ones a test passes.

import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

import { REPO_ROOT } from "./env.js";
import { makeTempDir, removeTempDir } from "./tmp.js";

// Where `cargo build` in the repo root puts the binary: CARGO_TARGET_DIR (relative to the repo
// root, where cargo runs) when it is set, as scripts/test.sh also honours, else target/.
const TARGET_DIR = resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR || "target");
const BINARY = process.env.FOCUS_SENTRY_BIN || join(TARGET_DIR, "debug", "focus-sentry");
const BUILD_TIMEOUT_MS = 20 * 60_000; // a first build from scratch on 2 cores
const LISTEN_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

const running = new Set();
// Whatever happens to the test process (an error, a timeout, Ctrl-C), no server outlives it.
function killAll() {
  for (const child of running) {
    try { child.kill("SIGKILL"); } catch { /* already gone */ }
  }
}
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    killAll();
    // Let other handlers (Playwright closes its browsers on these too) run first.
    setTimeout(() => process.exit(128 + (signal === "SIGHUP" ? 1 : signal === "SIGINT" ? 2 : 15)), 200).unref();
  });
}

/** What the binary is built from (the models are compiled in). */
const SOURCES = ["src", "assets", "crates", "models", "Cargo.toml", "Cargo.lock", "build.rs"];

/** The newest modification time among the sources, in ms. */
function newestSource() {
  let newest = 0;
  const visit = (path) => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) {
        if (name === "target" || name === "node_modules" || name.startsWith(".")) continue;
        visit(join(path, name));
      }
    } else {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const source of SOURCES) visit(join(REPO_ROOT, source));
  return newest;
}

/**
 * The binary to test: FOCUS_SENTRY_BIN as it is, or <target dir>/debug/focus-sentry, built with
 * `cargo build` in the repo root when it is missing or older than its sources (after
 * `cargo test`, as in scripts/test.sh, it is already there and current).
 */
export function buildServer() {
  if (process.env.FOCUS_SENTRY_BIN) {
    if (!existsSync(BINARY)) throw new Error(`FOCUS_SENTRY_BIN=${BINARY} does not exist`);
    return BINARY;
  }
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= newestSource()) return BINARY;
  const run = spawnSync("cargo", ["build", "--quiet", "--bin", "focus-sentry"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: BUILD_TIMEOUT_MS,
    env: { ...process.env, CARGO_TERM_COLOR: "never" },
  });
  if (run.error) throw new Error(`could not run cargo build: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`cargo build failed:\n${run.stderr}`);
  if (!existsSync(BINARY)) throw new Error(`cargo build did not produce ${BINARY}`);
  return BINARY;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** The environment without the settings a developer's shell may have. */
function cleanEnv(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("FOCUS_") || key.startsWith("TWILIO_")) continue;
    env[key] = value;
  }
  return { ...env, RUST_LOG: "info", NO_COLOR: "1", ...extra };
}

/**
 * A Focus Sentry server for one test file. `start()` launches it (again, on the same port
 * and database after a `kill()`), `stop()` asks it to shut down (SIGTERM), `kill()` crashes it
 * (SIGKILL), `cleanup()` stops it and removes its files. Its log is kept in `logPath`.
 */
export class FocusServer {
  constructor({ env = {} } = {}) {
    this.dir = makeTempDir("server");
    this.db = join(this.dir, "e2e.db");
    this.logPath = join(this.dir, "server.log");
    this.env = env;
    this.port = null;
    this.child = null;
    this.binary = null;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    if (this.child) throw new Error("the server is already running");
    this.binary ??= buildServer();
    this.port ??= await freePort();
    const log = openSync(this.logPath, "a");
    const child = spawn(
      this.binary,
      ["serve", "--host", "127.0.0.1", "--port", String(this.port), "--db", this.db],
      { cwd: this.dir, env: cleanEnv(this.env), stdio: ["ignore", log, log] },
    );
    closeSync(log);
    this.child = child;
    running.add(child);
    const exited = new Promise((resolve) => child.once("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }));
    child.exited = exited;
    let gone = null;
    exited.then((how) => { gone = how; });
    const deadline = Date.now() + LISTEN_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (gone) {
        this.child = null;
        throw new Error(`the server exited (${gone.code ?? gone.signal}) before listening:\n${this.logTail()}`);
      }
      try {
        // A server with an access token wants it on the API too.
        const token = this.env.FOCUS_ACCESS_TOKEN;
        const headers = token ? { Authorization: `Bearer ${token}` } : {};
        const res = await fetch(`${this.url}/api/config`, { headers, signal: AbortSignal.timeout(2000) });
        if (res.ok) return this;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.kill();
    throw new Error(`the server did not answer /api/config within ${LISTEN_TIMEOUT_MS / 1000} s:\n${this.logTail()}`);
  }

  /** SIGTERM (graceful: sessions are saved as interrupted), then SIGKILL if it lingers. */
  async stop() {
    await this.#signal("SIGTERM", STOP_TIMEOUT_MS);
  }

  /** SIGKILL: the process is gone at once, as in a crash or a power cut. */
  async kill() {
    await this.#signal("SIGKILL", STOP_TIMEOUT_MS);
  }

  async #signal(signal, timeoutMs) {
    const child = this.child;
    if (!child) return;
    this.child = null;
    child.kill(signal);
    let timer;
    const late = new Promise((r) => { timer = setTimeout(() => r("late"), timeoutMs); });
    const how = await Promise.race([child.exited, late]);
    clearTimeout(timer);
    if (how === "late") {
      child.kill("SIGKILL");
      await child.exited;
    }
  }

  /** SIGSTOP: the process hangs (its sockets stay open, nothing is answered). */
  freeze() {
    if (!this.child) throw new Error("the server is not running");
    this.child.kill("SIGSTOP");
  }

  /** SIGCONT after `freeze()`. */
  thaw() {
    if (this.child) this.child.kill("SIGCONT");
  }

  async cleanup() {
    this.thaw();
    await this.stop();
    removeTempDir(this.dir);
  }

  logTail(lines = 40) {
    try {
      return readFileSync(this.logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no server log)";
    }
  }

  log() {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  /** GET/POST on the JSON API, as the page would; throws on a non-2xx answer. */
  async api(path, { method = "GET", body } = {}) {
    const init = { method, headers: { Accept: "application/json" }, signal: AbortSignal.timeout(10_000) };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(`${this.url}${path}`, init);
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
}
