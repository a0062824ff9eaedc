"""Appendix claims: the engine against published measurements (validation/measurements.toml).

Every row of the validation set gives claims reality.<row>.{label,measured,ideal,predicted,error,split};
the fitted factors, the held-out errors and the Part 0 hook follow from the same comparison
(mlsysim_deck.validation, also printed by benchmarks/validation.py and enforced by tests/test_validation.py).
"""
import math
from functools import cache

import mlsysim
from mlsysim import Q
from mlsysim.registry import assumption
from mlsysim_deck import Claims
from mlsysim_deck import validation as v

claims = Claims(__file__)
L405 = mlsysim.Models.Language.Llama3_405B
META = mlsysim.Systems.Clusters.Meta_16K
H100 = mlsysim.Hardware.Cloud.H100


@cache
def comparison():
    rows = v.load_rows()
    fit = v.default_fit()
    return rows, fit, {c.row.id: c for c in v.compare(rows, fit)}


def row(row_id):
    return comparison()[2][row_id]


# how each quantity is printed: (unit for a quantity or None for a percentage, format of measured, of predicted)
SHOWN = {"mfu": (None, "g", ".1f"), "tflops_per_gpu": ("TFLOP/s", "g", ".0f"),
         "decode_rate": ("token/s", "g", ".1f"), "ttft": ("ms", "g", ".0f")}


def _declare(r):
    unit, fmt_measured, fmt_predicted = SHOWN[r.quantity]
    rid = r.id
    claims.text(f"reality.{rid}.label", lambda rid=rid: row(rid).row.raw["label"])
    claims.text(f"reality.{rid}.split", lambda rid=rid: row(rid).row.split.replace("_", " "))
    claims.number(f"reality.{rid}.error", lambda rid=rid: row(rid).error, fmt="+.1f", scale=100, suffix="%")
    for what, fmt in (("measured", fmt_measured), ("predicted", fmt_predicted), ("ideal", fmt_predicted)):
        def value(rid=rid, what=what):
            c = row(rid)
            return {"measured": c.row.value, "predicted": c.predicted, "ideal": c.ideal}[what]
        note = ""
        if what == "measured":  # the ledger's Reality check section reads the source from here
            note = (f"{r.raw['publication']}; {r.raw['where']}. Read in: {r.raw['read_in']}. "
                    f"Confidence: {r.raw['confidence']}. Assumed: {r.raw.get('assumed', 'none')}.")
        if unit is None:
            claims.number(f"reality.{rid}.{what}", value, fmt=fmt, suffix="%", note=note)
        else:
            claims.quantity(f"reality.{rid}.{what}", lambda value=value, unit=unit: Q(value(), unit), unit=unit,
                            fmt=fmt, note=note)


for _r in v.load_rows():
    _declare(_r)

# --- the set, the fit, the budgets -----------------------------------------------------------------
claims.number("reality.rows", lambda: len(comparison()[0]), fmt="d")
claims.number("reality.publications",
              lambda: len({r.raw["publication"].split(",")[0].split(":")[0] for r in comparison()[0]}), fmt="d")
claims.number("reality.heldout_rows", lambda: sum(r.split == "held_out" for r in comparison()[0]), fmt="d")
for _group in ("training.H100", "training.A100", "decode.H100", "decode.A100", "prefill.H100", "prefill.A100"):
    claims.number(f"reality.factor.{_group}", lambda g=_group: comparison()[1].factors[g], fmt=".2f")
    claims.text(f"reality.factor.{_group}.rows", lambda g=_group: ", ".join(comparison()[1].rows[g]))


def _held_out(kind, stat):
    comps = comparison()[2].values()
    return v.summary(list(comps))[f"held_out.{kind}"][stat]


for _kind in ("training", "latency"):
    claims.number(f"reality.heldout.{_kind}.mean", lambda k=_kind: _held_out(k, "mean"), fmt=".1f", scale=100,
                  suffix="%")
    claims.number(f"reality.heldout.{_kind}.max", lambda k=_kind: _held_out(k, "max"), fmt=".1f", scale=100,
                  suffix="%")
    claims.number(f"reality.budget.{_kind}", lambda k=_kind: v.BUDGETS[k], fmt=".0f", scale=100, suffix="%")
claims.number("reality.goal.latency", lambda: v.LATENCY_GOAL, fmt=".0f", scale=100, suffix="%")
claims.statement("reality.all_within_budget", "every held-out row is within its budget",
                 lambda: all(c.within_budget for c in comparison()[2].values() if c.row.split == "held_out"))
claims.statement("reality.latency_within_goal", "within the 10% goal as well",
                 lambda: _held_out("latency", "max") <= v.LATENCY_GOAL)

# --- which number is which: the napkin's eta against the measured rates ----------------------------
claims.number("reality.eta.napkin", lambda: assumption("efficiency", "compute_efficiency"), fmt=".0f", scale=100,
              suffix="%")
claims.number("reality.eta.matmul.H100", lambda: H100.measured_efficiencies("bf16")[0], fmt=".0f", scale=100,
              suffix="%")
claims.number("reality.eta.step.H100",
              lambda: H100.measured_efficiencies("bf16")[0] * comparison()[1].factors["training.H100"], fmt=".0f",
              scale=100, suffix="%")
claims.number("reality.eta_bw.stream.H100", lambda: H100.measured_efficiencies("bf16")[1], fmt=".0f", scale=100,
              suffix="%")
claims.number("reality.eta_bw.decode.H100",
              lambda: H100.measured_efficiencies("bf16")[1] * comparison()[1].factors["decode.H100"], fmt=".0f",
              scale=100, suffix="%")
claims.number("reality.bubble.1f1b", lambda: mlsysim.core.formulas.bubble_ratio(16, 32, 1), fmt=".0f", scale=100,
              suffix="%")
claims.number("reality.bubble.interleaved", lambda: v.training_step(row("A1").row, 1.0).bubble_ratio,
              fmt=".1f", scale=100, suffix="%")
claims.number("reality.bubble.v", lambda: row("A1").row.raw["layout"]["virtual_stages"], fmt="d")

# --- the Part 0 hook, explained by the same model --------------------------------------------------
# The hook's napkin: 6PD at the stated 40% MFU.  The model: PaLM's FLOP count (attention at the 8K
# training context), the MFU the engine predicts for the 16K-GPU layout (held-out row A2), and the
# goodput of Part 4's reliability model on the same fleet.


def hook_mfu():
    a2 = row("A2")
    return v.training_step(a2.row, a2.factor).mfu


def hook_flops():
    return mlsysim.training_flops(L405, seq_len=L405.spec.si("training_context"))


def hook_goodput():
    return mlsysim.Reliability.solve(L405, META).goodput


def hook_days():
    seconds = hook_flops() / (META.gpus * H100.si("peak_flops") * hook_mfu()) / hook_goodput()
    return Q(seconds, "s").to("day").magnitude


def reported_days():
    return L405.spec.si("training_gpu_hours") / META.gpus / 24


claims.number("reality.hook.attention", lambda: hook_flops() / mlsysim.training_flops(L405) - 1, fmt="+.0f",
              scale=100, suffix="%")
def hook_executed_attention():
    """What a causal kernel executes of that attention (half the score matrix), over 6PD."""
    from mlsysim.core import formulas as f

    s, seq = L405.spec.si, L405.spec.si("training_context")
    tokens = s("training_tokens")
    executed = f.training_flops_executed(3, L405.parameters, tokens, s("layers"), s("num_heads"), s("head_dim"),
                                         f.causal_attention_positions(seq))
    return executed / mlsysim.training_flops(L405) - 1


claims.number("reality.hook.attention_executed", hook_executed_attention, fmt="+.0f", scale=100, suffix="%")
claims.number("reality.hook.mfu", hook_mfu, fmt=".1f", scale=100, suffix="%")
claims.number("reality.hook.goodput", hook_goodput, fmt=".0f", scale=100, suffix="%")
claims.quantity("reality.hook.days", lambda: Q(hook_days(), "day"), unit="day", label="days", fmt=".0f")
claims.number("reality.hook.error", lambda: hook_days() / reported_days() - 1, fmt="+.0f", scale=100, suffix="%")
claims.statement("reality.hook.closes", "within a few percent of what Meta reports",
                 lambda: math.isclose(hook_days(), reported_days(), rel_tol=0.05))
