"""Training time, cost and reliability: Part 4's napkin, from the Iron Law.

    days   = training_time(model, fleet).days           # 6PD (+ attention) at a stated MFU
    years  = training_time(model, fleet.subset(1)).gpu_years
    r      = Reliability.solve(model, fleet)            # cluster MTBF, Young's interval, goodput
"""
from __future__ import annotations

from dataclasses import dataclass

from .core import _derived as f
from .core import _derived_distributed as fd
from .registry import assumption, precision_bytes


def training_flops(model, tokens: float | None = None, seq_len: float | None = None) -> float:
    """FLOPs to train `model` on `tokens` tokens (default: its published training tokens).

    6 FLOP per parameter per token (forward 2, backward 4), plus attention when `seq_len` is
    given: 12 L H d_head S per token.  Without seq_len this is the napkin's 6PD.
    """
    s = model.spec.si
    tokens = s("training_tokens") if tokens is None else tokens
    return fd.training_flops(model.parameters, tokens, s("layers"), s("num_heads"), s("head_dim"), seq_len or 0)


@dataclass(frozen=True, slots=True)
class TrainingEstimate:
    flops: float
    n_gpus: int
    peak_flops: float
    mfu: float

    @property
    def seconds(self) -> float:
        """The Iron Law with scaling efficiency and goodput folded into the stated MFU."""
        return f.iron_law(self.flops, self.n_gpus, self.peak_flops, self.mfu, 1.0, 1.0)

    @property
    def days(self):
        from .units import Q

        return Q(self.seconds, "s").to("day")

    @property
    def gpu_hours(self):
        from .units import Q

        return Q(self.seconds * self.n_gpus, "s").to("h")

    @property
    def gpu_years(self) -> float:
        from .units import Q

        return float(Q(self.seconds * self.n_gpus, "s").to("year").magnitude)


def training_time(model, fleet, mfu: float | None = None, tokens: float | None = None,
                  seq_len: float | None = None) -> TrainingEstimate:
    """Time to train `model` on every GPU of `fleet` at model FLOPs utilisation `mfu`
    (default: assumptions.toml [training] training_mfu)."""
    mfu = assumption("training", "training_mfu") if mfu is None else mfu
    return TrainingEstimate(training_flops(model, tokens, seq_len), fleet.gpus,
                            fleet.accelerator.si("peak_flops"), mfu)


# --- reliability -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReliabilityProfile:
    """Plain floats in seconds; the named properties give quantities."""

    n_gpus: int
    mtbf_s: float
    checkpoint_s: float
    restart_s: float

    @property
    def interval_s(self) -> float:
        return fd.young_interval(self.checkpoint_s, self.mtbf_s)

    @property
    def waste(self) -> float:
        """Fraction of time writing checkpoints and redoing work, at the optimal interval."""
        return fd.checkpoint_waste(self.checkpoint_s, self.interval_s, self.mtbf_s)

    @property
    def goodput(self) -> float:
        return fd.goodput(self.checkpoint_s, self.mtbf_s, self.restart_s)

    @property
    def mtbf(self):
        from .units import Q

        return Q(self.mtbf_s, "s").to("h")

    @property
    def checkpoint_time(self):
        from .units import Q

        return Q(self.checkpoint_s, "s")

    @property
    def checkpoint_interval(self):
        from .units import Q

        return Q(self.interval_s, "s").to("min")


def checkpoint_bytes(model) -> float:
    """What a checkpoint saves: BF16 weights and the FP32 optimizer state (not the gradients)."""
    b = precision_bytes(assumption("training", "precision"))
    b_opt = precision_bytes(assumption("training", "optimizer_precision"))
    return model.parameters * (b + assumption("training", "optimizer_copies") * b_opt)


class Reliability:
    """Part 4's Fragility Wall: cluster MTBF, Young's checkpoint interval, goodput."""

    @staticmethod
    def cluster_mtbf_s(fleet) -> float:
        return fd.cluster_mtbf(fleet.spec.si("gpu_mtbf"), fleet.gpus)

    @staticmethod
    def solve(model, fleet) -> ReliabilityProfile:
        write = checkpoint_bytes(model) / assumption("checkpointing", "storage_write_bandwidth")
        return ReliabilityProfile(fleet.gpus, Reliability.cluster_mtbf_s(fleet), write,
                                  assumption("checkpointing", "restart_time"))
