"""Run-time formulas: the generated functions of `_derived.py`, plus unit-aware helpers.

Everything here is plain float arithmetic (values in FLOP, B, s, W), fast enough to call inside
sweeps.  The expressions themselves are derived, and rendered onto slides, in `derivations.py`.
"""
from __future__ import annotations

from ._derived import *  # noqa: F401,F403
from ._derived import (  # noqa: F401  (names used below)
    compute_time, memory_time, ridge_point,
)
