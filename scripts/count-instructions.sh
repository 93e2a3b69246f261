#!/usr/bin/env bash
# Instructions per frame of `focus-sentry analyze`, counted by valgrind's callgrind: a figure
# that other work on the machine does not disturb (wall time does), to compare two builds.
#
#   scripts/count-instructions.sh BIN FRAME...      # e.g. target/release/focus-sentry f*.jpg
#
# Runs BIN three times on one inference thread: A = the first frame alone, B = every frame as
# stills (each a cold frame: detector + mesh), C = every frame as one stream (the first cold,
# the rest tracked: mesh only). Then a cold frame = (B - A) / (N - 1) and a tracked frame =
# (C - A) / (N - 1), so start-up (model loading) cancels out. Prints millions of instructions
# (Ir). Under valgrind rten runs its AVX2 kernels even on an AVX-512 machine.
# Keeps each run's callgrind file in ${OUT:-target/tmp/callgrind} for callgrind_annotate.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 BIN FRAME FRAME [FRAME...]" >&2; exit 2; }
BIN=$1; shift
N=$#
OUT=${OUT:-target/tmp/callgrind}
LABEL=${LABEL:-$(basename "$BIN")}
mkdir -p "$OUT"
export RTEN_NUM_THREADS=1

ir() { # name, analyze args...
  local name=$1; shift
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$LABEL.$name.cg" \
    "$BIN" analyze "$@" > "$OUT/$LABEL.$name.out" 2> "$OUT/$LABEL.$name.err"
  grep -m1 '^summary:' "$OUT/$LABEL.$name.cg" | awk '{print $2}'
}

# The three runs are independent: run them side by side.
ir one "$1" > "$OUT/$LABEL.one.ir" &
ir stills "$@" > "$OUT/$LABEL.stills.ir" &
ir stream --stream "$@" > "$OUT/$LABEL.stream.ir" &
wait
a=$(cat "$OUT/$LABEL.one.ir"); b=$(cat "$OUT/$LABEL.stills.ir"); c=$(cat "$OUT/$LABEL.stream.ir")
awk -v a="$a" -v b="$b" -v c="$c" -v n="$N" -v l="$LABEL" 'BEGIN {
  printf "%s: cold frame %.1f M instructions, tracked frame %.1f M (start-up %.1f M; %d frames)\n",
    l, (b - a) / (n - 1) / 1e6, (c - a) / (n - 1) / 1e6, (a - (b - a) / (n - 1)) / 1e6, n
}'
