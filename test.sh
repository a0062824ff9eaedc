#!/usr/bin/env bash
# Run the tests (engine, claims, lint, and the compiled PDF); run ./build.sh first.
set -uo pipefail
cd "$(dirname "$0")"
PY=.venv/bin/python
[ -x "$PY" ] || { echo "no .venv: run 'bash build.sh' first" >&2; exit 2; }
# The tests start some 150 Python processes (doit, impact and lock runs, in copies of the repository
# and here); each finds its modules compiled by the one before it, in the __pycache__ folders Python
# keeps beside them (git-ignored), also where PYTHONDONTWRITEBYTECODE is set (a container's default):
# otherwise every process compiles the engine and the tooling again, and each pytest worker rewrites
# every test file's asserts (about 10 s of the suite on two cores).
unset PYTHONDONTWRITEBYTECODE
# The tests' temporary folders (pytest's tmp_path: some 30 copies of the repository, 2,000 files
# each, built in and removed again) go to memory, /dev/shm, where that is a tmpfs with 2 GiB free
# and TMPDIR is not set already: on a virtual machine's disk, making and removing those files is a
# tenth of the suite's CPU time.  The repository's own build/ stays where it is.
if [ -z "${TMPDIR:-}" ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ] \
   && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -ge 2097152 ]; then
  export TMPDIR=/dev/shm
fi
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
