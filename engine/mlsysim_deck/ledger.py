"""The claims ledger: build/ledger.html, one browsable page that accounts for every number of the deck.

For each claim: the value and the text the slide prints, the formulas its computation evaluated
(rendered from the sympy expressions as MathML, with their LaTeX), the spec values it read with
their sources and file:line, where it was declared, and the slides and PDF pages that show it
(linked to build/deck.pdf#page=N).  The page is static and self-contained (no network, inline CSS,
a few lines of script for the filter box) and deterministic: the same build gives the same bytes.
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


def formula_mathml(name: str) -> tuple[str, str]:
    """(MathML, LaTeX) of `lhs = expr` for a registered formula, both from its sympy expression."""
    import sympy as sp
    from sympy.printing.mathml import MathMLPresentationPrinter

    from mlsysim.core import derivations

    derivations.modules()
    f = derivations.FORMULAS[name]
    names = {s: sp.Symbol(plain_name(derivations.latex_symbol(s)), positive=True)
             for s in f.expr.free_symbols if s in derivations._LATEX}
    expr = f.expr.xreplace(names)
    printer = MathMLPresentationPrinter({"mul_symbol": "dot"})
    body = printer.doprint(sp.Eq(sp.Symbol(plain_name(f.lhs)), expr, evaluate=False))
    mathml = f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">{body}</math>'
    return mathml, derivations.latex_of(name)


# --- the page ----------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:70em;color:#222;
padding:0 1em}
h1{color:#a51c30;margin-bottom:.2em} .sub{color:#666;margin-top:0}
input{font-size:1em;padding:.3em;width:24em;margin:.5em 0 1em}
.claim{border-top:1px solid #ddd;padding:.8em 0}
.claim h2{font-size:1.05em;margin:0 0 .3em;font-family:monospace}
.claim h2 a{color:#a51c30;text-decoration:none}
.text{font-size:1.2em;font-weight:600} .value{color:#555;font-family:monospace;margin-left:1em}
.kind{color:#888;font-size:.85em;margin-left:1em}
table{border-collapse:collapse;margin:.3em 0 .3em 1em;font-size:.9em}
td,th{padding:.15em .6em;text-align:left;vertical-align:top} th{color:#666;font-weight:normal}
td.key{font-family:monospace;white-space:nowrap} .src{color:#555}
.formula{margin:.2em 0 .2em 1em} details{margin-left:1em;color:#666;font-size:.85em}
.none{color:#999;margin-left:1em;font-size:.9em} .note{margin:.2em 0 .2em 1em;color:#444}
""".strip()

SCRIPT = """
function filterClaims(q){q=q.toLowerCase();for(const c of document.querySelectorAll('.claim')){
c.style.display=c.textContent.toLowerCase().includes(q)?'':'none';}}
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


def render(records: list[dict], pages: dict[str, int], specs: dict[str, dict], pdf_name: str = "deck.pdf") -> str:
    from .pages import frame_title

    mathml_cache: dict[str, tuple[str, str]] = {}
    out = ['<!DOCTYPE html>', '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">', "<head>",
           '<meta charset="utf-8"/>', "<title>MLSys\u00b7im deck: claims ledger</title>",
           f"<style>{CSS}</style>", f"<script>{SCRIPT}</script>", "</head>", "<body>",
           "<h1>Claims ledger</h1>",
           f'<p class="sub">Every number, name and verdict the deck states ({len(records)} claims): its value, '
           f"the formulas that computed it, the spec values it read and where they come from, and the "
           f'slides that show it. Pages link into <a href="{_e(pdf_name)}">{_e(pdf_name)}</a>.</p>',
           '<input type="search" placeholder="filter: claim id, spec key, slide title\u2026" '
           'oninput="filterClaims(this.value)"/>']
    out += reality_section(records)
    for record in sorted(records, key=lambda r: r["id"]):
        cid = record["id"]
        out.append(f'<div class="claim" id="{_e(cid)}">')
        out.append(f'<h2><a href="#{_e(cid)}">{_e(cid)}</a></h2>')
        out.append(f'<div><span class="text">{_e(record["text"])}</span>'
                   f'<span class="value">{_e(_value(record))}</span>'
                   f'<span class="kind">{_e(record["kind"])}, declared at {_e(record.get("declared_at", ""))}'
                   f"</span></div>")
        if record.get("note"):
            out.append(f'<div class="note">{_e(record["note"].strip())}</div>')
        formulas = record.get("formulas", [])
        if formulas:
            for name in formulas:
                if name not in mathml_cache:
                    try:
                        mathml_cache[name] = formula_mathml(name)
                    except KeyError:
                        mathml_cache[name] = ("", "")
                mathml, latex = mathml_cache[name]
                if not mathml:
                    continue
                out.append(f'<div class="formula" title="{_e(name)}">{mathml}</div>')
                out.append(f"<details><summary>{_e(name)}: LaTeX</summary><code>{_e(latex)}</code></details>")
        else:
            out.append('<div class="none">no derived formula: read directly from the specs, or a workload '
                       "choice</div>")
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
        slides = record.get("slides", [])
        if slides:
            out.append("<table><tr><th>part</th><th>slide</th><th>template</th><th>page</th></tr>")
            for use in slides:
                page = pages.get(use.get("target", ""))
                link = f'<a href="{_e(pdf_name)}#page={page}">page {page}</a>' if page else "\u2014"
                frames = "; ".join(frame_title(f) for f in use.get("frames", []))
                lines = ",".join(str(n) for n in use.get("lines", []))
                out.append(f'<tr><td>{_e(use["part"])}</td><td>{_e(frames)}</td>'
                           f'<td class="key">{_e(use.get("template", ""))}:{_e(lines)}</td><td>{link}</td></tr>')
            out.append("</table>")
        else:
            out.append('<div class="none">not shown on any slide</div>')
        out.append("</div>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


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


def write_ledger(claims_json: Path, pdf: Path, spec_dir: Path, out: Path) -> bool:
    """build/ledger.html from build/claims.json and build/deck.pdf (True if its bytes changed)."""
    from .pages import claim_pages

    records = json.loads(Path(claims_json).read_text(encoding="utf-8"))["claims"]
    page_of = claim_pages(pdf)
    text = render(records, page_of, spec_values(spec_dir), pdf_name=Path(pdf).name)
    return write_text_atomic(Path(out), text)


if __name__ == "__main__":
    import sys

    root = Path(__file__).resolve().parents[2]
    build = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "build"
    write_ledger(build / "claims.json", build / "deck.pdf", root / "engine" / "mlsysim" / "specs",
                 build / "ledger.html")
    print(build / "ledger.html")
