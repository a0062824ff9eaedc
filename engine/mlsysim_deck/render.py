"""Rendering the deck: Jinja2 templates of LaTeX whose numbers can only come from claims.

Delimiters that cannot clash with LaTeX or code: ``\\VAR{...}`` prints, ``\\BLOCK{...}`` runs a
statement, ``\\#{...}`` is a comment.  Undefined names are errors (StrictUndefined), and every
printed value passes `finalize`, which refuses raw numbers and quantities: a number reaches a slide
only as ``\\VAR{claim("id")}``, which prints ``\\claim{<target>}{<text>}``; the named destination
<target> lets the PDF check find the page the number landed on.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import jinja2.ext
from jinja2 import nodes
from jinja2.lexer import Token
from markupsafe import Markup

from mlsysim.units import keep_newest

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


# --- where each generated line came from ----------------------------------------------------
#
# Every piece of literal template text is prefixed with an invisible mark naming its template and
# line (and so is every line that starts inside it).  After rendering, the marks are taken out and
# give, for each line of the generated .tex, the template line that wrote it: a LaTeX error in
# build/slides/01_roofline.tex:190 is then reported at slides/01_roofline/slides.tex.j2:191.

MARK_START, MARK_SEP, MARK_END = "\x01", "\x1f", "\x02"
MARKS = re.compile("\x01([^\x1f\x02]*)\x1f(\\d+)\x02")


class LineMarks(jinja2.ext.Extension):
    """Marks each line of literal template text with its template name and line number."""

    def filter_stream(self, stream):
        name = stream.name or stream.filename or "?"
        for token in stream:
            if token.type != "data":
                yield token
                continue
            pieces = token.value.split("\n")
            marked = [f"{MARK_START}{name}{MARK_SEP}{token.lineno + i}{MARK_END}{piece}"
                      for i, piece in enumerate(pieces)]
            yield Token(token.lineno, "data", "\n".join(marked))


def take_marks(text: str) -> tuple[str, list[tuple[str, int] | None]]:
    """(text without marks, for each of its lines the (template name, line) that wrote it)."""
    lines, origins = [], []
    current = None
    for raw in text.split("\n"):
        leading = re.match(f"(?:{MARKS.pattern})+", raw)
        if leading:
            last = list(MARKS.finditer(leading.group(0)))[-1]
            current = (last.group(1), int(last.group(2)))
        origins.append(current)
        found = list(MARKS.finditer(raw))
        if found:
            current = (found[-1].group(1), int(found[-1].group(2)))
        lines.append(MARKS.sub("", raw))
    return "\n".join(lines), origins


def environment(search_path: list[Path]) -> jinja2.Environment:
    return jinja2.Environment(
        bytecode_cache=compiled_templates(),
        extensions=[LineMarks],
        loader=jinja2.FileSystemLoader([str(p) for p in search_path]),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_statement_prefix=None, line_comment_prefix=None,
        trim_blocks=True, lstrip_blocks=True, autoescape=False, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, finalize=_finalize,
    )


def compiled_templates() -> jinja2.BytecodeCache | None:
    """Templates compiled to Python once, kept in the user's cache folder (~/.cache/mlsysim, never the
    source tree): a spec edit re-renders five parts without compiling them again (0.1 s each).  Jinja
    keys each on its file and source; the folder's name carries this file's own bytes (LineMarks and
    the delimiters above are compiled in) and Jinja's version.  None when the cache is off.  The
    cache folder is looked up on every call, as every other cache's is (MLSYSIM_CACHE may change)."""
    from mlsysim.units import cache_root

    root = cache_root()
    return None if root is None else _compiled_templates(str(root))


@functools.cache
def _compiled_templates(root: str) -> jinja2.BytecodeCache | None:
    key = hashlib.sha256(Path(__file__).read_bytes() + jinja2.__version__.encode()).hexdigest()[:16]
    folder = Path(root) / f"jinja-{key}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        keep_newest(folder.iterdir(), KEPT_TEMPLATES)
    except OSError:
        return None  # a read-only home: templates compile on every run, which is only slower
    return jinja2.FileSystemBytecodeCache(str(folder))


#: Compiled templates kept: a repository has about ten, and each copy of it (the tests make dozens)
#: compiles its own, so the oldest go.
KEPT_TEMPLATES = 200


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


def frame_label(options: str | None) -> str:
    """The label= of a frame's options ("t,label=predict-vendors" -> "predict-vendors"); "" if none."""
    label = re.search(r"(?:^|,)\s*label\s*=\s*([^,\s]+)", options or "")
    return label.group(1) if label else ""


def frame_labels(source: str) -> list[tuple[int, str]]:
    """(line, label) of every frame opened in the template source; "" for a frame without label=."""
    return [(source.count("\n", 0, m.start()) + 1, frame_label(m.group("options")))
            for m in FRAME_TITLE.finditer(source)]


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


HELPERS = ("claim", "listing", "equation", "count")


def comparisons() -> dict[str, list[str]]:
    """comparison -> the hardware.toml names it shows (the spec files the engine reads)."""
    from mlsysim.spec import spec_dir

    from .workload import comparison_keys

    return comparison_keys(spec_dir())


def _literal(node) -> str | None:
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


def _comparison_loops(tree, path: Path, compared: dict[str, list[str]]) -> dict[int, list[str]]:
    """id(claim call) -> accelerator names, for each claim("hw.*.peak", hw) inside
    \\BLOCK{for hw in accelerators("lineup")}: the claims such a loop reads, known before it runs."""
    found: dict[int, list[str]] = {}
    for loop in tree.find_all(nodes.For):
        it = loop.iter
        if not (isinstance(it, nodes.Call) and isinstance(it.node, nodes.Name) and it.node.name == "accelerators"):
            continue
        name = _literal(it.args[0]) if it.args else None
        if name not in compared:
            raise RenderError(f"{shown_path(path)}:{loop.lineno}: accelerators() takes one of the deck's comparisons "
                              f"({', '.join(compared)}), as a literal, such as accelerators(\"lineup\")")
        if not isinstance(loop.target, nodes.Name):
            continue
        for call in loop.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "claim" and len(call.args) == 2 \
                    and isinstance(call.args[1], nodes.Name) and call.args[1].name == loop.target.name:
                found[id(call)] = compared[name]
    return found


def _errata_loops(tree, errata: list[str]) -> dict[int, list[str]]:
    """id(claim call) -> the errata's claim ids, for each claim("*", e.claim) inside
    \\BLOCK{for rows in errata_pages()}: the errata table prints every erratum's claim."""
    found: dict[int, list[str]] = {}
    for loop in tree.find_all(nodes.For):
        it = loop.iter
        if not (isinstance(it, nodes.Call) and isinstance(it.node, nodes.Name) and it.node.name == "errata_pages"):
            continue
        for call in loop.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "claim" and len(call.args) == 2 \
                    and _literal(call.args[0]) == "*" and isinstance(call.args[1], nodes.Getattr) \
                    and call.args[1].attr == "claim":
                found[id(call)] = list(errata)
    return found


def parsed(env: jinja2.Environment, path: Path, source: str) -> nodes.Template:
    """The template's syntax tree, parsed once per environment and source (the analyses only read it).

    A syntax error is a RenderError at the author's line: every task that reads a part's template
    (the part, the errata table, the schedule) reports it in the same words, whichever fails first."""
    trees = env.__dict__.setdefault("_mlsysim_trees", {})
    key = (str(path), source)
    if key not in trees:
        try:
            trees[key] = env.parse(source, name=path.name, filename=str(path))
        except jinja2.TemplateSyntaxError as err:
            raise RenderError(syntax_error(env, err, path)) from None
    return trees[key]


def analyse(env: jinja2.Environment, path: Path, compared: dict[str, list[str]] | None = None,
            errata: list[str] | None = None) -> list[Use]:
    """Every helper call of a template, with line and frame; non-literal arguments are errors.

    ``claim("hw.*.peak", hw)`` inside ``\\BLOCK{for hw in accelerators("lineup")}`` uses one claim per
    accelerator of the comparison ("hw.H100.peak", ...), read from specs/hardware.toml;
    ``claim("*", e.claim)`` inside ``\\BLOCK{for rows in errata_pages()}`` one per erratum (`errata`,
    the claim ids of build/claims/errata.json; none before the claims are evaluated)."""
    source = path.read_text(encoding="utf-8")
    tree = parsed(env, path, source)
    titles = frame_titles(source)
    loops = _comparison_loops(tree, path, comparisons() if compared is None else compared)
    loops |= _errata_loops(tree, errata or [])
    uses = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in HELPERS:
            name = _literal(call.args[0]) if call.args else None
            if name is None:
                raise RenderError(f"{shown_path(path)}:{call.lineno}: {call.node.name}() needs a literal name, such as "
                                  f"{call.node.name}(\"ridge.H100\"), so the build can see what the slide "
                                  f"depends on")
            frame = frame_at(titles, call.lineno)
            if call.node.name == "claim" and len(call.args) == 2:
                if id(call) not in loops or name.count("*") != 1:
                    raise RenderError(f"{shown_path(path)}:{call.lineno}: claim(\"{name}\", ...) with an accelerator works only "
                                      f"as claim(\"hw.*.peak\", hw) inside \\BLOCK{{for hw in accelerators(\"lineup\")}} "
                                      f"(or claim(\"*\", e.claim) inside \\BLOCK{{for rows in errata_pages()}})")
                uses += [Use("claim", name.replace("*", key), call.lineno, frame) for key in loops[id(call)]]
                continue
            uses.append(Use(call.node.name, name, call.lineno, frame))
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
    tree = parsed(env, path, source)
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
    tree = parsed(env, path, source)
    titles, labels = frame_titles(source), frame_labels(source)
    return [(b.call.lineno, frame_at(titles, b.call.lineno), frame_at(labels, b.call.lineno))
            for b in tree.find_all(nodes.CallBlock)
            if isinstance(b.call.node, nodes.Name) and b.call.node.name == "answer"]


def _is_minutes(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# --- rendering --------------------------------------------------------------------------------


def unknown_claim(claim_id: str, claims_dir: Path) -> str:
    """"unknown claim 'ridge.H20': did you mean 'ridge.H200' or 'ridge.H100'?" (ids from the index)."""
    import difflib

    index = Path(claims_dir) / "index.json"
    known = json.loads(index.read_text(encoding="utf-8")) if index.exists() else []
    close = difflib.get_close_matches(claim_id, known, n=3, cutoff=0.6)
    hint = f": did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown claim {claim_id!r}{hint} (no slides/<part>/claims.py declares it)"


class PartRenderer:
    """Renders one part's template; the helpers read claim files written by the claims task."""

    def __init__(self, part: str, claims_dir: Path, listings_rel: str = "listings", equations: Path | None = None):
        self.part = part
        self.claims_dir = claims_dir
        # the slides' equations, proved and printed once by the equations task (mlsysim_deck.equations)
        self.equations_file = Path(equations) if equations else Path(claims_dir).parent / "equations.json"
        self._equations: dict[str, str] | None = None
        self.listings_rel = listings_rel
        self.counts: dict[str, int] = {}  # calls per claim, slides and notes together (the call sites)
        self.shown: dict[str, int] = {}   # per claim: uses on slides ("1", "2", ...) and in notes ("note1", ...)
        self.targets: list[dict] = []
        self.in_note = False  # claims inside a note() block are shown in the notes, not on the slide
        self.in_answer = None  # inside an answer() block: its marker; its claims are the frame's answer
        self.answers = 0
        self.slides_root: Path | None = None  # for errata_pages(): where the other parts' templates are
        self.templates_dir: Path | None = None
        self.env: jinja2.Environment | None = None

    def claim(self, claim_id: str, accelerator: str | None = None) -> Rendered:
        if accelerator is not None:  # claim("hw.*.peak", hw) in a loop over accelerators("lineup")
            claim_id = claim_id.replace("*", accelerator)
        path = self.claims_dir / f"{claim_id}.json"
        if not path.exists():
            raise RenderError(unknown_claim(claim_id, self.claims_dir))
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

    def count(self, claim_id: str) -> int:
        """A whole-number claim's value, for a template loop: \\BLOCK{for g in range(count("dist.node_gpus"))}
        draws as many GPUs as the claim says.  It is never printed (a raw number is refused)."""
        path = self.claims_dir / f"{claim_id}.json"
        if not path.exists():
            raise RenderError(f"unknown claim {claim_id!r} (no claims.py declares it)")
        value = json.loads(path.read_text(encoding="utf-8"))["value"]
        if not isinstance(value, (int, float)) or value != int(value) or value < 0:
            raise RenderError(f"count({claim_id!r}) needs a claim whose value is a whole number, got {value!r}")
        return int(value)

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
        """The equation of formula `name` as the slide shows it (its teaching form, mlsysim/core/teaching.py),
        read from build/equations.json: rendering never runs sympy."""
        import difflib

        from .equations import read_equations

        if self._equations is None:
            if not self.equations_file.exists():
                raise RenderError(f"{shown_path(self.equations_file)} is missing: the equations task writes it "
                                  f"(doit equations)")
            self._equations = read_equations(self.equations_file)
        if name not in self._equations:
            close = difflib.get_close_matches(name, self._equations, n=3, cutoff=0.6)
            hint = f": did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise RenderError(f"unknown equation {name!r}{hint} (no derivation in mlsysim/core defines it)")
        return Rendered(self._equations[name])

    def accelerators(self, comparison: str) -> list[str]:
        """The hardware.toml names a comparison shows, in file order (loop over them in a table)."""
        compared = comparisons()
        if comparison not in compared:
            raise RenderError(f"unknown comparison {comparison!r}; the deck's comparisons: {', '.join(compared)}")
        return compared[comparison]

    def count_word(self, comparison: str) -> Rendered:
        """How many accelerators a comparison shows, as the slide writes it ("five"): a title that
        counts the line-up follows hardware.toml."""
        from .workload import number_word

        return Rendered(number_word(len(self.accelerators(comparison))))

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

    def errata_pages(self) -> list[list]:
        """The errata table's rows (build/claims/errata.json), in the order the deck shows their
        claims, cut into frames of a fixed number of rows: \\BLOCK{for rows in errata_pages()} makes
        one frame per page, \\BLOCK{for e in rows} one row, \\VAR{claim("*", e.claim)} its claim."""
        from .errata import ROWS_PER_FRAME, PLACEHOLDER, Row, read_errata

        from .build import errata_slide_uses, parts

        if self.slides_root is None:
            raise RenderError("errata_pages() needs the slides folder (render_part sets it)")
        shown = errata_slide_uses(self.slides_root, self.templates_dir)
        part_titles, in_parts = {}, {}  # a title several parts use ("Key Question") is named with its part
        for meta in parts(self.slides_root):
            part_titles[meta["dir"]] = meta["title"]
            template = Path(self.slides_root) / meta["dir"] / "slides.tex.j2"
            for _, title in frame_titles(template.read_text(encoding="utf-8")) if template.exists() else []:
                in_parts.setdefault(title, set()).add(meta["dir"])
        rows = []
        for e in read_errata(self.claims_dir):
            places = shown.get(e["claim"])
            if not places:
                raise RenderError(f"claim {e['claim']!r} carries an erratum, but no frame of the day's parts shows it "
                                  f"on a slide: show the claim, or drop its erratum")
            _, part, _, title = places[0]  # where the deck first shows it
            frame = Rendered(self._title(title) + (f" ({latex_escape(part_titles[part])})"
                                                   if len(in_parts.get(title, ())) > 1 else ""))
            pieces, at = [], 0
            for m in PLACEHOLDER.finditer(e["reason"]):
                pieces += [latex_escape(e["reason"][at:m.start()]), self.claim(m.group(1))]
                at = m.end()
            pieces.append(latex_escape(e["reason"][at:]))
            rows.append(Row(e["claim"], frame, e["reference"], Rendered("".join(pieces)), places[0][1],
                            places[0][0:3:2]))
        rows.sort(key=lambda r: r.order)
        return [rows[i:i + ROWS_PER_FRAME] for i in range(0, len(rows), ROWS_PER_FRAME)]

    def _title(self, title: str) -> str:
        """A frame title as the slide shows it: one written with claims or loops is rendered."""
        if "\\VAR{" not in title and "\\BLOCK{" not in title:
            return title
        return str(self.env.from_string(title).render())

    def globals(self) -> dict:
        return {"claim": self.claim, "listing": self.listing, "equation": self.equation, "count": self.count,
                "accelerators": self.accelerators, "count_word": self.count_word, "note": self.note,
                "answer": self.answer, "errata_pages": self.errata_pages}


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


def shown_path(path) -> str:
    """`path` relative to the working directory when it lies below it (messages read shorter)."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


# --- syntax errors, said where the author made them --------------------------------------------

BLOCK_TAGS = {"if", "for", "macro", "call", "filter", "block", "with", "autoescape", "raw", "set"}


def unclosed_delimiter(source: str) -> tuple[int, str] | None:
    r"""(line, message) of the first \VAR{ or \BLOCK{ whose `}` is missing from its line."""
    for number, line in enumerate(source.splitlines(), 1):
        for m in re.finditer(r"\\(VAR|BLOCK)\{", line):
            depth, quote, i = 1, None, m.end()
            while i < len(line) and depth:
                c = line[i]
                if quote:
                    quote = None if c == quote else quote
                elif c in "\"'":
                    quote = c
                elif c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                i += 1
            if depth:
                inner = line[m.end():]
                call = re.match(r"\s*[\w.]+\s*\((?:[^()\"']|\"[^\"]*\"|'[^']*')*\)", inner)
                hint = f" after `{call.group(0).strip()}`" if call else ""
                return number, (f"\\{m.group(1)}{{ is not closed on this line: add the `}}`{hint}")
    return None


def open_blocks(env: jinja2.Environment, source: str, upto: int | None = None) -> list[tuple[str, int]]:
    r"""The \BLOCK{...} statements still open (tag, line), innermost last, after line `upto`."""
    stack: list[tuple[str, int]] = []
    tokens = list(env.lex(source))
    for i, (line, kind, value) in enumerate(tokens):
        if upto is not None and line > upto:
            break
        if kind != "block_begin":
            continue
        name = next((v for _, k, v in tokens[i + 1:i + 3] if k == "name"), None)
        if name is None:
            continue
        if name == "set":  # `set x = ...` is a statement; `set x` ... `endset` is a block
            rest = []
            for _, k, v in tokens[i + 1:]:
                if k == "block_end":
                    break
                rest.append(v)
            if "=" in rest:
                continue
        if name in BLOCK_TAGS:
            stack.append((name, line))
        elif name.startswith("end") and name[3:] in BLOCK_TAGS:
            for j in range(len(stack) - 1, -1, -1):
                if stack[j][0] == name[3:]:
                    del stack[j:]
                    break
    return stack


def syntax_error(env: jinja2.Environment, err: jinja2.TemplateSyntaxError, path) -> str:
    """A Jinja syntax error at the line where the author went wrong, with the likely fix."""
    filename = err.filename or str(path)
    shown = shown_path(filename)
    try:
        source = Path(filename).read_text(encoding="utf-8")
    except OSError:
        return f"{shown}:{err.lineno}: {err.message}"
    unclosed = unclosed_delimiter(source)
    if unclosed and unclosed[0] <= (err.lineno or unclosed[0]):
        line, message = unclosed
        return f"{shown}:{line}: {message} (Jinja: {err.message})"
    message = err.message or ""
    if "Unexpected end of template" in message or "nesting mistake" in message:
        try:
            upto = None if "end of template" in message else err.lineno - 1
            still_open = open_blocks(env, source, upto)
        except jinja2.TemplateSyntaxError:
            still_open = []
        if still_open:
            tag, line = still_open[-1]
            where = "before the end of the file" if upto is None else f"before line {err.lineno}"
            return (f"{shown}:{line}: \\BLOCK{{{tag} ...}} is never closed: add \\BLOCK{{end{tag}}} {where} "
                    f"(Jinja: {message.split('. ')[0]})")
    return f"{shown}:{err.lineno}: {message}"


def line_map_path(tex: Path) -> Path:
    """build/slides/<part>.tex.map: line n names the template line that wrote line n of the .tex."""
    tex = Path(tex)
    return tex.with_name(tex.name + ".map")


def read_line_map(tex: Path) -> list[str]:
    path = line_map_path(tex)
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def render_template(env: jinja2.Environment, path: Path, context: dict) -> str:
    """Render `path` (relative to a loader root) or raise RenderError naming file and line."""
    return render_template_mapped(env, path, context)[0]


def render_template_mapped(env: jinja2.Environment, path: Path, context: dict) -> tuple[str, list[str]]:
    """(the rendered text, for each of its lines the template `file:line` that wrote it, or "")."""
    try:
        template = env.get_template(context.pop("_template_name"))
        marked = template.render(**context)
    except jinja2.TemplateSyntaxError as err:
        raise RenderError(syntax_error(env, err, path)) from None
    except Exception as err:  # noqa: BLE001 - every template error gets file:line
        where = _template_line(err)
        place = f"{shown_path(where[0])}:{where[1]}" if where else shown_path(path)
        message = err.message if isinstance(err, jinja2.TemplateError) and err.message else str(err)
        if isinstance(err, RenderError):
            message = str(err)
        raise RenderError(f"{place}: {message}") from None
    text, origins = take_marks(marked)
    files: dict[str, str] = {}
    for name in {o[0] for o in origins if o}:
        try:
            files[name] = shown_path(env.loader.get_source(env, name)[1])
        except jinja2.TemplateNotFound:
            files[name] = name
    return text, [f"{files[o[0]]}:{o[1]}" if o else "" for o in origins]


def render_part(part_dir: Path, slides_root: Path, templates_dir: Path, claims_dir: Path,
                out_tex: Path, out_uses: Path, equations: Path | None = None) -> None:
    """Render slides/<part>/slides.tex.j2 into build/slides/<part>.tex, with its uses file.

    `equations`: build/equations.json (default: beside `claims_dir`), the equations task's output."""
    from .lint import lint_file, printed_claims

    from .errata import read_errata

    from .build import answer_lines, template_calls

    template = part_dir / "slides.tex.j2"
    env = environment([slides_root, templates_dir])
    errata = [e["claim"] for e in read_errata(claims_dir)]
    uses = [Use(*call) for call in template_calls(template, [slides_root, templates_dir], errata)]  # a Jinja syntax error first: the lint cannot read a broken \VAR{
    problems = lint_file(template, printed_claims(claims_dir))
    if problems:
        raise RenderError("\nerror: ".join(problems))
    label_lines = frame_labels(template.read_text(encoding="utf-8"))
    renderer = PartRenderer(part_dir.name, claims_dir, equations=equations)
    renderer.slides_root, renderer.templates_dir, renderer.env = slides_root, templates_dir, env
    env.globals.update(renderer.globals())
    import tomllib

    meta = tomllib.loads((part_dir / "part.toml").read_text(encoding="utf-8"))
    text, origins = render_template_mapped(env, template, {"_template_name": f"{part_dir.name}/slides.tex.j2",
                                                           "part": meta})
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
    blocks = answer_lines(template, [slides_root, templates_dir])
    if len(blocks) != renderer.answers:
        raise RenderError(f"{template}: answer() blocks ran {renderer.answers} times but the template has "
                          f"{len(blocks)}: keep answer() out of loops and macros, one block per reveal")
    reveals = [{"marker": f"{part_dir.name}:answer:{k}", "line": line, "frame": frame, "label": label}
               for k, (line, frame, label) in enumerate(blocks, start=1)]
    write_text_atomic(out_tex, text)
    write_text_atomic(line_map_path(out_tex), "\n".join(origins) + "\n")
    write_text_atomic(out_uses, json.dumps({"part": part_dir.name, "uses": records, "reveals": reveals}, indent=1,
                                           ensure_ascii=False) + "\n")


# --- the sheets' view of a part ----------------------------------------------------------------


def sheet_kinds(material: str) -> tuple[str, ...]:
    """The frame-label prefixes a sheet keeps: the exercise sheet its setup, predictions, quizzes and
    exercises; the answer key those and the solutions."""
    return SHEET_KINDS + ((SOLUTION_KIND,) if material == "solutions" else ())


def sheet_view(tex: str, kinds: tuple[str, ...]) -> str:
    """A rendered part as a sheet sees it: every frame whose label does not start with one of `kinds`
    becomes the frame number it would take (`\\stepcounter{framenumber}`), its other lines blank.

    Beamer typesets a frame that \\includeonlyframes leaves out once, into a box it throws away: the
    sheets paid for every frame of the deck.  This view keeps their frame numbers (the deck's) and
    their line numbers (so the part's line map still names the template line of a LaTeX error)."""
    lines = tex.split("\n")
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if "\\begin{frame}" not in line.split("%")[0]:
            out.append(line)
            i += 1
            continue
        end = next(j for j in range(i, len(lines)) if "\\end{frame}" in lines[j].split("%")[0])
        # the frame's options, however many lines they take, read as the frame labels are
        options = FRAME_TITLE.search("\n".join(lines[i:end + 1])).group("options") or ""
        label = frame_label(options)
        if label and label.startswith(kinds):
            out.extend(lines[i:end + 1])
        else:
            numbered = "noframenumbering" not in options
            out.append("\\stepcounter{framenumber}% a frame this sheet leaves out" if numbered else "")
            out.extend([""] * (end - i))
        i = end + 1
    return "\n".join(out)


def write_sheet_views(out_tex: Path, sheets: tuple[str, ...]) -> None:
    """build/slides/<part>.<sheet>.tex (and its line map) for each sheet, from build/slides/<part>.tex."""
    out_tex = Path(out_tex)
    text = out_tex.read_text(encoding="utf-8")
    line_map = line_map_path(out_tex).read_text(encoding="utf-8")
    for sheet in sheets:
        view = out_tex.with_name(f"{out_tex.stem}.{sheet}.tex")
        write_text_atomic(view, sheet_view(text, sheet_kinds(sheet)))
        write_text_atomic(line_map_path(view), line_map)
