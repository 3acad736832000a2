#!/usr/bin/env bash
# One entry point for a fresh machine: creates .venv (Python 3.11) with the dev requirements, then
#   ./run.sh demo   -> the main job on the bundled sample clip and default model (writes out/demo/)
#   ./run.sh test   -> the test suite (pytest); extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import torch, anny, bpy, onnxruntime, cv2, scipy" 2>/dev/null; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements/dev.txt
fi
cmd=${1:-test}; shift || true
case "$cmd" in
  test) exec .venv/bin/python -m pytest -q "$@" ;;
  demo) exec .venv/bin/python -m bake.demo --out out/demo "$@" ;;
  *) echo "usage: ./run.sh [test|demo] [args...]" >&2; exit 2 ;;
esac
