"""The deck's shared workloads: what several parts' claims and figures compute the same way.

The examples of the day share one decode workload (Llama-3 8B on an H100, batch 1, at the
serving context of specs/assumptions.toml) and two comparisons of accelerators, which
specs/hardware.toml decides (each accelerator's ``comparisons`` field):

* ``"lineup"``: every accelerator side by side (the roofline figure, the ridge-point table, the
  serving table and figure).  An accelerator without a ``comparisons`` field is in the line-up.
* ``"flagships"``: one flagship per vendor (the Predict table, the Three Vendors demo).

Claims files and figure scripts import these helpers instead of keeping their own copies, so a
changed assumption or a new accelerator reaches every slide, table and figure that shows it.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

COMPARISONS = {
    "lineup": "every accelerator side by side",
    "flagships": "one flagship accelerator per vendor",
}
DEFAULT_COMPARISONS = ("lineup",)  # an accelerator that names none

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve")


# --- workload choices that a slide's claims and a figure both use (one copy, here) -----------------
DECODE_BATCH = 1  # Parts 1-3: the decode and serving examples serve one request at a time
RESNET_BATCH = 256  # Part 1: ResNet-50 inference, the compute wall's example (and the roofline figure)
SHORT_CONTEXT = 512  # Part 1: a short context, where decode can turn compute-bound (and batch_sweep)
AR_MESSAGE = 1e9  # Part 4: bytes AllReduced in the Communication Wall's example (and allreduce_scaling)
SCALE_BATCH, SCALE_SEQ, SCALE_MICRO = 2048, 8192, 64  # Part 4: Llama 3's 16M-token batch (scaling_efficiency)


class WorkloadError(LookupError):
    """A comparison or accelerator the deck cannot show; the message names the file to edit."""


# --- the serving workload --------------------------------------------------------------------------


def context() -> int:
    """Tokens of context per request ([serving] context_tokens of specs/assumptions.toml)."""
    from mlsysim.registry import assumption

    return int(assumption("serving", "context_tokens"))


def serving_precision() -> str:
    from mlsysim.registry import assumption

    return assumption("serving", "precision")


def bytes_per_weight() -> float:
    """Bytes per weight (and per KV-cache element) at the serving precision ("fp16": 2)."""
    from mlsysim.registry import precision_bytes

    return precision_bytes(serving_precision())


def training_bytes() -> float:
    """Bytes per weight or gradient at the training precision ("bf16": 2)."""
    from mlsysim.registry import assumption, precision_bytes

    return precision_bytes(assumption("training", "precision"))


def llama8b():
    import mlsysim

    return mlsysim.Models.Language.Llama3_8B


def h100():
    import mlsysim

    return mlsysim.Hardware.Cloud.H100


def decode(hw=None, batch: int = DECODE_BATCH, seq_len: int | None = None, model=None):
    """One decode step (Engine.solve) of Llama-3 8B on `hw` (the H100 by default) at the serving context."""
    from mlsysim import Engine

    return Engine.solve(model or llama8b(), hw or h100(), batch_size=batch, seq_len=seq_len)


def one_request(hw=None, model=None, **kw):
    """ServingModel.solve for one request at the serving context (TTFT, ITL, the KV cache)."""
    import mlsysim

    return mlsysim.ServingModel().solve(model or llama8b(), hw or h100(), seq_len=context(), batch_size=DECODE_BATCH, **kw)


# --- the comparisons ---------------------------------------------------------------------------------


def _check(comparison: str) -> None:
    if comparison not in COMPARISONS:
        raise WorkloadError(f"unknown comparison {comparison!r}; the deck's comparisons are "
                            f"{', '.join(COMPARISONS)} (mlsysim_deck/workload.py)")


def accelerators(comparison: str) -> list:
    """The accelerators a comparison shows, in the order of specs/hardware.toml (reads are recorded)."""
    import mlsysim

    _check(comparison)
    chosen = []
    for hw in mlsysim.Hardware.Cloud:
        names = hw.spec.get("comparisons", list(DEFAULT_COMPARISONS))
        unknown = [n for n in names if n not in COMPARISONS]
        if unknown:
            raise WorkloadError(f"{hw.spec.file}: [{hw.key}] comparisons: unknown comparison {unknown[0]!r} "
                                f"(the deck's comparisons: {', '.join(COMPARISONS)})")
        if comparison in names:
            chosen.append(hw)
    return chosen


def keys(comparison: str) -> list[str]:
    """The hardware.toml table names of a comparison's accelerators ("H100", "Gaudi3")."""
    return [hw.key for hw in accelerators(comparison)]


def comparison_keys(spec_dir: Path) -> dict[str, list[str]]:
    """comparison -> table names, read from hardware.toml with tomllib alone (cheap: the build
    reads it to know which claims a template's loop over a comparison uses)."""
    data = tomllib.loads((Path(spec_dir) / "hardware.toml").read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {name: [] for name in COMPARISONS}
    for table, body in data.items():
        if isinstance(body, dict):
            for name in body.get("comparisons", DEFAULT_COMPARISONS):
                if name in found:
                    found[name].append(table)
    return found


def number_word(n: int) -> str:
    """How a slide writes a count of things: "five" (digits beyond twelve)."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else f"{n:,d}"
