"""Claims: every number, value and verdict the deck states, computed by the engine.

A part of the deck declares its claims in ``slides/<part>/claims.py``::

    from mlsysim_deck import Claims
    claims = Claims(__file__)

    @claims.quantity("ridge.H100", unit="FLOP/B", fmt=".0f")
    def ridge_h100():
        return mlsysim.Engine.ridge_point(mlsysim.Hardware.Cloud.H100)

    claims.statement("decode.all_memory_bound", "memory-bound on all three",
                     lambda: all(p.bottleneck == "Memory" for p in profiles()))

Evaluating a claim runs its computation under `mlsysim.spec.reading()`, so the claim knows which
spec values it read.  A statement whose check is false fails the build, naming the claim and the
file and line where it was declared.
"""
from __future__ import annotations

import functools
import importlib.util
import math
import re
import sys
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from mlsysim.spec import SpecError, reading

_DERIVED_FILES: dict[str, bool] = {}


def _is_derived(filename: str, cache: dict = _DERIVED_FILES) -> bool:
    hit = cache.get(filename)
    if hit is None:
        path = Path(filename)
        hit = cache[filename] = path.parent.name == "core" and path.name.startswith("_derived")
    return hit


class FormulaCalls(set):
    """The names of the generated formulas a computation called (a set, as before), and `steps`:
    each distinct call with its arguments and result, in the order the calls returned (the
    innermost first, the claim's final formula last)."""

    MAX_STEPS = 12  # the last ones are kept: those closest to the claim's own value

    def __init__(self):
        super().__init__()
        self.steps: list[dict] = []
        self._seen: set = set()
        self.omitted = 0

    def add_step(self, name: str, args: dict, result) -> None:
        key = (name, tuple(args.items()), result)
        if key in self._seen:
            return
        self._seen.add(key)
        self.steps.append({"formula": name, "args": args, "result": result})
        if len(self.steps) > self.MAX_STEPS:
            self.steps.pop(0)
            self.omitted += 1


def _plain(value):
    """A number as the ledger shows it: floats and ints as they are, arrays and others summarised."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else str(value)
    if hasattr(value, "shape") and getattr(value, "shape", ()) == ():
        return _plain(value.item())
    if hasattr(value, "shape"):
        return f"array of {value.size}"
    return type(value).__name__


#: While a claim is evaluated: where the generated formulas record their calls (`formulas_called`):
#: the names of all of them, the last calls with their arguments and results, and the wrappers in place.
_recording: tuple[set, deque, tuple] | None = None


def _formula_places() -> tuple:
    """Every place a generated formula is looked up from at call time: (module, name, the function)
    for each function of core/_derived*.py, in its own module and in the modules that import it by
    name (mlsysim.core.formulas; a part's claims.py that does).  The engine calls them through those
    modules' attributes, so a wrapper put there sees every call, the formulas' calls of one another
    included.  Found again once more modules are loaded (a part's claims.py, loaded later)."""
    _import_formulas()
    return _places_among(len(sys.modules))


@functools.cache
def _import_formulas() -> None:
    """Every generated formula module (core/_derived*.py), loaded: the engine loads some only when
    asked (serving's disaggregated transfer)."""
    import importlib
    import pkgutil

    import mlsysim.core

    for info in pkgutil.iter_modules(mlsysim.core.__path__):
        if info.name.startswith("_derived"):
            importlib.import_module(f"mlsysim.core.{info.name}")


@functools.lru_cache(maxsize=1)
def _places_among(_loaded: int) -> tuple:
    import types

    places = []
    for name, module in sorted(sys.modules.items()):
        if not (name == "mlsysim" or name.startswith(("mlsysim.", "_deck_claims_"))) or module is None:
            continue
        for attr, value in sorted(vars(module).items()):
            if isinstance(value, types.FunctionType) and _is_derived(value.__code__.co_filename):
                places.append((module, attr, value))
    return tuple(places)


def _recorded(fn):
    """`fn`, recording each call that returns (name, parameter names, arguments, result) while a
    claim is evaluated."""
    code = fn.__code__
    params = code.co_varnames[:code.co_argcount]

    @functools.wraps(fn)
    def formula(*args, **kwargs):
        result = fn(*args, **kwargs)
        if _recording is not None:
            _recording[0].add(code.co_name)
            _recording[1].append((code.co_name, params, args, kwargs, result))
        return result

    return formula


def _wrappers() -> tuple:
    return _wrappers_of(_formula_places())


@functools.lru_cache(maxsize=1)
def _wrappers_of(places: tuple) -> tuple:
    return tuple((module, attr, fn, _recorded(fn)) for module, attr, fn in places)


@contextmanager
def formulas_called():
    """Collect the generated formula functions (core/_derived*.py) called in the block, with their
    arguments and results (`FormulaCalls.steps`: what the ledger shows as the claim's computation).
    For the block, each formula is looked up as a wrapper that records its calls (`_formula_places`).

    Models cache what they derive (parameter counts); the caches are emptied first, so that a
    claim lists every formula its value rests on, whichever claim happened to run first.
    """
    global _recording
    from mlsysim import spec as _spec

    for entries in _spec._loaded.values():
        for entry in entries.values():
            entry._cache.clear()
    called = FormulaCalls()
    returns: deque = deque(maxlen=256)  # (name, parameter names, args, kwargs, result): converted at the end
    previous = _recording
    wrappers = _wrappers() if previous is None else ()  # (a block inside another: already wrapped)
    for module, attr, _, wrapper in wrappers:
        setattr(module, attr, wrapper)
    _recording = (called, returns, wrappers if previous is None else previous[2])
    try:
        yield called
    finally:
        _recording = previous
        for module, attr, fn, _ in wrappers:
            setattr(module, attr, fn)
        for name, params, args, kwargs, result in returns:  # cheap to record, converted once here
            given = dict(zip(params, args)) | kwargs
            called.add_step(name, {n: _plain(given.get(n)) for n in params}, _plain(result))


@contextmanager
def untraced():
    """Time code as a user would run it: outside the claim's bookkeeping (the spec-read recorder, and
    the formulas as they are, not the wrappers that record them)."""
    global _recording
    from mlsysim import spec as _spec

    previous, recorders = _recording, list(_spec._recorders)
    wrapped = previous[2] if previous is not None else ()  # (the wrappers formulas_called put in place)
    for module, attr, fn, _ in wrapped:
        setattr(module, attr, fn)
    _recording = None
    _spec._recorders.clear()
    try:
        yield
    finally:
        _spec._recorders.extend(recorders)
        _recording = previous
        for module, attr, _, wrapper in wrapped:
            setattr(module, attr, wrapper)


ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")


class ClaimError(Exception):
    """A claim could not be computed, or a statement the slides make is false."""


def _latex_escape(text: str) -> str:
    table = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
             "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(table.get(c, c) for c in text)


WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")


def format_number(value: float, fmt: str) -> str:
    """Python format, then a typographic minus; thousands separators stay as ','.  fmt "word" writes a
    whole number up to twenty as a word ("five"), "Word" capitalised ("Five", for a title)."""
    if fmt in ("word", "Word"):
        if value != int(value) or not 0 <= value < len(WORDS):
            raise ValueError(f"format {fmt!r} needs a whole number from 0 to {len(WORDS) - 1}, got {value}")
        word = WORDS[int(value)]
        return word.capitalize() if fmt == "Word" else word
    if fmt.endswith("d"):
        if value != int(value):
            raise ValueError(f"format {fmt!r} needs a whole number, got {value}")
        value = int(value)
    text = format(value, fmt)
    return text.replace("-", "\u2212")


@dataclass(frozen=True)
class Erratum:
    """Where a claim departs from the reference deck (../shared/seed/tutorial_part1.tex): the value the
    reference prints there, as it prints it ("54 days", "~35 ms"), and the one-line reason this deck
    prints another.  The errata appendix and the ledger list every claim that carries one."""

    reference: str
    reason: str

    def __post_init__(self):
        for name in ("reference", "reason"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"Erratum({name}=...) needs the text, got {value!r}")
            if "\n" in value:
                raise ValueError(f"Erratum({name}=...) is one line: {value!r}")

    def record(self) -> dict:
        return {"reference": self.reference, "reason": self.reason}


@dataclass
class Claim:
    """One number (or name, or verdict) of the deck, by id."""

    id: str
    compute: Callable[[], Any]
    kind: str  # "quantity", "number", "text", "statement"
    unit: str | None = None  # display unit of a quantity ("ms", "FLOP/B")
    label: str | None = None  # how the unit reads on the slide, if not as written ("days" for "day")
    fmt: str = ""
    suffix: str = ""  # for numbers: "×", "%"
    scale: float = 1.0  # numbers: multiply before formatting (e.g. 100 for percent)
    text: str | None = None  # statements: the words the slide uses
    note: str = ""
    declared_at: str = ""  # file:line of the declaration
    erratum: Erratum | None = None  # where the reference deck prints another value, and why
    # filled in by evaluate()
    value: Any = None
    value_unit: str = ""
    latex: str = ""
    plain: str = ""
    number_text: str = ""
    inputs: list[str] = field(default_factory=list)
    formulas: list[str] = field(default_factory=list)  # derived formulas its computation evaluated
    steps: list[dict] = field(default_factory=list)  # those calls with arguments and results (the ledger)

    def evaluate(self) -> "Claim":
        try:
            with reading() as keys, formulas_called() as called:
                result = self.compute()
        except (ClaimError, SpecError):  # a spec error names the spec file's line, not the claim's
            raise
        except Exception as err:  # noqa: BLE001 - reported with the claim's place
            raise ClaimError(f"{self.declared_at}: claim {self.id!r} failed: {type(err).__name__}: {err}") \
                from err
        self.inputs = sorted(keys)
        self.formulas = sorted(called)
        self.steps = called.steps
        if self.kind == "statement":
            if result is not True:
                raise ClaimError(f"{self.declared_at}: claim {self.id!r}: the slide says "
                                 f"\"{self.text}\", but the engine finds this false")
            self.value, self.plain = True, self.text
        elif self.kind == "text":
            self.value = self.plain = str(result)
        else:
            if self.kind == "quantity":
                if not hasattr(result, "to"):
                    raise ClaimError(f"{self.declared_at}: claim {self.id!r} should be a quantity in "
                                     f"{self.unit}, got {result!r}")
                try:
                    magnitude = float(result.to(self.unit).magnitude)
                except Exception as err:  # noqa: BLE001
                    raise ClaimError(f"{self.declared_at}: claim {self.id!r}: cannot express {result} in "
                                     f"{self.unit}: {err}") from err
                self.value_unit = self.unit
            else:
                if hasattr(result, "to"):
                    result = result.to("").magnitude
                try:
                    magnitude = float(result)
                except (TypeError, ValueError):
                    raise ClaimError(f"{self.declared_at}: claim {self.id!r} should be a number, got "
                                     f"{result!r}") from None
            if not math.isfinite(magnitude):
                raise ClaimError(f"{self.declared_at}: claim {self.id!r} is not a finite number: {magnitude}")
            self.value = magnitude
            try:
                self.number_text = format_number(magnitude * self.scale, self.fmt) + self.suffix
            except ValueError as err:
                raise ClaimError(f"{self.declared_at}: claim {self.id!r}: {err}") from None
            unit = f" {self.label or self.unit}" if self.kind == "quantity" and self.unit else ""
            self.plain = f"{self.number_text}{unit}"
        return self

    def render_latex(self) -> str:
        """The claim as LaTeX text: thousands separators braced, thin space before the unit."""
        if not self.plain:
            raise ClaimError(f"claim {self.id!r} used before it was evaluated")
        if self.kind in ("statement", "text"):
            return _latex_escape(self.plain)
        body = _latex_escape(self.number_text).replace(",", "{,}")
        if self.kind == "quantity" and self.unit:
            body += "\\," + _latex_escape(self.label or self.unit)
        return body

    def record(self) -> dict:
        return ({"id": self.id, "kind": self.kind, "value": self.value, "unit": self.value_unit,
                "text": self.plain, "latex": self.render_latex(), "inputs": self.inputs,
                "formulas": self.formulas, "steps": self.steps, "note": self.note,
                "declared_at": self.declared_at,
                "scale": self.scale}  # numbers: the text shows value * scale (100 for a percentage)
                | ({"erratum": self.erratum.record()} if self.erratum else {}))


def _check_reason(claim: Claim) -> None:
    """An erratum's reason is printed on the errata slide: like a slide, it states a number only as a
    claim, written {claim.id} (the lint reads it as \\VAR{claim("claim.id")})."""
    from .errata import reason_as_template
    from .lint import lint_text

    problems = lint_text(reason_as_template(claim.erratum.reason), "reason")
    if problems:
        said = "; ".join(p.split(": ", 1)[1] for p in problems)
        raise ClaimError(f"{claim.declared_at}: claim {claim.id!r}: its erratum's reason types a number ({said}): "
                         f"write the number as a claim, {{claim.id}}, or say it in words")


class Claims:
    """The claims one part of the deck declares (its ``claims.py``)."""

    def __init__(self, module_file: str):
        self.path = Path(module_file)
        self.items: dict[str, Claim] = {}
        self._me: Path | None = None  # (resolved once: a part declares a hundred claims)
        self._shown = ""

    def _where(self) -> str:
        """file:line of the declaration in this part's claims.py: the nearest caller in that file
        (walking frames, not `inspect.stack()`, which reads every caller's source).  A frame of
        another file named claims.py is resolved, in case this one was imported through a symlink."""
        here = str(self.path)
        if self._me is None:
            self._me = self.path.resolve()
            try:
                self._shown = self._me.relative_to(self._me.parents[2]).as_posix()
            except ValueError:
                self._shown = self.path.as_posix()
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if name == here or (Path(name).name == self.path.name and Path(name).resolve() == self._me):
                return f"{self._shown}:{frame.f_lineno}"
            frame = frame.f_back
        return here

    def _add(self, claim: Claim) -> Claim:
        if not ID_PATTERN.match(claim.id):
            raise ClaimError(f"{claim.declared_at}: bad claim id {claim.id!r} (letters, digits, . _ -)")
        if claim.id in self.items:
            raise ClaimError(f"{claim.declared_at}: claim {claim.id!r} declared twice")
        if claim.erratum is not None and not isinstance(claim.erratum, Erratum):
            raise ClaimError(f"{claim.declared_at}: claim {claim.id!r}: erratum= takes "
                             f"Erratum(reference=\"...\", reason=\"...\"), got {claim.erratum!r}")
        if claim.erratum is not None:
            _check_reason(claim)
        self.items[claim.id] = claim
        return claim

    def _decorator_or_add(self, claim_id, compute, **kw):
        where = self._where()
        if compute is not None:
            self._add(Claim(claim_id, compute, declared_at=where, **kw))
            return compute

        def decorate(fn):
            self._add(Claim(claim_id, fn, declared_at=where, note=kw.pop("note", "") or (fn.__doc__ or ""),
                            **kw))
            return fn

        return decorate

    def quantity(self, claim_id: str, compute=None, *, unit: str, fmt: str = ".3g", label: str | None = None,
                 note: str = "", erratum: Erratum | None = None):
        """A value with a unit; shown in `unit` with format `fmt` (".1f", ",.0f", ".3g").

        `label` is how the unit is written on the slide when that differs from pint's name
        (unit="day", label="days")."""
        return self._decorator_or_add(claim_id, compute, kind="quantity", unit=unit, fmt=fmt, label=label,
                                      note=note, erratum=erratum)

    def number(self, claim_id: str, compute=None, *, fmt: str = ".3g", suffix: str = "",
               scale: float = 1.0, note: str = "", erratum: Erratum | None = None):
        """A plain number (ratio, count, percentage with scale=100 and suffix="%")."""
        return self._decorator_or_add(claim_id, compute, kind="number", fmt=fmt, suffix=suffix,
                                      scale=scale, note=note, erratum=erratum)

    def text(self, claim_id: str, compute=None, *, note: str = "", erratum: Erratum | None = None):
        """A word the engine decides: a bottleneck ("Memory"), the fastest chip's name."""
        return self._decorator_or_add(claim_id, compute, kind="text", note=note, erratum=erratum)

    def statement(self, claim_id: str, text: str, check: Callable[[], bool], *, note: str = "",
                  erratum: Erratum | None = None):
        """A qualitative sentence of a slide, asserted by `check` (which must return True)."""
        self._add(Claim(claim_id, check, kind="statement", text=text, note=note, declared_at=self._where(),
                        erratum=erratum))


def load_claims(path: Path) -> Claims:
    """Import a part's claims.py by path and return its `claims`."""
    name = f"_deck_claims_{path.parent.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (ClaimError, SpecError):
        raise
    except Exception as err:  # noqa: BLE001
        tb = err.__traceback__
        line = "?"
        while tb is not None:
            if Path(tb.tb_frame.f_code.co_filename) == path:
                line = tb.tb_lineno
            tb = tb.tb_next
        raise ClaimError(f"{path}:{line}: {type(err).__name__}: {err}") from err
    claims = getattr(module, "claims", None)
    if not isinstance(claims, Claims):
        raise ClaimError(f"{path}: defines no `claims = Claims(__file__)`")
    return claims
