"""Engine.solve: one step of a model on one accelerator, on the roofline.

For a transformer the step is one decode step: B sequences each produce one token, reading the
weights once and each sequence's KV cache (S tokens of context).  For a CNN it is one forward pass
of a batch of B images.  The step takes as long as the slower of its compute and its memory
traffic (the roofline); the larger term is the bottleneck.
"""
from __future__ import annotations

from dataclasses import dataclass

from .core import _derived as f
from .models import CNNModel, TransformerModel
from .registry import assumption, precision_bytes


def working_assumptions(precision=None, efficiency=None, bandwidth_efficiency=None):
    """(precision, bytes per element, eta, eta_BW): the caller's values, else the tutorial's stated
    defaults (specs/assumptions.toml [serving] precision, [efficiency])."""
    precision = precision or assumption("serving", "precision")
    eta = assumption("efficiency", "compute_efficiency") if efficiency is None else efficiency
    eta_bw = (assumption("efficiency", "bandwidth_efficiency") if bandwidth_efficiency is None
              else bandwidth_efficiency)
    return precision, precision_bytes(precision), eta, eta_bw


def step_work(model, batch, seq_len, bytes_per_element, activation_traffic=False):
    """(FLOPs, bytes, unit of work) of one step: a decode step of a transformer (B sequences at
    context S), a forward pass of a CNN.  Plain arithmetic: numbers or numpy arrays alike.

    activation_traffic (CNNs): every layer writes its output to HBM and the next reads it back
    (the model's activation_elements per image), instead of the ideal bound's activations on chip."""
    b = bytes_per_element
    if isinstance(model, TransformerModel):
        s = model.spec.si
        p_mm = model.matmul_parameters
        return (f.decode_flops(batch, p_mm, s("layers"), s("num_heads"), s("head_dim"), seq_len),
                f.decode_bytes(p_mm, b, batch, model.kv_bytes_per_token(b), seq_len), "token")
    if isinstance(model, CNNModel):
        s = model.spec.si
        # ideal bound: weights once, plus each image read in; activations between layers on chip
        per_image = s("activation_elements") if activation_traffic else s("input_elements")
        return batch * s("flops_per_sample"), model.weight_bytes(b) + batch * per_image * b, "sample"
    raise TypeError(f"not a model: {model!r}")


@dataclass(frozen=True, slots=True)
class RooflineStep:
    """A step on the roofline: it takes as long as the slower of its compute and its memory traffic."""

    flops: float
    bytes_moved: float
    compute_s: float
    memory_s: float

    @property
    def latency_s(self) -> float:
        return max(self.compute_s, self.memory_s)

    @property
    def bottleneck(self) -> str:
        return "Compute" if self.compute_s > self.memory_s else "Memory"


@dataclass(frozen=True, slots=True)
class PerformanceProfile:
    """What one step costs.  Plain floats in FLOP, B, s; the named fields give pint quantities."""

    model_name: str
    hardware_name: str
    batch_size: int
    seq_len: int
    precision: str
    flops: float
    bytes_moved: float
    compute_s: float
    memory_s: float
    peak_flops: float
    unit_of_work: str  # "token" or "sample"

    @property
    def latency_s(self) -> float:
        return max(self.compute_s, self.memory_s)

    @property
    def latency(self):
        """Time of the step (the roofline: the larger of the compute and memory terms)."""
        from .units import Q

        return Q(self.latency_s * 1e3, "ms")

    @property
    def compute_time(self):
        from .units import Q

        return Q(self.compute_s * 1e3, "ms")

    @property
    def memory_time(self):
        from .units import Q

        return Q(self.memory_s * 1e3, "ms")

    @property
    def bottleneck(self) -> str:
        return "Compute" if self.compute_s > self.memory_s else "Memory"

    @property
    def mfu(self) -> float:
        """Model FLOPs utilisation: model FLOP/s achieved over peak."""
        return f.mfu(self.flops, self.latency_s, self.peak_flops)

    @property
    def arithmetic_intensity(self):
        from .units import Q

        return Q(f.arithmetic_intensity(self.flops, self.bytes_moved), "FLOP/B")

    @property
    def throughput(self):
        """Tokens (or samples) per second."""
        from .units import Q

        return Q(self.batch_size / self.latency_s, f"{self.unit_of_work}/s")


class Engine:
    """The single-node roofline solver of Part 1."""

    @staticmethod
    def solve(model, hardware, batch_size: int = 1, seq_len: int | None = None,
              precision: str | None = None, efficiency: float | None = None,
              bandwidth_efficiency: float | None = None, activation_traffic: bool = False) -> PerformanceProfile:
        """One step of `model` on `hardware` at `batch_size` (and context `seq_len` for a transformer).

        efficiency (eta) and bandwidth_efficiency default to specs/assumptions.toml [efficiency];
        precision defaults to [serving] precision; seq_len to [serving] context_tokens.
        activation_traffic: a CNN's activations go to HBM and back between layers (default: the ideal
        bound, activations on chip).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        precision, b, eta, eta_bw = working_assumptions(precision, efficiency, bandwidth_efficiency)
        if not isinstance(model, (TransformerModel, CNNModel)):
            raise TypeError(f"Engine.solve: not a model: {model!r}")
        if isinstance(model, CNNModel):
            seq_len = 0
        elif seq_len is None:
            seq_len = int(assumption("serving", "context_tokens"))
        peak, bw = hardware.si("peak_flops"), hardware.si("memory_bandwidth")
        flops, moved, unit = step_work(model, batch_size, seq_len, b, activation_traffic)
        return PerformanceProfile(model.name, hardware.name, batch_size, seq_len, precision, flops, moved,
                                  f.compute_time(flops, peak, eta), f.memory_time(moved, bw, eta_bw),
                                  peak, unit)

    @staticmethod
    def sweep(model, hardware, batch_size=1, seq_len=None, precision: str | None = None,
              efficiency=None, bandwidth_efficiency=None):
        """Engine.solve over numpy arrays of batch sizes and context lengths (broadcast together).

        Returns a `mlsysim.sweep.Sweep` of arrays: latency_s, compute_bound, bottleneck, mfu,
        arithmetic_intensity, throughput.  Millions of configurations per second.
        """
        from .sweep import sweep

        return sweep(model, hardware, batch_size, seq_len, precision, efficiency, bandwidth_efficiency)

    @staticmethod
    def ridge_point(hardware):
        """Peak FLOP/s over peak bandwidth: the intensity where the roofline bends (FLOP/B)."""
        from .units import Q

        return Q(f.ridge_point(hardware.si("peak_flops"), hardware.si("memory_bandwidth")), "FLOP/B")

    @staticmethod
    def _decode_terms(model, hardware, precision, efficiency, bandwidth_efficiency):
        _, b, eta, eta_bw = working_assumptions(precision, efficiency, bandwidth_efficiency)
        s = model.spec.si
        return dict(matmul_params=model.matmul_parameters, bytes_per_element=b,
                    peak_flops=hardware.si("peak_flops"), eta=eta, bandwidth=hardware.si("memory_bandwidth"),
                    eta_bw=eta_bw, layers=s("layers"), heads=s("num_heads"), head_dim=s("head_dim"),
                    kv_bytes_token=model.kv_bytes_per_token(b))

    @staticmethod
    def crossover_batch(model, hardware, seq_len: int | None = None, precision: str | None = None,
                        efficiency: float | None = None, bandwidth_efficiency: float | None = None):
        """Smallest batch at which a decode step is compute-bound, or None if no batch size is.

        Solved in sympy (derivations.crossover_batch) from T_compute(B) = T_memory(B).
        """
        import math

        if seq_len is None:
            seq_len = int(assumption("serving", "context_tokens"))
        terms = Engine._decode_terms(model, hardware, precision, efficiency, bandwidth_efficiency)
        b_star = f.crossover_batch(context=seq_len, **terms)
        if b_star <= 0:
            return None
        return math.floor(b_star) + 1

    @staticmethod
    def crossover_context_limit(model, hardware, precision: str | None = None,
                                efficiency: float | None = None, bandwidth_efficiency: float | None = None):
        """Longest context (tokens) at which some batch size still makes decode compute-bound."""
        from .units import Q

        terms = Engine._decode_terms(model, hardware, precision, efficiency, bandwidth_efficiency)
        terms.pop("bytes_per_element")
        return Q(f.crossover_context_limit(**terms), "token")
