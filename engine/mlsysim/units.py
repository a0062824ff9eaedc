"""Units at the edges: one pint registry, created on first use.

`import mlsysim` must stay fast, and importing pint costs about 0.3 s, so the
registry is built the first time a quantity is needed (loading a spec file,
or reading a result field such as ``profile.latency``).  Inside the solvers
everything is a plain float in the canonical unit of its kind (FLOP, B, s, W, B/s, FLOP/s).
"""
from __future__ import annotations

_UREG = None

#: Extra units the tutorial speaks in.  FLOP gets a dimension of its own so that
#: FLOP/s and B/s can never be mixed up; a token and a request are counts.
_DEFINITIONS = (
    "FLOP = [computation]",
    "FLOPS = FLOP / second",
    "token = []",
    "request = []",
    "sample = []",
    "USD = [currency]",
)


def ureg():
    """The project's pint UnitRegistry (decimal prefixes: TB/s means 1e12 B/s)."""
    global _UREG
    if _UREG is None:
        import pint

        reg = pint.UnitRegistry()
        for line in _DEFINITIONS:
            reg.define(line)
        reg.formatter.default_format = "~P"
        plain_format = reg.Quantity.__format__

        def short_units(self, spec):
            # f"{q:.2f}" prints "4.95 ms", not "4.95 millisecond".
            if not any(c in spec for c in "~PLHCD"):
                spec += "~P"
            return plain_format(self, spec)

        reg.Quantity.__format__ = short_units
        _UREG = reg
    return _UREG


def Q(value, unit: str = ""):
    """A pint Quantity in the project's registry."""
    return ureg().Quantity(value, unit)
