"""Units at the edges: one pint registry, created on first use.

`import mlsysim` must stay fast, and importing pint costs about 0.3 s, so the
registry is built the first time a quantity is needed (loading a spec file,
or reading a result field such as ``profile.latency``).  Inside the solvers
everything is a plain float in the canonical unit of its kind (FLOP, B, s, W, B/s, FLOP/s).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

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


#: A format spec that asks for a number format of its own (".2f", "e", ",d"): printed as asked.
NUMBER_FORMAT = re.compile(r"^[^~PLHCD]*[\d.,eEfFgGn%d]")


def cache_root() -> Path | None:
    """The user's cache folder for mlsysim ($MLSYSIM_CACHE, else $XDG_CACHE_HOME/mlsysim or
    ~/.cache/mlsysim), never in the source tree: the checked spec values and pint's parsed
    definitions, and the deck tooling's compiled templates, proved equations, precompiled preambles
    and settled auxiliary files.  None when MLSYSIM_CACHE is "0" or "off"."""
    root = os.environ.get("MLSYSIM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "mlsysim")
    return None if root in ("0", "off") else Path(root)


def keep_newest(paths, keep: int) -> None:
    """Remove all but the `keep` most recently modified of `paths` (how each folder of the cache
    stays bounded); a file that another process removes meanwhile is skipped."""
    dated = []
    for path in paths:
        try:
            dated.append((Path(path).stat().st_mtime_ns, str(path)))
        except OSError:
            continue
    for _, path in sorted(dated, reverse=True)[keep:]:
        try:
            os.unlink(path)
        except OSError:
            pass


def ureg():
    """The project's pint UnitRegistry (decimal prefixes: TB/s means 1e12 B/s)."""
    global _UREG
    if _UREG is None:
        import pint

        # pint keeps its parsed unit definitions in a cache of its own (keyed on them): the registry
        # builds in 0.02 s instead of 0.15-0.35 s
        cache = cache_root()
        reg = pint.UnitRegistry(cache_folder=str(cache / "pint") if cache else None)
        for line in _DEFINITIONS:
            reg.define(line)
        reg.formatter.default_format = "~P"
        plain_format = reg.Quantity.__format__

        def for_people(self, spec):
            # f"{q:.2f}" prints "4.95 ms", not "4.95 millisecond"; with no precision asked for,
            # print(q) and f"{q:~P}" show a sensible number of digits (133 ms, 4.64 ms, 0.537 GB).
            if not any(c in spec for c in "~PLHCD"):
                spec += "~P"
            if isinstance(self.magnitude, (int, float)) and not NUMBER_FORMAT.match(spec):
                units = plain_format(reg.Quantity(1, self.units), spec).split(" ", 1)
                return f"{readable(self.magnitude)} {units[1]}" if len(units) == 2 else readable(self.magnitude)
            return plain_format(self, spec)

        reg.Quantity.__format__ = for_people
        reg.Quantity.__str__ = lambda self: format(self, "")
        _UREG = reg
    return _UREG


def readable(x: float) -> str:
    """Three significant digits, and whole numbers with thousands separators from 1,000 up:
    133.17053 -> '133', 4.6402 -> '4.64', 0.53687 -> '0.537', 16384.0 -> '16,384'.  Display only:
    the quantity keeps its exact value."""
    if isinstance(x, int) or abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def Q(value, unit: str = ""):
    """A pint Quantity in the project's registry."""
    return ureg().Quantity(value, unit)
