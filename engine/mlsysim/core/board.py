"""Equations as an instructor writes them on the board: terms kept in the order and grouping written.

sympy rewrites whatever it is given into its own canonical form (expanded, sorted, one big
fraction): fine for solving, hard to read on a slide.  A board term is a small tree that remembers
how it was written, and gives three things from that one tree:

* ``latex(term)``: the slide's LaTeX, exactly in the written order and grouping;
* ``text(term)``: the same in plain text, for error messages;
* ``value(term)``: the sympy expression it stands for, so that `teaching.py` can prove it equal to
  the derivation.

Write terms with Python's operators on board symbols (``on_board(module)`` gives every sympy
symbol of a derivation module as a board symbol, under the same Python name) and these helpers:
``frac(a, b)`` (a stacked fraction; ``a / b`` is the same), ``sqrt(x)``, ``minimum(a, b)``,
``braced(term, "label")`` (an underbrace naming a group of terms).  Nothing is simplified or
reordered: ``2 * frac(N - 1, N) * frac(M, beta) + 2 * (N - 1) * alpha`` prints as written.
Parentheses are added where the written grouping needs them (a sum as a factor or a power's base).
"""
from __future__ import annotations

import re
from types import ModuleType, SimpleNamespace

import sympy as sp

from .derivations import latex_symbol

_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "eta": "η", "tau": "τ", "ell": "ℓ",
          "max": "max", "min": "min", "infty": "∞", "lceil": "⌈", "rceil": "⌉"}


def plain(latex: str) -> str:
    r"""A symbol's LaTeX as plain text: \eta_{\text{BW}} -> η_BW, \text{MTBF} -> MTBF."""
    out = re.sub(r"\\(?:text|mathrm|mathbb)\{([^{}]*)\}", r"\1", latex)
    out = re.sub(r"\\([a-zA-Z]+)", lambda m: _GREEK.get(m.group(1), m.group(1)), out)
    out = re.sub(r"_\{([^{}]*)\}", r"_\1", out)
    return re.sub(r" +", " ", out.replace("{", "").replace("}", "")).strip()


class Term:
    """One node of an equation as written.  Subclasses say how they print and what they equal."""

    def latex(self) -> str:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def value(self) -> sp.Expr:
        raise NotImplementedError

    # --- writing terms with Python's operators ---
    def __add__(self, other):
        return Sum.of(self, +1, term(other))

    def __radd__(self, other):
        return Sum.of(term(other), +1, self)

    def __sub__(self, other):
        return Sum.of(self, -1, term(other))

    def __rsub__(self, other):
        return Sum.of(term(other), -1, self)

    def __mul__(self, other):
        return Product.of(self, term(other))

    def __rmul__(self, other):
        return Product.of(term(other), self)

    def __truediv__(self, other):
        return Frac(self, term(other))

    def __rtruediv__(self, other):
        return Frac(term(other), self)

    def __pow__(self, other):
        return Power(self, term(other))

    def __neg__(self):
        return Sum([(-1, self)])


def term(x) -> Term:
    """A board term from a term, a whole number or a sympy symbol."""
    if isinstance(x, Term):
        return x
    if isinstance(x, bool):
        raise TypeError(f"{x!r} is not a term")
    if isinstance(x, int):
        return Number(x)
    if isinstance(x, sp.Symbol):
        return Symbol(x)
    raise TypeError(f"write {x!r} with board terms (on_board symbols, numbers, frac, sqrt, ...), "
                    f"not as a sympy expression: sympy would reorder it")


class Number(Term):
    def __init__(self, n: int):
        self.n = n

    def latex(self):
        return str(self.n)

    def text(self):
        return str(self.n)

    def value(self):
        return sp.Integer(self.n)


class Symbol(Term):
    """A derivation's sympy symbol, shown by its slide name."""

    def __init__(self, symbol: sp.Symbol):
        self.symbol = symbol

    def latex(self):
        return latex_symbol(self.symbol)

    def text(self):
        return plain(self.latex())

    def value(self):
        return self.symbol

    @property
    def wordy(self) -> bool:
        """A name of several letters (Peak, MFU, KV_token): a product sets it off with a dot."""
        return len(self.text().split("_")[0]) > 1


class Sum(Term):
    """Terms added and subtracted in the order written: [(+1, a), (-1, b), ...]."""

    def __init__(self, terms: list[tuple[int, Term]]):
        self.terms = terms

    @classmethod
    def of(cls, a: Term, sign: int, b: Term) -> "Sum":
        left = a.terms if isinstance(a, Sum) else [(+1, a)]
        if isinstance(b, Sum) and sign > 0:
            return cls(left + b.terms)
        return cls(left + [(sign, b)])

    def _join(self, show, minus: str) -> str:
        out = ""
        for i, (sign, t) in enumerate(self.terms):
            shown = show(t)
            if isinstance(t, Sum) and sign < 0:  # a - (b + c)
                shown = _paren(shown, show is _latex)
            if i == 0:
                out = (minus if sign < 0 else "") + shown
            else:
                out += (f" {minus} " if sign < 0 else " + ") + shown
        return out

    def latex(self):
        return self._join(_latex, "-")

    def text(self):
        return self._join(_text, "−")

    def value(self):
        return sp.Add(*[sign * t.value() for sign, t in self.terms])


class Product(Term):
    """Factors multiplied in the order written."""

    def __init__(self, factors: list[Term]):
        self.factors = factors

    @classmethod
    def of(cls, a: Term, b: Term) -> "Product":
        return cls((a.factors if isinstance(a, Product) else [a]) + (b.factors if isinstance(b, Product) else [b]))

    @staticmethod
    def _joint(left: Term, right: Term, dot: str, space: str) -> str:
        """What stands between two factors: a centred dot between fractions and around long names
        (Peak · MFU), a thin space between letters (2 L H d), nothing between a number and a bracket or
        fraction (2(N − 1), 2 (N−1)/N)."""
        if isinstance(left, Number):
            return dot if isinstance(right, Number) else (space if isinstance(right, Symbol) else "")
        if any(isinstance(f, (Frac, Root)) or getattr(f, "wordy", False) for f in (left, right)):
            return dot
        return space

    def latex(self):
        out = ""
        for i, f in enumerate(self.factors):
            if i:
                out += self._joint(self.factors[i - 1], f, r" \cdot ", r"\,")
            out += _paren(f.latex(), True) if isinstance(f, Sum) else f.latex()
        return out

    def text(self):
        out = ""
        for i, f in enumerate(self.factors):
            shown = _paren(f.text(), False) if isinstance(f, Sum) else f.text()
            if i:
                out += self._joint(self.factors[i - 1], f, " · ", " ") or " "
            out += shown
        return out

    def value(self):
        return sp.Mul(*[f.value() for f in self.factors])


class Frac(Term):
    """A stacked fraction."""

    def __init__(self, num: Term, den: Term):
        self.num, self.den = num, den

    def latex(self):
        return rf"\frac{{{self.num.latex()}}}{{{self.den.latex()}}}"

    def text(self):
        def part(t: Term) -> str:
            simple = isinstance(t, (Symbol, Number, Power, Root, Function))
            return t.text() if simple else _paren(t.text(), False)

        return f"{part(self.num)}/{part(self.den)}"

    def value(self):
        return self.num.value() / self.den.value()


class Power(Term):
    def __init__(self, base: Term, exponent: Term):
        self.base, self.exponent = base, exponent

    def latex(self):
        base = self.base.latex()
        if not isinstance(self.base, (Symbol, Number)):
            base = _paren(base, True)
        return f"{base}^{{{self.exponent.latex()}}}"

    def text(self):
        base = self.base.text() if isinstance(self.base, (Symbol, Number)) else _paren(self.base.text(), False)
        exponent = self.exponent.text()
        return f"{base}^{exponent if isinstance(self.exponent, (Symbol, Number)) else _paren(exponent, False)}"

    def value(self):
        return self.base.value() ** self.exponent.value()


class Root(Term):
    def __init__(self, radicand: Term):
        self.radicand = radicand

    def latex(self):
        return rf"\sqrt{{{self.radicand.latex()}}}"

    def text(self):
        return f"√({self.radicand.text()})"

    def value(self):
        return sp.sqrt(self.radicand.value())


class Function(Term):
    """min(a, b) or max(a, b)."""

    def __init__(self, name: str, args: list[Term]):
        self.name, self.args = name, args

    def latex(self):
        return rf"\{self.name}\left({', '.join(a.latex() for a in self.args)}\right)"

    def text(self):
        return f"{self.name}({', '.join(a.text() for a in self.args)})"

    def value(self):
        return {"min": sp.Min, "max": sp.Max}[self.name](*[a.value() for a in self.args])


class Braced(Term):
    """A group of terms with an underbrace that says what it is (``in the node``)."""

    def __init__(self, inner: Term, label: str):
        self.inner, self.label = inner, label

    def latex(self):
        return rf"\underbrace{{{self.inner.latex()}}}_{{\text{{{self.label}}}}}"

    def text(self):
        return f"[{self.inner.text()}]"

    def value(self):
        return self.inner.value()


def _latex(t: Term) -> str:
    return t.latex()


def _text(t: Term) -> str:
    return t.text()


def _paren(shown: str, latex: bool) -> str:
    if latex and (r"\frac" in shown or r"\sqrt" in shown or "^" in shown):
        return rf"\left({shown}\right)"
    return f"({shown})"


# --- the helpers teaching.py writes with ---------------------------------------------------------


def frac(num, den) -> Frac:
    return Frac(term(num), term(den))


def sqrt(x) -> Root:
    return Root(term(x))


def minimum(*args) -> Function:
    return Function("min", [term(a) for a in args])


def maximum(*args) -> Function:
    return Function("max", [term(a) for a in args])


def braced(inner, label: str) -> Braced:
    return Braced(term(inner), label)


def on_board(module: ModuleType) -> SimpleNamespace:
    """Every sympy symbol a derivation module defines, as a board symbol under the same name."""
    return SimpleNamespace(**{name: Symbol(value) for name, value in vars(module).items()
                              if isinstance(value, sp.Symbol)})
