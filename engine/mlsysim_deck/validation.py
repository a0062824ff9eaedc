"""Reality check: the engine's predictions against the published measurements of validation/.

    rows = load_rows()                  # validation/measurements.toml, one Row per measurement
    fit = calibrate(rows)               # efficiencies fitted on the calibration rows only
    for c in compare(rows, fit): ...    # predicted, measured, error, within budget?

What the engine predicts for a row (mlsysim, nothing fitted):

* Training: DistributedModel on the row's layout (TP, CP, PP with v chunks per rank, DP), compute at
  the accelerator's measured matmul rate (specs/assumptions.toml [measured_<hw>]), communication on
  the links of specs/links.toml, not overlapped.
* Decode (batch 1): Engine.solve at the measured STREAM bandwidth.
* Prefill: the prompt's FLOPs at the measured matmul rate of the row's precision, split over TP GPUs
  with two AllReduces per layer.

What the measurements show beyond that is one factor per group, fitted on that group's calibration
rows and applied to its held-out rows (`GROUPS`): the fraction of the measured kernel rate a whole
training step, a whole decode step or a whole prefill achieves (non-matmul kernels, launches, the
framework).  A group's factor is the geometric mean of the factors that would make each calibration
row exact.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "validation"

#: Error budgets on held-out rows (fraction of the measured value), and the goal for latency.
BUDGETS = {"training": 0.10, "latency": 0.20}
LATENCY_GOAL = 0.10


@dataclass(frozen=True)
class Row:
    """One published measurement (a [[row]] of validation/measurements.toml)."""

    id: str
    quantity: str
    value: float
    unit: str
    split: str
    budget: str
    raw: dict = field(repr=False, compare=False)

    @property
    def group(self) -> str:
        """Which fitted factor applies: training; decode or prefill per accelerator."""
        if self.quantity in ("mfu", "tflops_per_gpu"):
            return f"training.{self.raw['hardware']}"
        kind = "decode" if self.quantity == "decode_rate" else "prefill"
        return f"{kind}.{self.raw['hardware']}"

    @property
    def source(self) -> str:
        return f"{self.raw['publication']}, {self.raw['where']}"


def load_rows(path: Path | None = None) -> list[Row]:
    path = path or DATA / "measurements.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    rows, seen = [], set()
    for n, raw in enumerate(data.get("row", []), start=1):
        for key in ("id", "quantity", "measured", "split", "budget", "publication", "where", "confidence"):
            if key not in raw:
                raise ValueError(f"error: {path}: row {n}: missing {key!r}; every row needs it (see validation/README.md)")
        if raw["split"] not in ("calibration", "held_out"):
            raise ValueError(f"error: {path}: row {raw['id']}: split must be \"calibration\" or \"held_out\", "
                             f"got {raw['split']!r}")
        if raw["budget"] not in BUDGETS:
            raise ValueError(f"error: {path}: row {raw['id']}: budget must be one of {sorted(BUDGETS)}")
        if raw["id"] in seen:
            raise ValueError(f"error: {path}: row id {raw['id']!r} appears twice")
        seen.add(raw["id"])
        rows.append(Row(raw["id"], raw["quantity"], float(raw["measured"]["value"]), raw["measured"]["unit"],
                        raw["split"], raw["budget"], raw))
    return rows


# --- the row's model, hardware and cluster, as engine objects ------------------------------------

_models: dict[str, object] = {}


def model_of(row: Row):
    import mlsysim
    from mlsysim import spec
    from mlsysim.models import make_model

    key = row.raw["model"]
    if key in spec.load("models"):
        return mlsysim.registry.get("models", key)
    if not _models:
        for table, entry in spec.load_file(DATA / "models.toml").items():
            _models[table] = make_model(entry)
    if key not in _models:
        raise LookupError(f"error: validation/measurements.toml: row {row.id}: model {key!r} is neither in "
                          f"specs/models.toml nor in validation/models.toml")
    return _models[key]


def hardware_of(row: Row):
    import mlsysim

    return mlsysim.registry.get("hardware", row.raw["hardware"])


def cluster_of(row: Row):
    import mlsysim
    from mlsysim.cluster import Cluster
    from mlsysim.spec import Spec

    where = row.raw["cluster"]
    if isinstance(where, str):
        return mlsysim.registry.get("clusters", where).subset(row.raw["gpus"])
    values = dict(name=f"{row.raw['hardware']} cluster of row {row.id}", accelerator=where["accelerator"],
                  gpus=row.raw["gpus"], gpus_per_node=where["gpus_per_node"],
                  scaleup_latency=where["scaleup_latency_us"] * 1e-6, scaleout_link=where["scaleout_link"],
                  gpu_mtbf=1.0)  # not used by a step time
    return Cluster(Spec(str(DATA / "measurements.toml"), f"row {row.id}", values,
                        {k: None for k in values}, {k: None for k in values}, {}),
                   mlsysim.registry.get("hardware", where["accelerator"]),
                   mlsysim.spec.entry("links", where["scaleout_link"]))


# --- predictions ---------------------------------------------------------------------------------


def megatron_eq3_flops(model, batch: int, seq: int) -> float:
    """FLOPs per step as Megatron-LM counts them (Narayanan et al. SC'21, Eq. 3, recomputation included):
    96 B s l h^2 (1 + s/(6h) + V/(16 l h))."""
    s = model.spec.si
    l, h, v = s("layers"), s("hidden_size"), s("vocab_size")
    return 96 * batch * seq * l * h ** 2 * (1 + seq / (6 * h) + v / (16 * l * h))


def training_step(row: Row, factor: float):
    import mlsysim

    hw, lay = hardware_of(row), row.raw["layout"]
    eta = hw.sustained_flops("bf16") / hw.si("peak_flops") * factor
    # a causal (flash) kernel runs attention at its own measured rate; 2021's masked GEMMs at the matmuls'
    eta_attn = hw.sustained_attention_flops() / hw.si("peak_flops") * factor if lay["causal_kernel"] else None
    return mlsysim.DistributedModel(efficiency=eta).solve(
        model_of(row), cluster_of(row), batch_size=lay["batch"], tp_size=lay["tp"], pp_size=lay["pp"],
        microbatch_count=lay["microbatches"], seq_len=lay["seq"], virtual_stages=lay["virtual_stages"],
        cp_size=lay["cp"], causal_kernel=lay["causal_kernel"], recompute=lay["recompute"],
        attention_efficiency=eta_attn)


def predict(row: Row, factor: float) -> float:
    """The row's quantity, in the row's unit, with the group's fitted factor applied."""
    import mlsysim
    from mlsysim.serving import prefill_tensor_parallel

    hw = hardware_of(row)
    if row.quantity == "mfu":
        return 100 * training_step(row, factor).mfu
    if row.quantity == "tflops_per_gpu":
        step, lay = training_step(row, factor), row.raw["layout"]
        return megatron_eq3_flops(model_of(row), lay["batch"], lay["seq"]) / (step.n_gpus * step.step_s) / 1e12
    precision = row.raw["precision"]
    eta, eta_bw = hw.measured_efficiencies(precision)
    if row.quantity == "decode_rate":
        step = mlsysim.Engine.solve(model_of(row), hw, batch_size=1, seq_len=row.raw["context"],
                                    precision=precision, efficiency=eta, bandwidth_efficiency=eta_bw * factor)
        return 1 / step.latency_s
    if row.quantity == "ttft":
        dgx = mlsysim.registry.get("clusters", "Research_256")  # NVLink hop latency (NCCL's model)
        one, comm = prefill_tensor_parallel(model_of(row), hw, row.raw["prompt"], row.raw.get("tp", 1), precision,
                                            eta * factor, eta_bw, dgx.scaleup_latency)
        return 1e3 * (one.latency_s + comm)
    raise ValueError(f"error: validation/measurements.toml: row {row.id}: unknown quantity {row.quantity!r}")


def higher_is_faster(row: Row) -> bool:
    return row.quantity in ("mfu", "tflops_per_gpu", "decode_rate")


def exact_factor(row: Row) -> float:
    """The factor that makes this row's prediction equal its measurement (bisection: the prediction
    grows with the factor for rates and shrinks for times)."""
    lo, hi = 1e-3, 4.0
    for _ in range(50):  # the bracket shrinks to a ratio of 4000**(2**-50), about 1 + 7e-15
        mid = math.sqrt(lo * hi)
        faster = predict(row, mid) > row.value if higher_is_faster(row) else predict(row, mid) < row.value
        lo, hi = (lo, mid) if faster else (mid, hi)
    return math.sqrt(lo * hi)


@dataclass(frozen=True)
class Fit:
    """One fitted factor per group, and the calibration rows it came from."""

    factors: dict[str, float]
    rows: dict[str, tuple[str, ...]]


def calibrate(rows: list[Row]) -> Fit:
    factors, used = {}, {}
    for group in sorted({r.group for r in rows}):
        cal = [r for r in rows if r.group == group and r.split == "calibration"]
        if not cal:
            raise ValueError(f"error: validation/measurements.toml: group {group} has no calibration row, "
                             f"so its factor cannot be fitted; mark one of its rows split = \"calibration\"")
        factors[group] = math.exp(sum(math.log(exact_factor(r)) for r in cal) / len(cal))
        used[group] = tuple(r.id for r in cal)
    return Fit(factors, used)


@dataclass(frozen=True)
class Comparison:
    row: Row
    predicted: float  # in the row's unit, with the fitted factor
    ideal: float  # in the row's unit, factor 1 (the measured kernel rates alone)
    factor: float

    @property
    def error(self) -> float:
        """Signed error of the time the row measures (step or latency), as a fraction of the measured.
        For rates (MFU, TFLOP/s, tokens/s) the time is the inverse: error = measured/predicted - 1."""
        error = (self.row.value / self.predicted - 1 if higher_is_faster(self.row)
                 else self.predicted / self.row.value - 1)
        return round(error, 12) + 0.0  # a calibration row's exact fit reads 0, not a signed rounding residue

    @property
    def budget(self) -> float:
        return BUDGETS[self.row.budget]

    @property
    def within_budget(self) -> bool:
        return abs(self.error) <= self.budget

    def describe(self) -> str:
        r = self.row
        return (f"{r.id} ({r.split}, {r.quantity}): predicted {self.predicted:.4g} {r.unit}, measured "
                f"{r.value:g} {r.unit}, error {100 * self.error:+.1f}% (budget {100 * self.budget:.0f}%); "
                f"{r.source}")


_default: dict[str, tuple] = {}


def default_fit() -> Fit:
    """The fit of validation/measurements.toml as it is on disk, computed once per process."""
    path = DATA / "measurements.toml"
    stamp = path.stat().st_mtime_ns
    if _default.get("stamp") != stamp:
        rows = load_rows(path)
        _default.update(stamp=stamp, fit=calibrate(rows))
    return _default["fit"]


def compare(rows: list[Row] | None = None, fit: Fit | None = None) -> list[Comparison]:
    rows = load_rows() if rows is None else rows
    fit = calibrate(rows) if fit is None else fit
    return [Comparison(r, predict(r, fit.factors[r.group]), predict(r, 1.0), fit.factors[r.group]) for r in rows]


def summary(comparisons: list[Comparison]) -> dict[str, dict[str, float]]:
    """Mean and max |error| per split and budget kind."""
    out = {}
    for split in ("calibration", "held_out"):
        for kind in BUDGETS:
            errs = [abs(c.error) for c in comparisons if c.row.split == split and c.row.budget == kind]
            if errs:
                out[f"{split}.{kind}"] = {"rows": len(errs), "mean": sum(errs) / len(errs), "max": max(errs)}
    return out
