#!/usr/bin/env bash
# Run the tests (engine, claims, lint, and the compiled PDF); run ./build.sh first.
set -uo pipefail
cd "$(dirname "$0")"
PY=.venv/bin/python
[ -x "$PY" ] || { echo "no .venv: run 'bash build.sh' first" >&2; exit 2; }
# Every core (PYTEST_WORKERS=1 for one).  A test file stays on one worker, so a module's built copy
# of the repository is made once, and the files that build copies start first (tests/conftest.py
# schedules them).
"$PY" -m pytest -n "${PYTEST_WORKERS:-auto}" --no-loadscope-reorder "$@"
status=$?
if [ "$status" = 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
