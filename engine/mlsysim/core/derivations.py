"""The tutorial's formulas, derived with sympy from first principles.

Each formula is one sympy expression whose symbols carry the names the slides use.  The same
expression is used twice:

* rendered to LaTeX (`latex_of`) for the ledger; a slide shows the equation as it is taught
  (teaching.py), which the build proves equal to this expression; and
* printed to plain Python into `_derived.py` (`python -m mlsysim.core.generate`), which is what
  the engine evaluates at run time, so that `import mlsysim` and a solve never pay for sympy.

`tests/test_derivations.py` fails if `_derived.py` is not what these derivations print.
Later parts add their formulas the same way, in modules of their own beside this one
(core/derive_<topic>.py, importing `sym`, `formula` and the shared symbols from here): define the
expression, then `formula(...)` it.  This module imports none of them: `generate` does.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy.printing.latex import LatexPrinter

# --- symbols, with the names the slides use ---------------------------------------------------

_LATEX: dict[sp.Symbol, str] = {}


def sym(name: str, latex: str, **assumptions) -> sp.Symbol:
    """A positive symbol whose Python name is `name` and whose slide name is `latex`."""
    s = sp.Symbol(name, positive=True, **assumptions)
    _LATEX[s] = latex
    return s


flops = sym("flops", r"\text{FLOPs}")
bytes_moved = sym("bytes_moved", r"\text{Bytes}")
peak_flops = sym("peak_flops", r"\text{Peak}")
bandwidth = sym("bandwidth", r"\text{BW}")
eta = sym("eta", r"\eta")
eta_bw = sym("eta_bw", r"\eta_{\text{BW}}")
intensity = sym("intensity", r"\text{AI}")
latency = sym("latency", "T")
n_devices = sym("n_devices", "N")
mfu = sym("mfu", r"\text{MFU}")
eta_scaling = sym("eta_scaling", r"\eta_{\text{scaling}}")
goodput = sym("goodput", r"\text{Goodput}")

# transformer architecture
layers = sym("layers", "L", integer=True)
hidden = sym("hidden", "d", integer=True)
heads = sym("heads", "H", integer=True)
kv_heads = sym("kv_heads", r"H_{\text{KV}}", integer=True)
head_dim = sym("head_dim", r"d_{\text{head}}", integer=True)
ffn = sym("ffn", r"d_{\text{FFN}}", integer=True)
ffn_matrices = sym("ffn_matrices", r"n_{\text{FFN}}", integer=True)  # 3 gated (SwiGLU), 2 plain (GPT's GELU MLP)
vocab = sym("vocab", "V", integer=True)
embedding_copies = sym("embedding_copies", "e", integer=True)  # 2 untied (input + output), 1 tied
layer = sym("layer", r"\ell", integer=True)
position = sym("position", "s", integer=True)

# workload
batch = sym("batch", "B")
context = sym("context", "S")
bytes_per_element = sym("bytes_per_element", r"b")
matmul_params = sym("matmul_params", r"P_{\text{mm}}")
params = sym("params", "P")
kv_bytes_token = sym("kv_bytes_token", r"\text{KV}_{\text{token}}")


# --- the registry of formulas -----------------------------------------------------------------


@dataclass(frozen=True)
class Formula:
    """A named result: `lhs = expr`, evaluated at run time by the function `name(*args)`."""

    name: str
    lhs: str  # LaTeX of the left-hand side, as the slide writes it
    expr: sp.Expr
    args: tuple[sp.Symbol, ...]
    doc: str
    module: str  # the derivation module that defined it; its functions go to that module's file


FORMULAS: dict[str, Formula] = {}


def formula(name: str, lhs: str, expr: sp.Expr, args, doc: str) -> sp.Expr:
    """Register `lhs = expr` as formula `name`, evaluated at run time as `name(*args)`."""
    missing = expr.free_symbols - set(args)
    if missing:
        raise ValueError(f"formula {name}: symbols {missing} are not among its arguments")
    if name in FORMULAS:
        raise ValueError(f"formula {name} is defined twice")
    module = Path(sys._getframe(1).f_globals["__file__"]).stem
    FORMULAS[name] = Formula(name, lhs, sp.simplify(expr) if not expr.has(sp.Max, sp.Min) else expr,
                             tuple(args), doc, module)
    return FORMULAS[name].expr


class _SlidePrinter(LatexPrinter):
    """sympy's LaTeX, but products list their factors in the order the formula names its arguments
    (N, Peak, MFU, ...), as the slide reads, instead of sympy's alphabetical order."""

    def __init__(self, rank: dict, **settings):
        super().__init__(settings)
        self.rank = rank

    def _factor_key(self, factor):
        if factor.is_Number:
            return (-1,)
        return (min((self.rank.get(s, len(self.rank)) for s in factor.free_symbols), default=0),
                sp.default_sort_key(factor))

    def _product(self, expr) -> str:
        coeff, rest = expr.as_coeff_Mul()
        factors = sorted(sp.Mul.make_args(rest), key=self._factor_key)
        dot = self._settings["mul_symbol_latex"]
        roots = [f for f in factors if f.is_Pow and f.exp == sp.S.Half]
        parts = [self._print(coeff)] if coeff not in (1, -1) else []
        for factor in factors:
            if len(roots) > 1 and factor in roots:
                if factor is roots[0]:  # sqrt(2)*sqrt(d)*sqrt(M) reads as one root: sqrt(2*d*M)
                    parts.append(rf"\sqrt{{{dot.join(self._print(r.base) for r in roots)}}}")
                continue
            text = self._print(factor)
            parts.append(rf"\left({text}\right)" if factor.is_Add else text)
        return ("-" if coeff == -1 else "") + dot.join(parts)

    def _part(self, expr) -> str:
        return self._print(expr) if expr.is_Add else self._product(expr)

    def _print_Mul(self, expr):
        numer, denom = sp.fraction(expr, exact=True)
        if denom == 1:
            return self._product(numer)
        return rf"\frac{{{self._part(numer)}}}{{{self._part(denom)}}}"


def latex_of(name: str) -> str:
    """The slide's equation for formula `name`: ``lhs = rhs`` in LaTeX."""
    f = FORMULAS[name]
    rank = {s: i for i, s in enumerate(f.args)}
    printer = _SlidePrinter(rank, symbol_names=_LATEX, mul_symbol="dot")
    return f"{f.lhs} = {printer.doprint(f.expr)}"


def latex_symbol(s: sp.Symbol) -> str:
    return _LATEX[s]


# --- Part 1: roofline, ridge point, compute and memory time, Iron Law ------------------------

#: Roofline (Williams, Waterman, Patterson 2009): attainable FLOP/s at intensity AI.
attainable = formula("attainable_flops", r"\text{Attainable}",
                     sp.Min(peak_flops, bandwidth * intensity), (peak_flops, bandwidth, intensity),
                     "attainable FLOP/s = min(peak, BW x AI)")

#: The ridge point is the intensity where the two roofs meet: solve peak = BW * AI for AI.
ridge = formula("ridge_point", r"\text{AI}_{\text{ridge}}",
                sp.solve(sp.Eq(peak_flops, bandwidth * intensity), intensity)[0],
                (peak_flops, bandwidth), "FLOP per byte where compute and memory roofs meet")

t_compute = formula("compute_time", r"T_{\text{compute}}", flops / (peak_flops * eta),
                    (flops, peak_flops, eta), "time if compute were the only limit")
t_memory = formula("memory_time", r"T_{\text{memory}}", bytes_moved / (bandwidth * eta_bw),
                   (bytes_moved, bandwidth, eta_bw), "time if memory traffic were the only limit")
formula("arithmetic_intensity", r"\text{AI}", flops / bytes_moved, (flops, bytes_moved),
        "FLOPs per byte moved")
formula("mfu", r"\text{MFU}", flops / (latency * peak_flops), (flops, latency, peak_flops),
        "model FLOP/s achieved over peak (PaLM's definition)")
formula("iron_law", "T", flops / (n_devices * peak_flops * mfu * eta_scaling * goodput),
        (flops, n_devices, peak_flops, mfu, eta_scaling, goodput),
        "the Iron Law: time = work / (devices x peak x MFU x scaling efficiency x goodput)")

# --- Transformer counts, from the architecture -----------------------------------------------

#: One decoder layer: Q and O projections (d x H*dh each), K and V (d x H_kv*dh each, GQA),
#: FFN of n_FFN d x d_FFN matrices (three for SwiGLU, two for GPT's plain MLP), two norm weight vectors.
per_layer = (2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
             + ffn_matrices * hidden * ffn + 2 * hidden)
formula("parameter_count", "P",
        embedding_copies * vocab * hidden + sp.Sum(per_layer, (layer, 1, layers)).doit() + hidden,
        (vocab, hidden, layers, heads, kv_heads, head_dim, ffn, ffn_matrices, embedding_copies),
        "embeddings + sum over layers of (attention + FFN + norms) + final norm")

#: A decode step multiplies by every matrix except the input embedding table (a gather of B rows).
formula("matmul_parameters", r"P_{\text{mm}}", params - vocab * hidden, (params, vocab, hidden),
        "parameters streamed by a decode step")

#: K and V, per layer, per KV head, per token.
kv_token = formula("kv_cache_bytes_per_token", r"\text{KV}_{\text{token}}",
                   2 * layers * kv_heads * head_dim * bytes_per_element,
                   (layers, kv_heads, head_dim, bytes_per_element),
                   "bytes of K and V cached per token (grouped-query attention: H_KV heads)")

#: FLOPs of one decode step for B sequences at context S: 2 FLOP per weight per token, plus
#: attention: Q.K^T and A.V each 2*S*dh FLOP per query head per layer.
decode_flops = formula("decode_flops", r"\text{FLOPs}_{\text{decode}}",
                       batch * (2 * matmul_params + 4 * layers * heads * head_dim * context),
                       (batch, matmul_params, layers, heads, head_dim, context),
                       "FLOPs of one decode step")

#: Bytes of one decode step: the weights once, plus each sequence's KV cache.
decode_bytes = formula("decode_bytes", r"\text{Bytes}_{\text{decode}}",
                       matmul_params * bytes_per_element + batch * kv_bytes_token * context,
                       (matmul_params, bytes_per_element, batch, kv_bytes_token, context),
                       "bytes read by one decode step")

formula("decode_intensity", r"\text{AI}(B, S)", decode_flops / decode_bytes,
        (batch, matmul_params, layers, heads, head_dim, context, bytes_per_element, kv_bytes_token),
        "arithmetic intensity of a decode step")

#: The batch at which a decode step stops being memory-bound: T_compute(B) = T_memory(B).
_b_star = sp.solve(sp.Eq(decode_flops / (peak_flops * eta), decode_bytes / (bandwidth * eta_bw)), batch)
formula("crossover_batch", r"B^{*}", _b_star[0],
        (matmul_params, bytes_per_element, peak_flops, eta, bandwidth, eta_bw, layers, heads, head_dim,
         context, kv_bytes_token),
        "batch size where decode turns compute-bound (no crossover when this is negative)")

#: As B grows, the weights are amortised and the intensity tends to a ceiling set by the KV cache.
_ai_limit = sp.limit(decode_flops / decode_bytes, batch, sp.oo)
formula("decode_intensity_ceiling", r"\text{AI}_{\infty}(S)", _ai_limit,
        (matmul_params, layers, heads, head_dim, context, kv_bytes_token),
        "intensity of a decode step as B -> infinity")

#: The longest context at which a large enough batch can still reach the (effective) ridge.
_s_max = sp.solve(sp.Eq(_ai_limit, eta * peak_flops / (eta_bw * bandwidth)), context)
formula("crossover_context_limit", r"S_{\max}", _s_max[0],
        (matmul_params, layers, heads, head_dim, kv_bytes_token, eta, peak_flops, eta_bw, bandwidth),
        "beyond this context no batch size makes decode compute-bound")
