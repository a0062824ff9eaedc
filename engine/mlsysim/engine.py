"""Engine.solve: one step of a model on one accelerator, on the roofline.

For a transformer the step is one decode step: B sequences each produce one token, reading the
weights once and each sequence's KV cache (S tokens of context).  For a CNN it is one forward pass
of a batch of B images.  The step takes as long as the slower of its compute and its memory
traffic (the roofline); the larger term is the bottleneck.
"""
from __future__ import annotations

from .core import _derived as f
from .models import CNNModel, TransformerModel
from .registry import assumption
from .roofline import PerformanceProfile, step_work, working_assumptions  # noqa: F401  (mlsysim.PerformanceProfile)
from .sweep import sweep as _sweep


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
                                  peak, unit, batch_size)

    @staticmethod
    def sweep(model, hardware, batch_size=1, seq_len=None, precision: str | None = None,
              efficiency=None, bandwidth_efficiency=None):
        """Engine.solve over numpy arrays of batch sizes and context lengths (broadcast together).

        Returns a `mlsysim.sweep.Sweep` of arrays: latency_s, compute_bound, bottleneck, mfu,
        arithmetic_intensity, throughput.  Millions of configurations per second.
        """
        return _sweep(model, hardware, batch_size, seq_len, precision, efficiency, bandwidth_efficiency)

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
