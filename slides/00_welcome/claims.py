"""Part 0 claims: the opening hook, the live answer, the taxonomy."""
import sys
import time
import tomllib
from pathlib import Path

import mlsysim
from mlsysim_deck import Claims

claims = Claims(__file__)
H100 = mlsysim.Hardware.Cloud.H100
L405 = mlsysim.Models.Language.Llama3_405B
FLEET = mlsysim.Systems.Clusters.Meta_16K  # the cluster Llama 3 405B trained on
WALLS = tomllib.loads((Path(__file__).parent / "part.toml").read_text(encoding="utf-8"))["walls"]


def fleet_gpus():
    return FLEET.gpus


def hook():
    """6PD at the stated MFU on the whole fleet (mlsysim.training_time; attention left out)."""
    return mlsysim.training_time(L405, FLEET)


def training_flops():
    return hook().flops


def iron_law_days():
    return hook().days.magnitude


claims.number("hook.fleet_gpus", fleet_gpus, fmt=",d")
claims.number("hook.params_b", lambda: L405.parameters / 1e9, fmt=".1f", suffix="B")
claims.number("hook.tokens_t", lambda: L405.spec.si("training_tokens") / 1e12, fmt=".1f", suffix="T")
claims.quantity("hook.training_flops", lambda: mlsysim.Q(training_flops(), "FLOP").to("YFLOP"),
                unit="YFLOP", fmt=".0f")
claims.number("hook.mfu", lambda: hook().mfu, fmt=".0f",
              scale=100, suffix="%")
claims.quantity("hook.iron_law_days", lambda: mlsysim.Q(iron_law_days(), "day"), unit="day", label="days",
                fmt=".0f")
claims.number("hook.reported_gpu_hours", lambda: L405.spec.si("training_gpu_hours") / 1e6, fmt=".2f",
              suffix=" million")
claims.quantity("hook.reported_days",
                lambda: mlsysim.Q(L405.spec.si("training_gpu_hours") / fleet_gpus() / 24, "day"),
                unit="day", label="days", fmt=".0f")
claims.statement("hook.iron_law_below_reported", "a lower bound: restarts and checkpoints add the rest",
                 lambda: iron_law_days() < L405.spec.si("training_gpu_hours") / fleet_gpus() / 24)


def _solve_seconds():
    llama, hw = mlsysim.Models.Language.Llama3_8B, H100
    mlsysim.Engine.solve(llama, hw, batch_size=1)  # (the claim's record of formulas comes from this call)
    previous = sys.getprofile()
    sys.setprofile(None)  # time the engine, not the build's formula recorder
    try:
        start = time.perf_counter()
        for _ in range(100):
            mlsysim.Engine.solve(llama, hw, batch_size=1)
        return (time.perf_counter() - start) / 100
    finally:
        sys.setprofile(previous)


claims.statement("demo.under_a_millisecond", "well under a millisecond", lambda: _solve_seconds() < 1e-3)
claims.text("demo.bottleneck", lambda: mlsysim.Engine.solve(mlsysim.Models.Language.Llama3_8B, H100,
                                                             batch_size=1).bottleneck)
claims.text("setup.version", lambda: mlsysim.__version__)
claims.number("walls.count", lambda: len(WALLS), fmt="d")
