"""The author's loop, timed: each figure beside its target (medians).  Prints; asserts nothing.

    python benchmarks/run.py             everything (about ten minutes on 2 cores: it builds copies
                                          of the repository and runs the test suite once)
    python benchmarks/run.py --quick     the engine only: import, first solve, solve, sweep
    python benchmarks/run.py --no-tests  everything but the test suite

The build figures are measured in a temporary copy of the repository, started from this checkout's
build/ when there is one (run `bash build.sh` first), so the edits never touch your files:

Each `doit` runs as an author runs it: tasks side by side on every core (at most four), except where
a row says serial (`doit -n 1`).

* spec edit -> deck.pdf: H100 memory bandwidth moved in hardware.toml, then `doit pdf:deck`;
* spec edit -> every material: the same, then `doit` (the five PDFs, claims.json, the ledger);
  both with the figure cache off (MLSYSIM_FIGURE_CACHE=0), as for a value never drawn before: the
  edits go back and forth between two values, whose figures the cache would otherwise hold;
* prose edit -> deck.pdf: one sentence of a Part 1 frame reworded, then `doit pdf:deck`;
* full build from empty: `rm -rf build; doit -n 1`, serial (one task at a time), and `doit` as is;
  the user's cache (~/.cache/mlsysim: the preamble's formats, the equations' proofs, compiled
  templates, the auxiliary files each material settled on, the figures drawn before) is kept, as on
  an author's machine;
* full build from nothing: the same, serial, with that cache empty too (a new machine, a CI runner);
* peak memory: the largest resident set of the full build's processes (Python or XeLaTeX);
* test suite: `bash test.sh -q` (on every core), once with the user's cache as it is (on a machine
  that ran the suite before, it holds the figures of the tests' what-if edits), and once with no
  figure in it (as in CI, where only the build before the tests drew figures).
"""
from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))
sys.path.insert(0, str(ROOT / "tests"))
ENV = {k: v for k, v in os.environ.items() if not k.startswith("MLSYSIM_")} | {"PYTHONPATH": str(ROOT / "engine")}

FIRST_SOLVE = """
import time
start = time.perf_counter()
import mlsysim
mlsysim.Engine.solve(mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100, batch_size=8)
print(time.perf_counter() - start)
"""


def row(what: str, value: float, unit: str, target: float | None = None, better: str = "below"):
    if target is None:
        print(f"{what:34s} {value:9.3f} {unit}")
        return
    met = value <= target if better == "below" else value >= target
    sign = "≤" if better == "below" else "≥"
    print(f"{what:34s} {value:9.3f} {unit:4s} target {sign} {target:g} {unit:4s} {'met' if met else 'NOT MET'}")


def first_solve(runs=9) -> float:
    """A fresh interpreter: `import mlsysim` and one Engine.solve (the specs' cache warm, as after
    the first run on a machine)."""
    subprocess.run([sys.executable, "-c", FIRST_SOLVE], env=ENV, capture_output=True, check=True)
    return statistics.median(float(subprocess.run([sys.executable, "-c", FIRST_SOLVE], env=ENV,
                                                  capture_output=True, text=True, check=True).stdout)
                             for _ in range(runs))


def solve_time(number=20000) -> float:
    import mlsysim

    llama, hw = mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100
    mlsysim.Engine.solve(llama, hw, batch_size=8)
    return min(timeit.repeat(lambda: mlsysim.Engine.solve(llama, hw, batch_size=8), number=number, repeat=5)) / number


def doit(repo: Path, *args, env: dict | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "doit", *args], cwd=repo, capture_output=True, text=True,
                          env=ENV | {"PYTHONPATH": str(repo / "engine")} | (env or {}))
    if proc.returncode != 0:
        raise SystemExit(f"doit {' '.join(args)} failed in {repo}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


BANDWIDTHS = ["3.35", "3.36"]  # H100 memory bandwidth, TB/s: each edit moves it to the other value


def spec_edits(repo: Path, target: list[str], runs=3) -> float:
    spec = repo / "engine" / "mlsysim" / "specs" / "hardware.toml"
    times = []
    for i in range(runs):
        old, new = BANDWIDTHS[i % 2], BANDWIDTHS[(i + 1) % 2]
        edit(spec, f'memory_bandwidth = {{ value = {old}, unit = "TB/s"', f'memory_bandwidth = {{ value = {new}, unit = "TB/s"')
        times.append(doit(repo, *target, env={"MLSYSIM_FIGURE_CACHE": "0"}))  # (drawn as a new value is)
    if runs % 2:
        edit(spec, f'value = {BANDWIDTHS[1]}, unit = "TB/s"', f'value = {BANDWIDTHS[0]}, unit = "TB/s"')
        doit(repo)
    return statistics.median(times)


def prose_edits(repo: Path, runs=3) -> float:
    template = repo / "slides" / "01_roofline" / "slides.tex.j2"
    words = ["\\begin{frame}{", "\\begin{frame}{\\relax "]
    times = []
    for i in range(runs):
        edit(template, *(words if i % 2 == 0 else words[::-1]))
        times.append(doit(repo, "pdf:deck"))
    return statistics.median(times)


def full_builds(repo: Path, *args, runs=3, cold=False) -> tuple[float, float]:
    """`rm -rf build; doit <args>`; with `cold`, the user's cache emptied too (a new machine)."""
    times = []
    for _ in range(runs):
        shutil.rmtree(repo / "build", ignore_errors=True)
        with tempfile.TemporaryDirectory() as cache:
            times.append(doit(repo, *args, env={"MLSYSIM_CACHE": cache} if cold else None))
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest process so far
    return statistics.median(times), peak_kb / 1024


def test_suite(figures_cached: bool = True) -> float:
    if not figures_cached:  # the figures drawn before forgotten, as on a machine that drew none
        from mlsysim.units import cache_root

        for kind in ("figures", "figure-reads"):
            if cache_root() is not None:
                shutil.rmtree(Path(cache_root()) / kind, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run(["bash", "test.sh", "-q"], cwd=ROOT, capture_output=True, text=True)
    took = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines() or ["?"]
    for line in lines:
        if line.startswith(("FAILED", "ERROR")):
            print("   " + line)  # a failing test is named, not only counted
    print("   " + lines[-1])
    return took


def main():
    row("import mlsysim + first solve", first_solve(), "s", 0.1)
    row("Engine.solve (warm)", solve_time() * 1e6, "us", 50)
    sys.path.insert(0, str(Path(__file__).parent))
    import sweep  # the vectorised sweep, next to the per-call figure

    sweep.main()
    if "--quick" in sys.argv:
        return
    from workflow_support import copy_repo

    with tempfile.TemporaryDirectory() as tmp:
        repo = copy_repo(Path(tmp) / "repo", built=True)
        doit(repo)  # up to date before the clock starts
        row("spec edit -> deck.pdf", spec_edits(repo, ["pdf:deck"]), "s", 5)
        doit(repo)
        row("spec edit -> every material", spec_edits(repo, []), "s", 10)
        row("prose edit -> deck.pdf", prose_edits(repo), "s", 4)
        row("no-op rebuild", statistics.median(doit(repo) for _ in range(3)), "s", 1)
        full, peak = full_builds(repo, "-n", "1")
        row("full build from empty (serial)", full, "s", 10)
        row("peak memory of a full build", peak, "MB", 400)
        row("full build from empty (doit's default)", full_builds(repo)[0], "s")
        row("full build from nothing (serial)", full_builds(repo, "-n", "1", cold=True)[0], "s")
    if "--no-tests" not in sys.argv:
        row("test suite (bash test.sh)", test_suite(), "s", 60)
        row("test suite, no figure cached", test_suite(figures_cached=False), "s", 60)


if __name__ == "__main__":
    main()
