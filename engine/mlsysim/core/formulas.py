"""Run-time formulas: the generated functions of `_derived.py`, plus unit-aware helpers.

Everything here is plain float arithmetic (values in FLOP, B, s, W), fast enough to call inside
sweeps.  The expressions themselves are derived, and rendered onto slides, in `derivations.py`.
"""
from __future__ import annotations

from ._derived import *  # noqa: F401,F403

# --- Part 4: collectives, with units at the edge ------------------------------------------------
from ._derived_distributed import *  # noqa: F401,F403,E402
from . import _derived_distributed as _dist  # noqa: E402


def _si(value, unit: str) -> float:
    """A plain number is taken as already in `unit`; a pint quantity is converted to it."""
    return float(value.to(unit).magnitude) if hasattr(value, "to") else float(value)


def calc_ring_allreduce_time(message_bytes, n_gpus, bandwidth_bytes_s, latency_s=0.0):
    """Ring AllReduce time (alpha-beta model) as a pint quantity in seconds.

    bandwidth_bytes_s is what each GPU sends in ONE direction; the function uses whatever it is
    given.  For NVLink 4 that is 450e9 (the datasheet's 900 GB/s counts both directions).
    """
    from ..units import Q

    n = int(n_gpus)
    if n < 1:
        raise ValueError(f"n_gpus must be at least 1, got {n_gpus}")
    seconds = _dist.ring_allreduce_time(_si(message_bytes, "B"), n, _si(bandwidth_bytes_s, "B/s"),
                                        _si(latency_s, "s"))
    return Q(seconds, "s")


def calc_hierarchical_allreduce_time(message_bytes, gpus_per_node, n_nodes, scaleup_bandwidth_bytes_s,
                                     scaleup_latency_s, scaleout_bandwidth_bytes_s, scaleout_latency_s):
    """Reduce in the node (scale-up), AllReduce across nodes (scale-out), broadcast back; seconds."""
    from ..units import Q

    seconds = _dist.hierarchical_allreduce_time(
        _si(message_bytes, "B"), int(gpus_per_node), int(n_nodes), _si(scaleup_bandwidth_bytes_s, "B/s"),
        _si(scaleup_latency_s, "s"), _si(scaleout_bandwidth_bytes_s, "B/s"), _si(scaleout_latency_s, "s"))
    return Q(seconds, "s")


def calc_p2p_time(message_bytes, bandwidth_bytes_s, latency_s=0.0):
    """One point-to-point transfer (pipeline stage to stage); seconds."""
    from ..units import Q

    return Q(_dist.p2p_time(_si(message_bytes, "B"), _si(bandwidth_bytes_s, "B/s"), _si(latency_s, "s")), "s")
