"""Accelerators: a thin, read-recording view of one [table] of specs/hardware.toml."""
from __future__ import annotations

from .spec import Spec


class Accelerator:
    """One accelerator.  ``hw.memory_bandwidth`` is a pint Quantity; ``hw.si(...)`` a float."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.key = spec.table

    @property
    def name(self) -> str:
        return self.spec.si("name")

    @property
    def vendor(self) -> str:
        return self.spec.si("vendor")

    def si(self, field: str) -> float:
        return self.spec.si(field)

    def __getattr__(self, field: str):
        if field.startswith("_") or field == "spec":
            raise AttributeError(field)
        return self.spec.quantity(field)

    @property
    def scaleup_bandwidth_per_direction(self):
        """Half the vendor's both-directions figure: what one GPU sends one way."""
        from .units import Q

        return Q(self.spec.si("scaleup_bandwidth_total") / 2, "B/s").to("GB/s")

    def __repr__(self):
        return f"<Accelerator {self.key}>"
