#!/usr/bin/env bash
# The one test command (README "Test"): formatting, lints, every Rust test, the vision
# accuracy gate on ../shared/eval/faces when that research-only folder exists, and the
# end-to-end browser tests when their tools are installed (.ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (workspace)"
cargo test --workspace

# The vendored rten's own tests of its patches (vendor/rten/README.md, "Tests"): kernels bit
# for bit against their definitions, and with `kernel-stats` that the new paths ran. vendor/
# is not a workspace member, so the workspace's `cargo test` does not reach them.
step "cargo test (vendor/rten: the patches' tests)"
cargo test --manifest-path vendor/rten/Cargo.toml --features kernel-stats --test patched_kernels

# The vendored rten-gemm's own unit tests, upstream's (vendor/rten-gemm/README.md): every
# GEMM kernel this CPU has against a reference, over sizes around its tiles and blocks.
step "cargo test (vendor/rten-gemm: upstream's unit tests)"
cargo test --manifest-path vendor/rten-gemm/Cargo.toml --lib

# The vendored zune-jpeg's test of its patch (vendor/zune-jpeg/README.md): a region decoded
# equals a full decode there to the bit.
step "cargo test (vendor/zune-jpeg: the region decode's tests)"
cargo test --manifest-path vendor/zune-jpeg/Cargo.toml --test decode_region

# The binary `cargo test` just built (feature-unified with the tests): reusing it saves a
# second build of the dependency graph that `cargo run` would start.
BIN="${CARGO_TARGET_DIR:-target}/debug/focus-sentry"
[ -x "$BIN" ] || cargo build --quiet

EVAL_DIR="${FOCUS_EVAL_DIR:-../shared/eval/faces}"
if [ -d "$EVAL_DIR" ]; then
  # A regression floor at the measured figure (52/55, 94.5%; 51/55 fails): the gaze rule of
  # issue 12.4 reads two with_pose photos "eyes turned away" whose labels come from head pose
  # alone while their eyes visibly look 26-32 deg aside (docs/vision.md "Accuracy").
  step "vision accuracy on $EVAL_DIR (read in place; >= 94.5% correct, pose MAE <= 8 deg)"
  "$BIN" eval "$EVAL_DIR" --min-accuracy 0.945 --max-pose-mae-deg 8
else
  step "skipping the accuracy gate: $EVAL_DIR not found"
fi

EVAL2_DIR="${FOCUS_EVAL2_DIR:-../shared/eval/faces2}"
if [ -d "$EVAL_DIR" ] && [ -d "$EVAL2_DIR" ]; then
  # The half no number was chosen on (docs/vision.md). Issue 12 aims at 93%; measured 94.3%
  # (66/70, with the head pose read from the landmarks' image positions, docs/vision.md "Head
  # pose"; 65/70 fails): one miss is a photo labelled attentive by head pose alone whose eyes
  # look well aside, docs/vision.md "Accuracy". So this floor is the true figure.
  step "vision accuracy on the held-out half of $EVAL_DIR + $EVAL2_DIR (>= 94.2% correct)"
  "$BIN" eval "$EVAL_DIR" "$EVAL2_DIR" --half held-out --min-accuracy 0.942
  # Roll: measured 1.6 deg (53 faces; 1.8 with the 3D fit) since the fit's rotation is read in
  # the labels' own order (pitch outermost, docs/vision.md "Conventions"); 4.7 before, so 2.5
  # catches a return to the other order.
  step "head-pose error on every photo with ground truth in both sets (MAE <= 5 deg; roll <= 2.5)"
  "$BIN" eval "$EVAL_DIR" "$EVAL2_DIR" --max-pose-mae-deg 5 --max-roll-mae-deg 2.5
  if command -v ffmpeg >/dev/null; then
    step "side camera: a profile calibrated on faces turned ~30 deg; turned faces focused, frontal ones looking_away"
    scripts/side-camera.sh "$BIN" "$EVAL_DIR" "$EVAL2_DIR"
  elif [ "${CI:-}" = "true" ]; then
    echo "the side-camera gate needs ffmpeg (to mirror photos): run .ci/run" >&2
    exit 1
  else
    step "skipping the side-camera gate: install ffmpeg"
  fi
fi

step "vision accuracy on the committed fixtures (>= 95% correct)"
"$BIN" eval tests/fixtures/faces --min-accuracy 0.95

if [ -f e2e/package.json ]; then
  if [ -x /usr/bin/chromium ] && command -v ffmpeg >/dev/null && [ -d e2e/node_modules ]; then
    step "end-to-end tests in headless Chromium"
    (cd e2e && npm test)
  elif [ "${CI:-}" = "true" ]; then
    echo "end-to-end tools missing (chromium, ffmpeg or e2e/node_modules): run .ci/run" >&2
    exit 1
  else
    step "skipping end-to-end tests: install chromium, ffmpeg and run 'npm ci' in e2e/ (see README)"
  fi
fi
