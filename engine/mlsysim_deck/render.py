"""Rendering the deck: Jinja2 templates of LaTeX whose numbers can only come from claims.

Delimiters that cannot clash with LaTeX or code: ``\\VAR{...}`` prints, ``\\BLOCK{...}`` runs a
statement, ``\\#{...}`` is a comment.  Undefined names are errors (StrictUndefined), and every
printed value passes `finalize`, which refuses raw numbers and quantities: a number reaches a slide
only as ``\\VAR{claim("id")}``, which prints ``\\claim{<target>}{<text>}``; the named destination
<target> lets the PDF check find the page the number landed on.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2 import nodes
from markupsafe import Markup

from .atomic import write_text_atomic


class RenderError(Exception):
    """A template problem, reported as file:line: message."""


class Rendered(str):
    """Text produced by the deck's own helpers (already LaTeX); `finalize` lets it through."""


def _finalize(value):
    if isinstance(value, (Rendered, Markup)):  # our helpers' LaTeX; a macro's output via |safe
        return value
    if isinstance(value, (bool, int, float)) or hasattr(value, "magnitude"):
        raise RenderError(f"a raw number ({value!r}) is printed; numbers reach slides only through "
                          f"claim(\"id\")")
    if isinstance(value, str):
        return latex_escape(value)
    raise RenderError(f"cannot print a {type(value).__name__} ({value!r}) on a slide")


def latex_escape(text: str) -> str:
    table = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
             "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(table.get(c, c) for c in text)


def environment(search_path: list[Path]) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search_path]),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_statement_prefix=None, line_comment_prefix=None,
        trim_blocks=True, lstrip_blocks=True, autoescape=False, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, finalize=_finalize,
    )


# --- static analysis of a template ------------------------------------------------------------

FRAME_TITLE = re.compile(r"\\begin\{frame\}(?:<[^>]*>)?(?:\[(?P<options>[^\]]*)\])?"
                         r"(?:\{(?P<title>(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\})?")  # braces nest two deep


@dataclass(frozen=True)
class Use:
    """A helper call in a template: claim("x"), listing("y"), equation("z")."""

    helper: str
    name: str
    line: int
    frame: str


def frame_titles(source: str) -> list[tuple[int, str]]:
    """(line, title) of every frame opened in the template source."""
    found = []
    for m in FRAME_TITLE.finditer(source):
        found.append((source.count("\n", 0, m.start()) + 1, m.group("title") or ""))
    return found


def frame_labels(source: str) -> list[tuple[int, str]]:
    """(line, label) of every frame opened in the template source; "" for a frame without label=."""
    found = []
    for m in FRAME_TITLE.finditer(source):
        label = re.search(r"(?:^|,)\s*label\s*=\s*([^,\s]+)", m.group("options") or "")
        found.append((source.count("\n", 0, m.start()) + 1, label.group(1) if label else ""))
    return found


#: Frame labels by kind (``\\begin{frame}[label=predict-vendors]``): the exercise sheet holds the
#: setup, the predictions, quizzes and exercises, each in the state that poses it; the answer key
#: adds the solution frames, whose claims are answers as a whole.
SHEET_KINDS = ("setup-", "predict-", "quiz-", "exercise-")
SOLUTION_KIND = "solution-"


def frame_at(titles: list[tuple[int, str]], line: int) -> str:
    title = ""
    for start, t in titles:
        if start <= line:
            title = t
    return title


HELPERS = ("claim", "listing", "equation")


def analyse(env: jinja2.Environment, path: Path) -> list[Use]:
    """Every helper call of a template, with line and frame; non-literal arguments are errors."""
    source = path.read_text(encoding="utf-8")
    try:
        tree = env.parse(source, name=path.name, filename=str(path))
    except jinja2.TemplateSyntaxError as err:
        raise RenderError(f"{path}:{err.lineno}: {err.message}") from None
    titles = frame_titles(source)
    uses = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in HELPERS:
            if not call.args or not isinstance(call.args[0], nodes.Const) \
                    or not isinstance(call.args[0].value, str):
                raise RenderError(f"{path}:{call.lineno}: {call.node.name}() needs a literal name, such as "
                                  f"{call.node.name}(\"ridge.H100\"), so the build can see what the slide "
                                  f"depends on")
            uses.append(Use(call.node.name, call.args[0].value, call.lineno, frame_at(titles, call.lineno)))
    return uses


@dataclass(frozen=True)
class Note:
    """A speaker note: ``\\BLOCK{call note(minutes=3, flex=true)} ... \\BLOCK{endcall}`` before
    ``\\end{frame}``.  Its timing is template data, read here without rendering (the schedule)."""

    minutes: int
    flex: bool
    line: int
    frame: str


def notes(env: jinja2.Environment, path: Path) -> list[Note]:
    """Every note() call block of a template, with its literal minutes and FLEX tag."""
    source = path.read_text(encoding="utf-8")
    try:
        tree = env.parse(source, name=path.name, filename=str(path))
    except jinja2.TemplateSyntaxError as err:
        raise RenderError(f"{path}:{err.lineno}: {err.message}") from None
    titles = frame_titles(source)
    found = []
    for block in tree.find_all(nodes.CallBlock):
        call = block.call
        if not (isinstance(call.node, nodes.Name) and call.node.name == "note"):
            continue
        args = {kw.key: kw.value for kw in call.kwargs}
        minutes, flex = args.get("minutes"), args.get("flex", nodes.Const(False))
        if call.args or set(args) - {"minutes", "flex"} or not isinstance(minutes, nodes.Const) \
                or not isinstance(flex, nodes.Const) or not _is_minutes(minutes.value) \
                or not isinstance(flex.value, bool):
            raise RenderError(f"{path}:{call.lineno}: write a note as \\BLOCK{{call note(minutes=3)}} or "
                              f"note(minutes=3, flex=true): minutes a literal whole number, flex true or "
                              f"false, so the schedule can read them")
        found.append(Note(minutes.value, flex.value, call.lineno, frame_at(titles, call.lineno)))
    return found


def answer_blocks(env: jinja2.Environment, path: Path) -> list[tuple[int, str, str]]:
    """(line, frame title, frame label) of every answer() call block, in template order."""
    source = path.read_text(encoding="utf-8")
    tree = env.parse(source, name=path.name, filename=str(path))
    titles, labels = frame_titles(source), frame_labels(source)
    return [(b.call.lineno, frame_at(titles, b.call.lineno), frame_at(labels, b.call.lineno))
            for b in tree.find_all(nodes.CallBlock)
            if isinstance(b.call.node, nodes.Name) and b.call.node.name == "answer"]


def _is_minutes(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# --- rendering --------------------------------------------------------------------------------


class PartRenderer:
    """Renders one part's template; the helpers read claim files written by the claims task."""

    def __init__(self, part: str, claims_dir: Path, listings_rel: str = "listings"):
        self.part = part
        self.claims_dir = claims_dir
        self.listings_rel = listings_rel
        self.counts: dict[str, int] = {}  # calls per claim, slides and notes together (the call sites)
        self.shown: dict[str, int] = {}   # per claim: uses on slides ("1", "2", ...) and in notes ("note1", ...)
        self.targets: list[dict] = []
        self.in_note = False  # claims inside a note() block are shown in the notes, not on the slide
        self.in_answer = None  # inside an answer() block: its marker; its claims are the frame's answer
        self.answers = 0

    def claim(self, claim_id: str) -> Rendered:
        path = self.claims_dir / f"{claim_id}.json"
        if not path.exists():
            raise RenderError(f"unknown claim {claim_id!r} (no claims.py declares it)")
        record = json.loads(path.read_text(encoding="utf-8"))
        n = self.counts[claim_id] = self.counts.get(claim_id, 0) + 1
        # a note's uses are numbered apart, so a slide's targets do not move when a note is written
        where = f"note:{claim_id}" if self.in_note else claim_id
        k = self.shown[where] = self.shown.get(where, 0) + 1
        target = f"{self.part}:{claim_id}:{'note' if self.in_note else ''}{k}"
        self.targets.append({"claim": claim_id, "target": target, "text": record["text"], "call": n}
                            | ({"note": True} if self.in_note else {})
                            | ({"answer": True, "reveal": self.in_answer} if self.in_answer else {}))
        return Rendered(f"\\claim{{{target}}}{{{record['latex']}}}")

    def listing(self, name: str, code: bool = True, output: bool = True) -> Rendered:
        """The listing's code and what it printed.  output=false: the code alone (an exercise states its
        task); code=false: what it printed alone (the solution frame after that exercise)."""
        base = f"{self.listings_rel}/{self.part}/{name}"
        if not (code or output):
            raise RenderError(f"listing({name!r}) with neither code nor output shows nothing")
        if not output:
            return Rendered(f"\\mlslistingonly{{{base}.py}}")
        if not code:
            return Rendered(f"\\mlslistingoutput{{{base}.out}}")
        return Rendered(f"\\mlslisting{{{base}.py}}{{{base}.out}}")

    def equation(self, name: str) -> Rendered:
        from mlsysim.core import derivations

        derivations.modules()
        if name not in derivations.FORMULAS:
            raise RenderError(f"unknown equation {name!r} (not in mlsysim.core.derivations.FORMULAS)")
        return Rendered(derivations.latex_of(name))

    def note(self, minutes=None, flex=False, caller=None) -> Rendered:
        """The speaker note of the frame it closes: ``\\note{}`` headed by its timing and FLEX tag."""
        if caller is None:
            raise RenderError("note() is a call block: \\BLOCK{call note(minutes=3)} ... \\BLOCK{endcall}")
        if not _is_minutes(minutes) or not isinstance(flex, bool):
            raise RenderError(f"note(minutes={minutes!r}, flex={flex!r}): minutes is a whole number of "
                              f"minutes, flex true or false")
        self.in_note = True
        try:
            body = str(caller()).strip()
        finally:
            self.in_note = False
        tag = "\\mlsflex" if flex else "\\mlscore"
        return Rendered(f"\\note{{\\mlsnotehead{{{minutes}}}{{{tag}}}{body}}}\n")

    def answer(self, step=2, caller=None) -> Rendered:
        """A frame's answer, shown from overlay `step` on (``\\BLOCK{call answer()} ... \\BLOCK{endcall}``).

        The first overlay carries a marker (``<part>:answer:<k>``) so the PDF check can find the page
        that poses the question; the exercise sheet leaves the answer out (see the theme's mlsanswer)."""
        if caller is None:
            raise RenderError("answer() is a call block: \\BLOCK{call answer()} ... \\BLOCK{endcall}")
        if not isinstance(step, int) or isinstance(step, bool) or step < 2:
            raise RenderError(f"answer(step={step!r}): the answer shows from overlay 2 or later")
        self.answers += 1
        marker = f"{self.part}:answer:{self.answers}"
        self.in_answer = marker
        try:
            body = str(caller()).strip("\n")
        finally:
            self.in_answer = None
        return Rendered(f"\\mlsquestionmark{{{marker}}}%\n\\begin{{mlsanswer}}[{step}-]\n{body}\n\\end{{mlsanswer}}\n")

    def globals(self) -> dict:
        return {"claim": self.claim, "listing": self.listing, "equation": self.equation, "note": self.note,
                "answer": self.answer}


def _template_line(err: BaseException) -> tuple[str, int] | None:
    """The last template frame of a traceback: Jinja maps its frames to template file and line."""
    found = None
    tb = err.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def render_template(env: jinja2.Environment, path: Path, context: dict) -> str:
    """Render `path` (relative to a loader root) or raise RenderError naming file and line."""
    try:
        template = env.get_template(context.pop("_template_name"))
        return template.render(**context)
    except jinja2.TemplateSyntaxError as err:
        raise RenderError(f"{err.filename or path}:{err.lineno}: {err.message}") from None
    except Exception as err:  # noqa: BLE001 - every template error gets file:line
        where = _template_line(err)
        place = f"{where[0]}:{where[1]}" if where else str(path)
        message = err.message if isinstance(err, jinja2.TemplateError) and err.message else str(err)
        if isinstance(err, RenderError):
            message = str(err)
        raise RenderError(f"{place}: {message}") from None


def render_part(part_dir: Path, slides_root: Path, templates_dir: Path, claims_dir: Path,
                out_tex: Path, out_uses: Path) -> None:
    """Render slides/<part>/slides.tex.j2 into build/slides/<part>.tex, with its uses file."""
    from .lint import lint_file

    template = part_dir / "slides.tex.j2"
    problems = lint_file(template)
    if problems:
        raise RenderError("\n".join(problems))
    env = environment([slides_root, templates_dir])
    uses = analyse(env, template)
    label_lines = frame_labels(template.read_text(encoding="utf-8"))
    renderer = PartRenderer(part_dir.name, claims_dir)
    env.globals.update(renderer.globals())
    import tomllib

    meta = tomllib.loads((part_dir / "part.toml").read_text(encoding="utf-8"))
    text = render_template(env, template, {"_template_name": f"{part_dir.name}/slides.tex.j2", "part": meta})
    by_claim: dict[str, list[Use]] = {}
    for use in uses:
        if use.helper == "claim":
            by_claim.setdefault(use.name, []).append(use)
    records = []
    for t in renderer.targets:
        places = by_claim.get(t["claim"], [])
        call = t.pop("call")
        if len(places) == renderer.counts[t["claim"]]:  # one use per call site: the n-th call is this one
            places = [places[call - 1]]
        labels = sorted({frame_at(label_lines, u.line) for u in places} - {""})
        if any(label.startswith(SOLUTION_KIND) for label in labels):
            t = t | {"answer": True}  # a solution frame is an answer as a whole
        records.append(t | {"template": template.relative_to(slides_root.parent).as_posix(), "lines": [u.line for u in places],
                            "frames": sorted({u.frame for u in places})}
                       | ({"labels": labels} if labels else {}))
    blocks = answer_blocks(env, template)
    if len(blocks) != renderer.answers:
        raise RenderError(f"{template}: answer() blocks ran {renderer.answers} times but the template has "
                          f"{len(blocks)}: keep answer() out of loops and macros, one block per reveal")
    reveals = [{"marker": f"{part_dir.name}:answer:{k}", "line": line, "frame": frame, "label": label}
               for k, (line, frame, label) in enumerate(blocks, start=1)]
    write_text_atomic(out_tex, text)
    write_text_atomic(out_uses, json.dumps({"part": part_dir.name, "uses": records, "reveals": reveals}, indent=1,
                                           ensure_ascii=False) + "\n")
