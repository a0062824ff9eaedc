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

    # --- what kernels sustain (specs/assumptions.toml [measured_<key>]) -------------------------
    def _measured(self):
        from .spec import entry

        try:
            return entry("assumptions", f"measured_{self.key}")
        except LookupError:
            raise LookupError(f"specs/assumptions.toml has no [measured_{self.key}]: add the measured matmul "
                              f"rate and STREAM bandwidth of {self.name} (with their sources)") from None

    def sustained_flops(self, precision: str = "bf16") -> float:
        """Measured matmul FLOP/s in `precision` (FP16 and BF16 share the tensor rate)."""
        field = {"fp16": "matmul_bf16", "bf16": "matmul_bf16", "fp8": "matmul_fp8"}.get(precision.lower())
        measured = self._measured()
        if field is None or field not in measured.fields():
            raise LookupError(f"specs/assumptions.toml [measured_{self.key}] has no matmul rate for {precision}")
        return measured.si(field)

    def sustained_attention_flops(self) -> float:
        """Measured FLOP/s of a fused flash-attention kernel (16-bit)."""
        return self._measured().si("attention_bf16")

    def sustained_bandwidth(self) -> float:
        """Measured HBM bandwidth (STREAM Triad), B/s."""
        return self._measured().si("stream_bandwidth")

    def measured_efficiencies(self, precision: str = "bf16") -> tuple[float, float]:
        """(eta, eta_BW) of the measured rates over the datasheet's peaks, the form Engine.solve takes.
        FP8 is measured against the spec's FP16/BF16 peak, so its eta exceeds 1 (FP8 doubles the rate)."""
        return (self.sustained_flops(precision) / self.si("peak_flops"),
                self.sustained_bandwidth() / self.si("memory_bandwidth"))

    def __repr__(self):
        return f"<Accelerator {self.key}>"
