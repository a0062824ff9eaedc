"""Speed figures for the tutorial's engine and build.  Prints; asserts nothing.

    python benchmarks/run.py            all figures (builds a temporary copy of the repo twice)
    python benchmarks/run.py --quick    import and solve only

Targets: cold `import mlsysim` under 0.3 s, one Engine.solve under 50 us, Engine.sweep at least a
million configurations per second, no-op rebuild under 1 s.
"""
import os
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
ENV = os.environ | {"PYTHONPATH": str(ROOT / "engine")}


def cold_import(runs=7):
    code = "import time; t = time.perf_counter(); import mlsysim; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True,
                                  check=True).stdout) for _ in range(runs)]
    return statistics.median(times)


def solve_time(number=20000):
    import mlsysim

    llama, hw = mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100
    mlsysim.Engine.solve(llama, hw, batch_size=8)  # loads the specs once
    best = min(timeit.repeat(lambda: mlsysim.Engine.solve(llama, hw, batch_size=8), number=number, repeat=5))
    return best / number


def timed(cmd, cwd):
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=os.environ | {"PYTHONPATH": str(Path(cwd) / "engine")}, check=True,
                   capture_output=True)
    return time.perf_counter() - start


def build_times():
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["dodo.py", "pyproject.toml", "engine", "slides", "templates", "figures"]:
            src = ROOT / name
            (shutil.copytree(src, Path(tmp) / name, ignore=shutil.ignore_patterns("__pycache__"))
             if src.is_dir() else shutil.copy2(src, Path(tmp) / name))
        doit = [sys.executable, "-m", "doit"]
        without_latex = timed(doit + ["derive", "claims", "slides", "listing", "figure", "deck_tex"], tmp)
        full = timed(doit, tmp)  # the rest: LaTeX (and anything left)
        noop = statistics.median(timed(doit, tmp) for _ in range(3))
        shutil.rmtree(Path(tmp) / "build")
        clean_full = timed(doit, tmp)
    return without_latex, without_latex + full, clean_full, noop


def main():
    print(f"cold import mlsysim        {cold_import() * 1e3:8.1f} ms   (target < 300 ms)")
    print(f"Engine.solve               {solve_time() * 1e6:8.2f} us   (target < 50 us)")
    sys.path.insert(0, str(Path(__file__).parent))
    import sweep  # the vectorised sweep, next to the per-call figure (target >= 1e6 configurations/s)

    sweep.main()
    if "--quick" in sys.argv:
        return
    without_latex, staged, clean_full, noop = build_times()
    print(f"build without LaTeX        {without_latex:8.2f} s")
    print(f"build with LaTeX           {clean_full:8.2f} s    (from an empty build/)")
    print(f"no-op rebuild              {noop:8.2f} s    (target < 1 s)")


if __name__ == "__main__":
    main()
