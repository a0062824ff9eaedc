"""Speed of the roofline: one Engine.solve call against Engine.sweep over a million configurations.

    python benchmarks/sweep.py

Prints per-call time of Engine.solve and configurations per second of Engine.sweep (Llama-3 8B
decode on H100, a 1000 x 1000 grid of batch sizes and context lengths), best of a few repeats.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

import numpy as np  # noqa: E402

import mlsysim  # noqa: E402
from mlsysim import Engine  # noqa: E402


def best_of(fn, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    llama, h100 = mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100
    Engine.solve(llama, h100)  # load specs, derive counts once

    calls = 20_000
    per_call = best_of(lambda: [Engine.solve(llama, h100, batch_size=b % 512 + 1, seq_len=4096)
                                for b in range(calls)], repeats=3) / calls

    batches = np.arange(1, 1001)[:, None]
    contexts = np.linspace(0, 131072, 1000)[None, :]
    def grid():
        s = Engine.sweep(llama, h100, batch_size=batches, seq_len=contexts)
        return s.latency_s, s.compute_bound, s.mfu, s.arithmetic_intensity
    n = batches.size * contexts.size
    seconds = best_of(grid)

    print(f"Engine.solve, one call:           {per_call * 1e6:8.2f} us  ({1 / per_call:,.0f} configurations/s)")
    print(f"Engine.sweep, {n:,} configurations: {seconds * 1e3:8.2f} ms  ({n / seconds:,.0f} configurations/s, "
          f"latency + bottleneck + MFU + intensity)")
    print(f"speed-up of the sweep over calls: {per_call * n / seconds:,.0f}x")


if __name__ == "__main__":
    main()
