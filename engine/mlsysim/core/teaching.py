"""The slides' equations as an instructor writes them, each proved equal to its derivation.

The derivations (derivations.py, derive_*.py) are the source of truth: sympy solves, sums and
differentiates them, and prints the result in its own canonical form, for instance the ring AllReduce
as one fraction, 2(N·β·α + M)(N − 1)/(N·β).  A slide shows the same result the way it is taught:
``T = 2 (N−1)/N · M/β + 2 (N−1) α``, the bandwidth term and the latency term side by side.  This
module holds that form for every equation a slide shows (``\\VAR{equation("name")}``), written
with the board terms of `board.py` in the order and grouping the slide prints, and `check()` proves
each equal to its derivation: the difference of the two simplifies to zero (a min or max of terms:
the terms pair up, each pair equal).

The build (`mlsysim_deck.equations`, the `equations` task) runs the proof once, after a change to
this file or to a derivation, and writes each equation's LaTeX to build/equations.json for the
slides; a wrong teaching form fails the build, naming the frames that show it and both forms.
A formula without a teaching form here is shown as sympy prints it (the tests list the slides'
equations that lack one).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import sympy as sp

from . import derivations, generate
from .board import Term, braced, frac, minimum, on_board, sqrt, term

generate.modules()  # every derive_*.py registers its formulas
from . import derive_compression, derive_distributed, derive_serving  # noqa: E402  (imported by generate.modules() above)

d = on_board(derivations)
sv = on_board(derive_serving)
ds = on_board(derive_distributed)
cm = on_board(derive_compression)


@dataclass(frozen=True)
class Taught:
    """Formula `name` as the slide writes it: ``lhs = rhs`` (the lhs is the derivation's)."""

    name: str
    rhs: Term
    line: int  # where in this file it is written, for the error that says it is wrong


TEACHING: dict[str, Taught] = {}


def teach(name: str, rhs) -> None:
    if name not in derivations.FORMULAS:
        raise ValueError(f"{__file__}:{sys._getframe(1).f_lineno}: no derivation is called {name!r}")
    if name in TEACHING:
        raise ValueError(f"{__file__}:{sys._getframe(1).f_lineno}: {name!r} is taught twice")
    TEACHING[name] = Taught(name, term(rhs), sys._getframe(1).f_lineno)


# --- Part 1: the roofline, the walls, the Iron Law --------------------------------------------

teach("iron_law", frac(d.flops, d.n_devices * d.peak_flops * d.mfu * d.eta_scaling * d.goodput))
teach("attainable_flops", minimum(d.peak_flops, d.bandwidth * d.intensity))
teach("arithmetic_intensity", frac(d.flops, d.bytes_moved))
teach("ridge_point", frac(d.peak_flops, d.bandwidth))
teach("compute_time", frac(d.flops, d.peak_flops * d.eta))
teach("memory_time", frac(d.bytes_moved, d.bandwidth * d.eta_bw))
teach("mfu", frac(d.flops, d.latency * d.peak_flops))
# a decode step's FLOPs (2 per weight, and attention over the context) over its bytes (the weights
# once, each sequence's KV cache)
teach("decode_intensity", frac(d.batch * (2 * d.matmul_params + 4 * d.layers * d.heads * d.head_dim * d.context),
                               d.matmul_params * d.bytes_per_element + d.batch * d.context * d.kv_bytes_token))

# --- Part 2: serving -----------------------------------------------------------------------------

# S tokens of 2 FLOP per weight each, and causal attention: token s attends to s tokens, summing to S(S+1)/2
teach("prefill_flops", sv.batch * (2 * sv.matmul_params * sv.context
                                   + 2 * sv.layers * sv.heads * sv.head_dim * sv.context * (sv.context + 1)))
teach("kv_cache_per_request", 2 * sv.layers * sv.kv_heads * sv.head_dim * sv.context * sv.bytes_per_element)
teach("static_reservation", sv.max_context * sv.kv_bytes_token)
teach("paged_reservation", sv.pages * sv.page * sv.kv_bytes_token)
teach("requests_fitting", frac(sv.capacity - sv.weight_bytes, sv.reserved))
teach("speculative_expected_tokens", frac(1 - sv.alpha ** (sv.gamma + 1), 1 - sv.alpha))
teach("speculative_speedup", frac(1 - sv.alpha ** (sv.gamma + 1),
                                  (1 - sv.alpha) * (sv.gamma * sv.cost_ratio + sv.verify_ratio)))
teach("kv_transfer_time", frac(sv.batch * sv.context * sv.kv_bytes_token, sv.link_bandwidth))
teach("itl_batch_limit_memory", frac(sv.itl_target * sv.bandwidth * sv.eta_bw - sv.matmul_params * sv.bytes_per_element,
                                     sv.context * sv.kv_bytes_token))

# --- Part 3: compression --------------------------------------------------------------------------

teach("quantization_ratio", frac(cm.served_bits, cm.bits))
teach("pruning_ratio", frac(1, 1 - cm.sparsity))

# --- Part 4: distributed training ------------------------------------------------------------------

# the ring: 2(N-1) steps, each M/N bytes at beta plus one latency alpha
teach("ring_allreduce_time", 2 * frac(ds.n - 1, ds.n) * frac(ds.message, ds.bw) + 2 * (ds.n - 1) * ds.alpha)
# reduce-scatter and all-gather inside the node (a ring of g), an AllReduce of M/g across the nodes
teach("hierarchical_allreduce_time",
      braced(2 * frac(ds.g - 1, ds.g) * frac(ds.message, ds.bw_up) + 2 * (ds.g - 1) * ds.alpha_up, "inside the node")
      + braced(2 * frac(ds.nodes - 1, ds.nodes) * frac(ds.message, ds.g * ds.bw_out) + 2 * (ds.nodes - 1) * ds.alpha_out,
               "across nodes"))
teach("pipeline_makespan", (ds.microbatches + ds.stages - 1) * (ds.t_f + ds.t_b))
teach("bubble_fraction", frac(ds.stages - 1, ds.microbatches + ds.stages - 1))
teach("training_step_time", ds.straggler * ((ds.microbatches + ds.stages - 1) * (ds.t_c + ds.t_tp + ds.t_pp) + ds.t_dp))
# forward: 2 FLOP per weight and attention per token; backward twice the forward
teach("training_flops", 3 * (2 * ds.params + 4 * ds.layers * ds.heads * ds.head_dim * ds.seq) * ds.tokens)
teach("cluster_mtbf", frac(ds.component_mtbf, ds.n_gpus))
teach("checkpoint_waste", frac(ds.delta, ds.tau) + frac(ds.tau, 2 * ds.mtbf))
teach("young_interval", sqrt(2 * ds.delta * ds.mtbf))
# at tau*, the checkpoint waste delta/tau* + tau*/(2 MTBF) is sqrt(2 delta / MTBF); each failure also costs R
teach("goodput", 1 - sqrt(frac(2 * ds.delta, ds.mtbf)) - frac(ds.restart, ds.mtbf))

# --- the proof -------------------------------------------------------------------------------------


def equal(a: sp.Expr, b: sp.Expr) -> bool:
    """Whether two expressions are equal for every positive value of their symbols.

    Their difference simplifies to zero; or both are a min (or a max) whose terms pair up, each
    pair equal (sympy does not simplify a difference of two mins)."""
    if sp.simplify(a - b) == 0:
        return True
    if a.func in (sp.Min, sp.Max) and a.func == b.func and len(a.args) == len(b.args):
        unmatched = list(b.args)
        for x in a.args:
            match = next((y for y in unmatched if equal(x, y)), None)
            if match is None:
                return False
            unmatched.remove(match)
        return True
    return False


def taught_latex(name: str) -> str:
    """``lhs = rhs`` of formula `name` in its teaching form."""
    return f"{derivations.FORMULAS[name].lhs} = {TEACHING[name].rhs.latex()}"


def taught_text(name: str) -> str:
    from .board import plain

    return f"{plain(derivations.FORMULAS[name].lhs)} = {TEACHING[name].rhs.text()}"


def derived_text(name: str) -> str:
    """The derivation's result in plain text, symbols under their slide names: 2·(N − 1)·(M + N·α·β)/(N·β)."""
    from .board import plain

    f = derivations.FORMULAS[name]
    names = {s: sp.Symbol(plain(derivations.latex_symbol(s))) for s in f.expr.free_symbols}
    body = sp.sstr(f.expr.xreplace(names)).replace("**", "^").replace("*", "·")
    return f"{plain(f.lhs)} = {body}"


@dataclass(frozen=True)
class Mismatch:
    """A teaching form that is not its derivation."""

    name: str
    line: int
    taught: str
    derived: str


def check(teaching: dict[str, Taught] | None = None) -> list[Mismatch]:
    """Every teaching form that its derivation does not prove (an empty list: all proved)."""
    teaching = TEACHING if teaching is None else teaching
    wrong = []
    for name, t in teaching.items():
        if not equal(t.rhs.value(), derivations.FORMULAS[name].expr):
            wrong.append(Mismatch(name, t.line, f"{_lhs_text(name)} = {t.rhs.text()}", derived_text(name)))
    return wrong


def _lhs_text(name: str) -> str:
    from .board import plain

    return plain(derivations.FORMULAS[name].lhs)
