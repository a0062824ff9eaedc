"""Sweeps: the roofline of Engine.solve over whole arrays of batch sizes and context lengths at once.

    s = mlsysim.Engine.sweep(llama, H100, batch_size=np.arange(1, 1025), seq_len=np.array([[0], [4096]]))
    s.latency_s.shape          # (2, 1024): broadcast like numpy
    s.compute_bound            # True where the step is compute-bound
    s.mfu, s.arithmetic_intensity, s.throughput

The formulas are the same generated functions Engine.solve calls (core/_derived.py); being plain
arithmetic, they broadcast over numpy arrays.  Only the roofline's max is numpy's (np.maximum),
since Python's max does not broadcast.  numpy is imported here, on the first sweep, not on
``import mlsysim``.
"""
from __future__ import annotations

from dataclasses import dataclass

from .core import _derived as f
from .models import CNNModel, TransformerModel
from .registry import assumption
from .roofline import step_work, working_assumptions


@dataclass(frozen=True)
class Sweep:
    """What each configuration's step costs; arrays of one broadcast shape, in FLOP, B, s."""

    model_name: str
    hardware_name: str
    precision: str
    batch_size: "object"  # numpy arrays (kept untyped so that this module imports without numpy)
    seq_len: "object"
    flops: "object"
    bytes_moved: "object"
    compute_s: "object"
    memory_s: "object"
    peak_flops: float
    unit_of_work: str

    @property
    def latency_s(self):
        """The roofline: each step takes the larger of its compute and memory times."""
        import numpy as np

        return np.maximum(self.compute_s, self.memory_s)

    @property
    def compute_bound(self):
        """True where compute is the bottleneck (as Engine.solve: compute time > memory time)."""
        return self.compute_s > self.memory_s

    @property
    def bottleneck(self):
        import numpy as np

        return np.where(self.compute_bound, "Compute", "Memory")

    @property
    def mfu(self):
        return f.mfu(self.flops, self.latency_s, self.peak_flops)

    @property
    def arithmetic_intensity(self):
        """FLOP/B of each step."""
        return f.arithmetic_intensity(self.flops, self.bytes_moved)

    @property
    def throughput(self):
        """Tokens (or samples) per second."""
        return self.batch_size / self.latency_s

    @property
    def shape(self):
        return self.flops.shape

    def __len__(self):
        return self.flops.size


def sweep(model, hardware, batch_size=1, seq_len=None, precision: str | None = None,
          efficiency=None, bandwidth_efficiency=None) -> Sweep:
    """Engine.solve over arrays: batch_size and seq_len (and the efficiencies) broadcast together."""
    import numpy as np

    precision, b, eta, eta_bw = working_assumptions(precision, efficiency, bandwidth_efficiency)
    eta, eta_bw = np.asarray(eta, float), np.asarray(eta_bw, float)
    peak, bw = hardware.si("peak_flops"), hardware.si("memory_bandwidth")
    batch = np.asarray(batch_size, dtype=float)
    if batch.size and batch.min() < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch.min():g}")
    if isinstance(model, TransformerModel):
        if seq_len is None:
            seq_len = int(assumption("serving", "context_tokens"))
        context = np.asarray(seq_len, dtype=float)
        if context.size and context.min() < 0:
            raise ValueError(f"seq_len must be at least 0, got {context.min():g}")
        batch, context = np.broadcast_arrays(batch, context)
    elif isinstance(model, CNNModel):
        context = np.zeros_like(batch)
    else:
        raise TypeError(f"Engine.sweep: not a model: {model!r}")
    flops, moved, unit = step_work(model, batch, context, b)
    compute = f.compute_time(flops, peak, eta)
    memory = f.memory_time(moved, bw, eta_bw)
    batch, context, flops, moved, compute, memory = np.broadcast_arrays(batch, context, flops, moved, compute,
                                                                        memory)
    return Sweep(model.name, hardware.name, precision, batch, context, flops, moved, compute, memory, peak, unit)
