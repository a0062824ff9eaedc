"""The slides' equations, proved and printed once: build/equations.json.

`write_equations` (the `equations` task) proves every teaching form of mlsysim.core.teaching equal to
its derivation and writes, for every formula, the LaTeX a slide shows for ``\\VAR{equation("name")}``:
the teaching form where there is one, else the derivation as sympy prints it; and what the ledger
shows of it (`mlsysim_deck.ledger.formula_record`).  The task depends only on
the derivations and the teaching forms, so a spec or prose edit never runs sympy again; rendering a
slide reads the file (`read_equations`), without importing sympy.

The proofs take about 2 s, and they follow from the engine's sources alone, so a proved
build/equations.json is also kept in the user's cache folder (``~/.cache/mlsysim/equations``, as the
checked spec values are), keyed on every engine source file, sympy's version and Python's: a build
from an empty build/ copies it instead of proving again, and any edit to the engine proves again.
``MLSYSIM_CACHE=off`` turns it off.

A teaching form that is not its derivation fails the build, naming each frame that shows the equation
(template file:line and frame title) and both forms.
"""
from __future__ import annotations

import json
import re
import sys
from importlib import metadata
from pathlib import Path

from .atomic import write_text_atomic


def equation_uses(slides_root: Path, name: str) -> list[str]:
    """Where the slides show equation `name`: 'slides/04_distributed/slides.tex.j2:152 (frame "...")'."""
    from .render import frame_at, frame_titles, shown_path

    found = []
    for template in sorted(Path(slides_root).glob("*/slides.tex.j2")):
        source = template.read_text(encoding="utf-8")
        titles = frame_titles(source)
        for m in re.finditer(r"""equation\(\s*["']""" + re.escape(name) + r"""["']\s*\)""", source):
            line = source.count("\n", 0, m.start()) + 1
            found.append(f'{shown_path(template)}:{line} (frame "{frame_at(titles, line)}")')
    return found


def mismatch_message(slides_root: Path, wrong) -> str:
    """One paragraph per teaching form its derivation does not prove."""
    from mlsysim.core import teaching

    from .render import shown_path

    paragraphs = []
    for m in wrong:
        uses = equation_uses(slides_root, m.name) or ["(no slide shows it yet)"]
        paragraphs.append(
            f"{uses[0]}: the equation {m.name!r} as taught is not what its derivation gives\n"
            + "".join(f"  also shown at {u}\n" for u in uses[1:])
            + f"  taught:  {m.taught}\n"
            f"  derived: {m.derived}\n"
            f"  their difference does not simplify to zero: correct the teaching form at "
            f"{shown_path(teaching.__file__)}:{m.line} (the derivation is the source of truth)")
    return "\nerror: ".join(paragraphs)


def engine_sources(engine: Path | None = None) -> bytes:
    """What the proofs follow from: the bytes of every source file under engine/ (the derivations,
    the teaching forms, what they import, this printer), sympy's version and Python's."""
    engine = Path(engine or Path(__file__).resolve().parents[1])
    found = [f"{sys.version}\0sympy {metadata.version('sympy')}".encode()]
    for source in sorted(engine.rglob("*.py")):
        found.append(source.relative_to(engine).as_posix().encode() + b"\0" + source.read_bytes())
    return b"\0".join(found)


def write_equations(slides_root: Path, out: Path) -> dict[str, str]:
    """Prove the teaching forms, then write build/equations.json: formula name -> the slide's LaTeX
    (remembered in the user's cache when this engine's proofs passed before: build.remembered)."""
    from .build import remembered

    text = remembered("equations", engine_sources(), lambda: prove_and_print(slides_root))
    write_text_atomic(Path(out), text)
    return json.loads(text)["equations"]


def prove_and_print(slides_root: Path) -> str:
    """Prove every teaching form equal to its derivation (a wrong one raises, naming its frames), then
    print build/equations.json's text."""
    from mlsysim.core import derivations, teaching

    from .build import BuildError

    wrong = teaching.check()
    if wrong:
        raise BuildError(mismatch_message(slides_root, wrong))
    from .ledger import formula_record

    latex = {name: teaching.taught_latex(name) if name in teaching.TEACHING else derivations.latex_of(name)
             for name in sorted(derivations.FORMULAS)}
    ledger = {name: formula_record(name) for name in sorted(derivations.FORMULAS)}
    return json.dumps({"equations": latex, "taught": sorted(teaching.TEACHING), "ledger": ledger},
                      indent=1, ensure_ascii=False) + "\n"


def read_equations(path: Path) -> dict[str, str]:
    """build/equations.json as written by `write_equations`: formula name -> LaTeX."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["equations"]


def read_formula_records(path: Path) -> dict[str, dict]:
    """build/equations.json's ledger records: formula name -> MathML, LaTeX, expression and arguments."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["ledger"]
