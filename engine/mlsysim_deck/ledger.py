"""The claims ledger: build/ledger.html, an index of every number of the deck, and one small page
per claim, build/ledger/<claim id>.html, so that reading one claim never loads them all.

The index lists each claim (id, what the slide prints, its part) with an anchor per claim
(ledger.html#ridge.H100) linking to its page.  A claim's page shows its computation: the final
formula, symbolic and then with the values substituted, and the intermediate formulas it called,
each with its inputs and result (rendered from the sympy expressions as MathML, label beside its
formula); the spec values it read with their sources and file:line; where it was declared; and
the slides and PDF pages that show it (linked to build/deck.pdf#page=N).  Every page is static
and self-contained (no network, inline CSS; the index has a few lines of script for its filter
box) and deterministic: the same build gives the same bytes.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

from .atomic import write_text_atomic

# --- formulas as MathML ------------------------------------------------------------------------

_GREEK = {r"\eta": "\u03b7", r"\ell": "\u2113", r"\infty": "\u221e", r"\max": "max", r"\min": "min"}


def plain_name(latex: str) -> str:
    """A slide symbol's LaTeX as a sympy symbol name: \\eta_{\\text{BW}} -> η_BW, P_{\\text{mm}} -> P_mm."""
    text = re.sub(r"\\text\{([^{}]*)\}", r"\1", latex)
    for macro, letter in _GREEK.items():
        text = text.replace(macro, letter)
    return text.replace("{", "").replace("}", "").replace(" ", "")


def _printer():
    from sympy.printing.mathml import MathMLPresentationPrinter

    return MathMLPresentationPrinter({"mul_symbol": "dot"})


def _math(body: str) -> str:
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">{body}</math>'


#: A formula's argument in its printed call: its index between two private-use characters (U+E000,
#: which sympy's printer writes as a character reference).  The ledger puts each call's value there.
SLOT = re.compile(r"<mi>&#57344;(\d+)&#57344;</mi>")


def formula_record(name: str) -> dict:
    """What the ledger shows of formula `name`, worked out once by the `equations` task (sympy):
    the MathML and LaTeX of `lhs = expr`, and the MathML of `lhs` and of `expr` with a slot for each
    argument (`SLOT`), to put a call's values into.  The ledger reads these from build/equations.json
    and imports no sympy."""
    import sympy as sp
    from sympy.printing.mathml import MathMLPresentationPrinter

    from mlsysim.core import derivations, generate

    generate.modules()
    f = derivations.FORMULAS[name]
    names = {s: sp.Symbol(plain_name(derivations.latex_symbol(s)), positive=True)
             for s in f.expr.free_symbols if s in derivations._LATEX}
    expr = f.expr.xreplace(names)
    body = _printer().doprint(sp.Eq(sp.Symbol(plain_name(f.lhs)), expr, evaluate=False))
    slots = {names.get(arg, arg): i for i, arg in enumerate(f.args)}  # in the order the formula shows

    class Slots(MathMLPresentationPrinter):
        """Prints each argument as its slot, so a call's terms stand in the order of the formula's."""

        def _print_Symbol(self, sym, style="plain"):
            if sym not in slots:
                return super()._print_Symbol(sym, style)
            slot = self.dom.createElement("mi")
            slot.appendChild(self.dom.createTextNode(f"\ue000{slots[sym]}\ue000"))
            return slot

    call = Slots({"mul_symbol": "dot"}).doprint(expr)
    return {"mathml": _math(body), "latex": derivations.latex_of(name),
            "lhs": _printer().doprint(sp.Symbol(plain_name(f.lhs))), "call": call}


def number_name(value) -> str:
    """A value as the ledger prints it: 989.4e12 -> 9.894·10^14 (4 digits), 16384 -> 16384."""
    if isinstance(value, str):
        return value.replace(" ", "\u00a0")
    if isinstance(value, int) and abs(value) < 10**6:
        return str(value)
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}\u00b710^{int(exponent)}"
    return text


def number_mathml(value) -> str:
    """A value as MathML: 989.4e12 -> 9.894·10 with the exponent 14 raised; text as written."""
    def text(s: str) -> str:  # as sympy's printer writes text: markup and non-ASCII as references
        return "".join(c if c.isascii() else f"&#{ord(c)};" for c in html.escape(s, quote=False))

    name = number_name(value)
    if not isinstance(value, str) and "^" in name:
        mantissa, exponent = name.split("^")
        return f"<msup><mi>{text(mantissa)}</mi><mi>{text(exponent)}</mi></msup>"
    return f"<mi>{text(name)}</mi>"


def substituted_mathml(record: dict, args: list, result) -> str:
    """MathML of `lhs = expr with the values put in = result` for one call of a formula (its record)."""
    body = SLOT.sub(lambda m: number_mathml(args[int(m.group(1))]), record["call"])
    return _math(f"<mrow>{record['lhs']}<mo>=</mo>{body}<mo>=</mo>{number_mathml(result)}</mrow>")


# --- the page ----------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:70em;color:#222;
padding:0 1em}
h1{color:#a51c30;margin-bottom:.2em} .sub{color:#666;margin-top:0} h2{font-size:1.05em;margin:1.2em 0 .3em}
input{font-size:1em;padding:.3em;width:24em;margin:.5em 0 1em}
.text{font-size:1.3em;font-weight:600} .value{color:#555;font-family:monospace;margin-left:1em}
.kind{color:#888;font-size:.85em;margin-left:1em}
table{border-collapse:collapse;margin:.3em 0 .3em 1em;font-size:.9em}
td,th{padding:.2em .6em;text-align:left;vertical-align:middle} th{color:#666;font-weight:normal}
td.key,.mono{font-family:monospace;white-space:nowrap} .src{color:#555}
table.steps td{border-top:1px solid #eee} .final td{background:#fdf3f4}
.none{color:#999;margin-left:1em;font-size:.9em} .note{margin:.2em 0 .2em 1em;color:#444}
tr:target{background:#fff3c4} .index td{padding:.1em .6em}
pre{background:#f6f6f6;padding:.5em;margin:.3em 0 .3em 1em;font-size:.85em;overflow-x:auto}
""".strip()

SCRIPT = """
function filterClaims(q){q=q.toLowerCase();for(const r of document.querySelectorAll('tr.claim')){
r.style.display=r.textContent.toLowerCase().includes(q)?'':'none';}}
""".strip()


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _value(record: dict) -> str:
    value = record["value"]
    if isinstance(value, float):
        unit = f" {record['unit']}" if record.get("unit") else ""
        return f"{value:.10g}{unit}"
    return str(value)


def spec_values(spec_dir: Path) -> dict[str, dict]:
    """key -> {written, source, where} for every spec value (as the file writes it)."""
    import tomllib

    from mlsysim.spec import _line_numbers

    found = {}
    for path in sorted(Path(spec_dir).glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        lines = _line_numbers(text)
        for table, body in tomllib.loads(text).items():
            if not isinstance(body, dict):
                continue
            for name, raw in body.items():
                if isinstance(raw, dict):
                    written = f"{raw.get('value')} {raw.get('unit', '')}".strip()
                    source = raw.get("source", "")
                else:
                    written, source = json.dumps(raw, ensure_ascii=False), ""
                found[f"{path.stem}.{table}.{name}"] = {
                    "written": written, "source": source,
                    "where": f"engine/mlsysim/specs/{path.name}:{lines.get((table, name), 1)}"}
    return found


def _head(title: str, script: bool = False) -> list[str]:
    return ['<!DOCTYPE html>', '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">', "<head>",
            '<meta charset="utf-8"/>', f"<title>{_e(title)}</title>", f"<style>{CSS}</style>"] \
        + ([f"<script>{SCRIPT}</script>"] if script else []) + ["</head>", "<body>"]


class Formulas:
    """MathML of formulas (from build/equations.json) and of their calls with values, each printed once."""

    def __init__(self, records: dict[str, dict]):
        self.records = records
        self.calls: dict[tuple, str] = {}

    def of(self, name: str) -> tuple[str, str]:
        record = self.records.get(name)
        return (record["mathml"], record["latex"]) if record else ("", "")

    def call(self, step: dict) -> str:
        args = list(step["args"].values())
        key = (step["formula"], json.dumps(args), json.dumps(step["result"]))
        if key not in self.calls:
            try:
                self.calls[key] = substituted_mathml(self.records[step["formula"]], args, step["result"])
            except (KeyError, IndexError, TypeError, ValueError):
                self.calls[key] = ""
        return self.calls[key]


def _is_final(step: dict, record: dict) -> bool:
    """Whether the claim's value is this formula's result (up to a unit prefix or a percentage)."""
    import math

    a, b = step.get("result"), record.get("value")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)) or not a or not b:
        return False
    ratio = math.log10(abs(b / a))
    return abs(ratio - round(ratio)) < 1e-9 and (a > 0) == (b > 0)


#: Each claims file read once: its lines and every statement's (length, first line, last line), a
#: decorated function from its decorator.
_SOURCES: dict[Path, tuple[list[str], list[tuple[int, int, int]]]] = {}


def claim_source(declared_at: str, root: Path | None) -> str:
    """The source of the statement that declares a claim (`claims.py:LINE`), at most 15 lines."""
    import ast

    if root is None or ":" not in declared_at:
        return ""
    name, _, line = declared_at.rpartition(":")
    path = (root / name).resolve()
    if not line.isdigit() or not path.exists():
        return ""
    if path not in _SOURCES:
        text = path.read_text(encoding="utf-8")
        spans = []
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.stmt):
                start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
                spans.append((node.end_lineno - start, start, node.end_lineno))
        _SOURCES[path] = (text.splitlines(), spans)
    lines, statements = _SOURCES[path]
    number = int(line)
    # the innermost statement on that line
    spans = [span for span in statements if span[1] <= number <= span[2]]
    if not spans:
        return lines[number - 1].strip() if 0 < number <= len(lines) else ""
    _, start, end = min(spans)
    shown = lines[start - 1:end]
    indent = min(len(s) - len(s.lstrip()) for s in shown if s.strip())
    shown = [s[indent:] for s in shown]
    return "\n".join(shown[:15] + (["..."] if len(shown) > 15 else []))


def claim_page(record: dict, pages: dict[str, int], specs: dict[str, dict], formulas: Formulas,
               pdf_href: str, index_href: str, root: Path | None = None, by_id: dict[str, dict] | None = None) -> str:
    """One claim's page: value, computation (final formula, then the intermediate ones), inputs, slides."""
    from .pages import frame_title

    cid = record["id"]
    out = _head(f"{cid}: claims ledger")
    out.append(f'<p class="sub"><a href="{_e(index_href)}#{_e(cid)}">\u2190 all claims</a></p>')
    out.append(f'<h1 class="mono">{_e(cid)}</h1>')
    out.append(f'<div><span class="text">{_e(record["text"])}</span>'
               f'<span class="value">{_e(_value(record))}</span>'
               f'<span class="kind">{_e(record["kind"])}, declared at {_e(record.get("declared_at", ""))}</span></div>')
    if record.get("note"):
        out.append(f'<div class="note">{_e(record["note"].strip())}</div>')
    if record.get("erratum"):
        erratum = record["erratum"]
        out.append('<h2 id="erratum">Erratum: where the reference deck prints another value</h2>')
        out.append(f'<table><tr><th>the reference deck prints</th><td>{_e(erratum["reference"])}</td></tr>'
                   f'<tr><th>this deck prints</th><td>{_e(record["text"])}</td></tr>'
                   f'<tr><th>why</th><td>{_e(reason_text(erratum["reason"], by_id or {}))}</td></tr></table>')
    steps = [s for s in record.get("steps", []) if formulas.of(s["formula"])[0]]
    out.append("<h2>How it is computed</h2>")
    code = claim_source(record.get("declared_at", ""), root)
    if code:
        out.append(f'<div class="note">The claim, as declared at <span class="mono">'
                   f'{_e(record.get("declared_at", ""))}</span>:</div><pre>{_e(code)}</pre>')
    if steps:
        last = steps[-1]
        is_value = _is_final(last, record)
        out.append('<table class="steps"><tr><th>formula</th><th>as derived</th><th>with the values</th></tr>')
        for step in reversed(steps):
            mathml, latex = formulas.of(step["formula"])
            first = step is last
            cls = ' class="final"' if first else ""
            tag = ("<br/>(the claim\u2019s value)" if is_value else "<br/>(evaluated last)") if first else ""
            out.append(f'<tr{cls}><td class="mono" title="{_e(latex)}">{_e(step["formula"])}{tag}</td>'
                       f"<td>{mathml}</td><td>{formulas.call(step)}</td></tr>")
        out.append("</table>")
        if is_value:
            out.append('<div class="note">The first row is the formula that gives the claim\u2019s value; the '
                       "rows below are the intermediate values it rests on, innermost last.</div>")
        else:
            out.append('<div class="note">The claim combines these results in its own code (above); the first '
                       "row is the formula evaluated last, the rows below are the intermediate values, innermost "
                       "last.</div>")
    elif record.get("formulas"):
        out.append('<table class="steps"><tr><th>formula</th><th>as derived</th></tr>')
        for name in record["formulas"]:
            mathml, latex = formulas.of(name)
            if mathml:
                out.append(f'<tr><td class="mono" title="{_e(latex)}">{_e(name)}</td><td>{mathml}</td></tr>')
        out.append("</table>")
    else:
        out.append('<div class="none">no derived formula: read directly from the specs, or a workload '
                   "choice</div>")
    out.append("<h2>Spec values it read</h2>")
    inputs = record.get("inputs", [])
    if inputs:
        out.append("<table><tr><th>spec value read</th><th>as written</th><th>source</th><th>file</th></tr>")
        for key in inputs:
            spec = specs.get(key, {"written": "?", "source": "(not in the spec files)", "where": ""})
            out.append(f'<tr><td class="key">{_e(key)}</td><td>{_e(spec["written"])}</td>'
                       f'<td class="src">{_e(spec["source"])}</td><td class="key">{_e(spec["where"])}</td></tr>')
        out.append("</table>")
    else:
        out.append('<div class="none">reads no spec value</div>')
    out.append("<h2>Where the deck shows it</h2>")
    slides = record.get("slides", [])
    if slides:
        out.append("<table><tr><th>part</th><th>slide</th><th>template</th><th>page</th></tr>")
        for use in slides:
            page = pages.get(use.get("target", ""))
            link = f'<a href="{_e(pdf_href)}#page={page}">page {page}</a>' if page else "\u2014"
            frames = "; ".join(frame_title(f) for f in use.get("frames", []))
            lines = ",".join(str(n) for n in use.get("lines", []))
            out.append(f'<tr><td>{_e(use["part"])}</td><td>{_e(frames)}</td>'
                       f'<td class="key">{_e(use.get("template", ""))}:{_e(lines)}</td><td>{link}</td></tr>')
        out.append("</table>")
    else:
        out.append('<div class="none">not shown on any slide</div>')
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def index_page(records: list[dict], pages: dict[str, int], folder: str, pdf_name: str) -> str:
    """The index: one row per claim (anchor = claim id), linking to the claim's own page."""
    out = _head("MLSys\u00b7im deck: claims ledger", script=True)
    out.append("<h1>Claims ledger</h1>")
    out.append(f'<p class="sub">Every number, name and verdict the deck states ({len(records)} claims). Each id '
               f"opens the claim's page: its computation with the values substituted, the spec values it read "
               f'and their sources, and the slides that show it. Pages link into '
               f'<a href="{_e(pdf_name)}">{_e(pdf_name)}</a>.</p>')
    out.append('<input type="search" placeholder="filter: claim id, text, part\u2026" '
               'oninput="filterClaims(this.value)"/>')
    out += errata_section(records)
    out += reality_section(records)
    out.append('<table class="index"><tr><th>claim</th><th>the slide prints</th><th>part</th><th>pages</th></tr>')
    for record in records:
        cid = record["id"]
        shown = sorted({pages[u["target"]] for u in record.get("slides", []) if u.get("target") in pages})
        links = " ".join(f'<a href="{_e(pdf_name)}#page={n}">{n}</a>' for n in shown) or "\u2014"
        out.append(f'<tr class="claim" id="{_e(cid)}"><td class="mono"><a href="{_e(folder)}/{_e(cid)}.html">'
                   f'{_e(cid)}</a></td><td>{_e(record["text"])}</td><td>{_e(record.get("part", ""))}</td>'
                   f"<td>{links}</td></tr>")
    out += ["</table>", "</body>", "</html>", ""]
    return "\n".join(out)


def reason_text(reason: str, by_id: dict[str, dict]) -> str:
    """An erratum's reason with each {claim.id} replaced by what the claim prints (the id if unknown)."""
    from .errata import PLACEHOLDER

    return PLACEHOLDER.sub(lambda m: by_id.get(m.group(1), {}).get("text", m.group(1)), reason)


def _first_frame(record: dict) -> str:
    """The frame that first shows a claim, slides before notes, the errata appendix left out."""
    from .pages import frame_title

    uses = [u for u in record.get("slides", []) if not u["part"].startswith("9")]
    uses.sort(key=lambda u: (bool(u.get("note")), u["part"], min(u.get("lines") or [0])))
    return f'{uses[0]["part"]}: {frame_title(uses[0]["frames"][0])}' if uses and uses[0].get("frames") else ""


def errata_section(records: list[dict]) -> list[str]:
    """Errata: every claim whose declaration records a departure from the reference deck, with the
    frame, the reference's value, this deck's value and the reason (the errata appendix lists the same)."""
    by_id = {r["id"]: r for r in records}
    rows = [r for r in records if r.get("erratum")]
    if not rows:
        return []
    out = ['<h1 id="errata">Errata</h1>',
           f'<p class="sub">What changed from the reference deck, and why: {len(rows)} claims print another value '
           "than the reference deck prints on the same frame (each claim's <code>Erratum</code> in its claims.py; "
           "the deck's errata appendix shows the same rows, and tests/test_errata.py fails on a departure no "
           "erratum records).</p>",
           "<table><tr><th>claim</th><th>frame</th><th>reference deck</th><th>this deck</th><th>why</th></tr>"]
    for r in sorted(rows, key=lambda r: (_first_frame(r), r["id"])):
        out.append(f'<tr class="erratum"><td class="key"><a href="#{_e(r["id"])}">{_e(r["id"])}</a></td>'
                   f'<td>{_e(_first_frame(r))}</td><td>{_e(r["erratum"]["reference"])}</td>'
                   f'<td>{_e(r["text"])}</td><td>{_e(reason_text(r["erratum"]["reason"], by_id))}</td></tr>')
    out.append("</table>")
    return out


def reality_section(records: list[dict]) -> list[str]:
    """The Reality check: one line per validation row (claims reality.<row>.*), predicted against
    measured, with the error, the split and the source (the measured claim's note)."""
    by_id = {r["id"]: r for r in records}
    rows = sorted(cid[len("reality."):-len(".measured")] for cid in by_id
                  if cid.startswith("reality.") and cid.endswith(".measured"))
    if not rows:
        return []
    out = ['<h1 id="reality-check">Reality check</h1>',
           '<p class="sub">The engine against published measurements (validation/measurements.toml). '
           "Ideal: the measured kernel rates alone; expected: with the factor fitted on the calibration rows. "
           "Error: of the time measured (step or latency).</p>",
           "<table><tr><th>row</th><th>workload</th><th>measured</th><th>ideal</th><th>expected</th>"
           "<th>error</th><th>split</th><th>source</th></tr>"]
    for row in rows:
        def cell(what, row=row):
            record = by_id.get(f"reality.{row}.{what}")
            if record is None:
                return "<td>\u2014</td>"
            return f'<td><a href="#{_e(record["id"])}">{_e(record["text"])}</a></td>'
        source = by_id[f"reality.{row}.measured"].get("note", "")
        out.append(f'<tr><td class="key">{_e(row)}</td>{cell("label")}{cell("measured")}{cell("ideal")}'
                   f'{cell("predicted")}{cell("error")}{cell("split")}<td class="src">{_e(source)}</td></tr>')
    out.append("</table>")
    return out


def write_ledger(claims_json: Path, pdf: Path, spec_dir: Path, out: Path, equations: Path | None = None) -> bool:
    """build/ledger.html (the index) and build/ledger/<id>.html (one page per claim), from
    build/claims.json, build/deck.pdf and the formulas' records in build/equations.json (beside
    claims.json unless given); True if any file's bytes changed."""
    from .pages import claim_pages

    out = Path(out)
    records = sorted(json.loads(Path(claims_json).read_text(encoding="utf-8"))["claims"], key=lambda r: r["id"])
    page_of = claim_pages(pdf)
    specs = spec_values(spec_dir)
    root = Path(spec_dir).resolve().parents[2]  # the repository: engine/mlsysim/specs
    folder = out.parent / out.stem
    folder.mkdir(parents=True, exist_ok=True)
    pdf_name = Path(pdf).name
    from .equations import read_formula_records

    formulas = Formulas(read_formula_records(Path(equations or Path(claims_json).parent / "equations.json")))
    by_id = {r["id"]: r for r in records}
    changed = False
    for record in records:
        text = claim_page(record, page_of, specs, formulas, f"../{pdf_name}", f"../{out.name}", root, by_id)
        changed |= write_text_atomic(folder / f"{record['id']}.html", text)
    wanted = {f"{r['id']}.html" for r in records}
    for stale in folder.glob("*.html"):
        if stale.name not in wanted:
            stale.unlink()
            changed = True
    changed |= write_text_atomic(out, index_page(records, page_of, folder.name, pdf_name))
    return changed


if __name__ == "__main__":
    import sys

    root = Path(__file__).resolve().parents[2]
    build = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "build"
    write_ledger(build / "claims.json", build / "deck.pdf", root / "engine" / "mlsysim" / "specs",
                 build / "ledger.html")
    print(build / "ledger.html")
