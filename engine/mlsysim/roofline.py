"""The roofline of one step: the work it does (FLOPs, bytes), the working assumptions it runs
under, and what it costs (`PerformanceProfile`).  `Engine.solve` evaluates it for one configuration,
`Engine.sweep` (mlsysim.sweep) over arrays of them; serving and compression build their steps on it.
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
class PerformanceProfile:
    """One step on the roofline: it takes as long as the slower of its compute and its memory
    traffic, and the larger term is the bottleneck.  `Engine.solve`'s decode step (or CNN forward
    pass), a serving prefill, a compressed model's step are all one.  Plain floats in FLOP, B, s;
    the named properties give pint quantities."""

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
    work_done: float  # tokens (or samples) the step processes: B for a decode step, B x S for a prefill

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

        return Q(self.work_done / self.latency_s, f"{self.unit_of_work}/s")
