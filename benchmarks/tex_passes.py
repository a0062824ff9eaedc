"""One XeLaTeX pass of each material, counted in instructions.  Prints; asserts nothing.

    python benchmarks/tex_passes.py                 every material in build/ (run `bash build.sh` first)
    python benchmarks/tex_passes.py deck notes      some of them

On a shared 2-core machine a pass's wall time moves by 20% from one minute to the next, so two
versions of the theme or of a template cannot be told apart by timing them.  The number of
instructions a pass runs (valgrind's cachegrind, without its cache simulation) moves by about
1e-5 between runs, so it can: run this before and after a change to the theme or a template.
Without valgrind the script prints wall times (median of three) instead.

Each pass runs in a temporary copy of build/, with the same precompiled preamble and settled
auxiliary files as the build, so your build/ is not touched.
"""
from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))

from mlsysim_deck import build as B  # noqa: E402

MATERIALS = B.TYPESET  # (the handout runs no pass: it is the deck's pages)
CACHEGRIND = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]


def one_pass(build_dir: Path, job: str, counted: bool) -> float:
    """Instructions (counted) or seconds of one XeLaTeX pass over build_dir/<job>.tex."""
    templates = ROOT / "templates"
    # the binary itself: valgrind follows no `xelatex` -> `xetex` symlink by name
    xelatex = str(Path(shutil.which("xelatex")).resolve())
    env = B._tex_env(build_dir, templates)
    fmt = B.precompiled_preamble(build_dir, templates, job, xelatex, env)
    cmd = [xelatex, "-no-pdf", "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={build_dir / 'tex'}",
           *([f"-fmt={fmt}"] if fmt else []), f"{job}.tex"]
    start = time.perf_counter()
    proc = subprocess.run((CACHEGRIND if counted else []) + cmd, cwd=build_dir, env=env, capture_output=True,
                          text=True, errors="replace")
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{job}: the pass failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    if not counted:
        return seconds
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if not found:
        raise SystemExit(f"{job}: no instruction count in valgrind's output:\n{proc.stderr[-1500:]}")
    return float(found.group(1).replace(",", ""))


def main(argv: list[str]) -> int:
    jobs = argv or [m for m in MATERIALS if (ROOT / "build" / f"{m}.tex").exists()]
    if not jobs:
        print("no build/<material>.tex: run `bash build.sh` first", file=sys.stderr)
        return 2
    counted = shutil.which("valgrind") is not None
    if not counted:
        print("valgrind not found: wall times, median of three (they move with the machine)")
    with tempfile.TemporaryDirectory() as tmp:
        build_dir = Path(tmp) / "build"
        shutil.copytree(ROOT / "build", build_dir, symlinks=True)
        for job in jobs:
            if counted:
                print(f"{job:10s} {one_pass(build_dir, job, True) / 1e9:7.3f} G instructions", flush=True)
            else:
                times = [one_pass(build_dir, job, False) for _ in range(3)]
                print(f"{job:10s} {statistics.median(times):7.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
