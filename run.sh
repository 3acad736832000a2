#!/usr/bin/env bash
# One entry point for a fresh machine: creates .venv (Python 3.11) from requirements/lock.txt, then
#   ./run.sh demo   -> the main job on the bundled sample clip and default model (writes out/demo/)
#   ./run.sh test   -> the test suite (pytest); extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
# Installs go through the lock file (every package pinned, transitive ones included); a changed lock file is
# installed again, so the environment is always the locked one.
LOCK=requirements/lock.txt
want=$(sha256sum "$LOCK" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.lock-sha256 2>/dev/null)" != "$want" ]; then
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q "pip==26.3"
  .venv/bin/python -m pip install -q -r "$LOCK"
  echo "$want" > .venv/.lock-sha256
fi
cmd=${1:-test}; shift || true
case "$cmd" in
  test) exec .venv/bin/python -m pytest -q "$@" ;;
  demo) exec .venv/bin/python -m bake.demo --out out/demo "$@" ;;
  *) echo "usage: ./run.sh [test|demo] [args...]" >&2; exit 2 ;;
esac
