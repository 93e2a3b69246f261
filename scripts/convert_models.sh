#!/usr/bin/env bash
# Regenerate models/ (MediaPipe Face Landmarker -> ONNX). Needs PyPI access.
# Makes a throwaway venv under /tmp (reused if present) and runs
# scripts/convert_models.py in it. Extra arguments are passed through, e.g.
#   scripts/convert_models.sh --rtencheck /tmp/rtencheck/target/release/rtencheck
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${CONVERT_VENV:-/tmp/convvenv}"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import tensorflow, tf2onnx, onnxruntime, onnx, PIL' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet \
    tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnxruntime numpy protobuf onnx pillow
fi

export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
exec "$venv/bin/python" "$here/convert_models.py" "$@"
