"""The hard-coded-number lint: every number a slide shows comes from a claim.

Numbers reach slides through ``\\VAR{claim("id")}``.  This lint reads every line of every template
(frames, speaker notes, TikZ pictures, the Jinja code in ``\\VAR{}``/``\\BLOCK{}``) and the text
labels of the figure scripts (strings passed to matplotlib's ``annotate``, ``text``, ``set_title``,
``set_xlabel``, ``legend``, ``label=`` ...), and reports, as file:line, every digit and every number
word (one to twenty, twice, half, a billion ...) that was typed by hand.

What is not a number, and so passes without a word:
  * names with digits (NAMES below): H100, Llama-3 8B, FP16, ResNet-50, 2:4 sparsity, Part 3, 3D;
  * a speaker note's timing in template code, ``note(minutes=2)`` (SCHEDULE below);
  * layout (LAYOUT below): lengths (``0.2cm``, ``0.48\\textwidth``), ``\\\\[4pt]``, overlay specs
    (``<2->``), colour mixes (``crimson!12``), and inside a tikzpicture its coordinates
    (``(\\x+1.2, 0.7)``) and numeric options (``scale=0.75``).  A count inside a drawing (how many GPUs
    a node has) is not layout: loop over a claim with ``\\BLOCK{for}`` instead of typing it.

Anything else that must be shown as typed (a year in a citation, a constant of a formula, "one" as
plain prose) carries an allowance on its line that names the number and says why:

    Daly (2006) refines it.   % lint: allow 2006: year of a citation

(in a figure script ``# lint: allow 256: ...``; on a Jinja line ``\\#{ lint: allow 2: ... }`` works
too).  An allowance without a reason, or one that names no number, or a number its line does not
have, is itself an error.
"""
from __future__ import annotations

import ast
import functools
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

#: Number words: a count typed in words ("Five Accelerators") is as hard-coded as "5".
NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
                "nineteen", "twenty", "zero", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
                "twice", "thrice", "half", "third", "thirds", "quarter", "quarters", "double", "triple",
                "dozen", "dozens", "hundred", "hundreds", "thousand", "thousands", "million", "millions",
                "billion", "billions", "trillion", "trillions")
WORD_VALUE = {w: str(i) for i, w in enumerate(NUMBER_WORDS[:20], start=1)}

#: Names that contain digits.  Each alternative is one family of names the deck uses.
NAMES = re.compile("|".join([
    r"Llama-?\d(?:\.\d)?(?:[\s~]+\d+B\b)?",            # Llama-3 8B, Llama-3.1 405B
    r"\b(?:[HABG]\d{2,3}|B\d{3}|MI\d{3}X?)s?\b",         # H100(s), A100, B200, MI300X
    r"\bTPU\s?v\d\w*", r"\bGaudi\s*(?:\\,|~)?\s*\d\b",  # TPU v5p, Gaudi 3
    r"\b(?:FP|BF|INT|TF|MXFP|NF)\d+\b",                 # FP16, BF16, INT4, TF32
    r"\bResNet-?\d+\b", r"\bGPT-\d\b", r"\bNVLink[\s~]*\d\b", r"\bHBM\d\w*", r"\bPCIe[\s~]*\d\b",
    r"\b(?:NDR|HDR|XDR)\d*\b", r"\bConnectX-\d\b", r"\b(?:DDR|GDDR|LPDDR)\d\w*",
    r"\b\d+:\d+\b",                                      # 2:4 structured sparsity
    r"\b(?:Part|Wall|Exercise|Reason|Step|Lab|Section)[\s~]+\d+\b",   # the deck's own numbering
    r"\b[23]D\b",                                         # 3D parallelism, 2D
    r"\b(?:zero|one|few)-shot\b",                          # evaluation settings, not counts
    r"\\[A-Za-z@]+",                                      # LaTeX macro names (\tiny, \vspace)
]))

#: Layout: sizes, spacing, overlays, colour mixes; never physics.
_DIM = r"-?(?:\d+\.?\d*|\.\d+)(?:pt|em|ex|cm|mm|in|bp|sp|mu)\b"
LAYOUT = re.compile("|".join([
    _DIM,
    r"-?(?:\d+\.?\d*|\.\d+)\s*\\(?:textwidth|linewidth|textheight|paperwidth|paperheight|columnwidth|"
    r"baselineskip|tabcolsep|arraystretch)",
    r"\\\\\s*\[[^\]]*\]",                                 # \\[0.2cm]
    r"(?<=[A-Za-z}\]])<[\d\-,+| ]+>",                      # overlay specs \only<2->, <1,3>
    r"!\d+",                                              # colour mixes crimson!12
    r"\\(?:renewcommand|def)\\arraystretch\{[\d.]+\}",
    r"\baspectratio=\d+",                                # \documentclass[aspectratio=169]
]))

#: Inside a tikzpicture: coordinates (numbers, macros and operators with a ',' or ':') and numeric
#: key=value options are geometry.  Text in a node, and \foreach lists, are not.
TIKZ_COORDINATE = re.compile(r"\((?=[^()]*[,:])(?:\s|" + _DIM + r"|\d+\.?\d*|\.\d+|\\[A-Za-z]+|[-+*/,:.{}])*\)")
TIKZ_OPTION = re.compile(r"(?<=[\[,\s])(?!(?:label|pin|node contents)\s*=)[A-Za-z][A-Za-z ]*=\s*"
                         r"(?:" + _DIM + r"|-?\d+\.?\d*|-?\.\d+)")   # label=8 is text, not an option

NUMBER = re.compile(r"(?<![\w.])(?:[-\u2212](?=\d))?\d+(?:(?:\{,\}|,|\.)\d+)*(?:[eE][-+]?\d+)?"
                    r"(?:[kKMGTB](?![A-Za-z]))?")
WORD = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)

#: Template code: a speaker note's timing, note(minutes=2), is the presenter's schedule, not physics.
SCHEDULE = re.compile(r"\bminutes\s*=\s*\d+(?:\.\d+)?")

ALLOW = re.compile(r"(?:%|#|\\#\{)\s*lint:\s*allow\b(?P<rest>[^}\n]*)")
ALLOW_FORM = '"% lint: allow 2006: year of a citation"'

#: Figure scripts: the matplotlib calls whose string arguments end up as text on the figure.
LABEL_CALLS = {"annotate", "text", "figtext", "set_title", "set_xlabel", "set_ylabel", "suptitle", "title",
               "xlabel", "ylabel", "legend", "set_label", "bar_label", "set_text"}
LABEL_KEYWORDS = {"label", "labels", "title", "s", "text"}


@dataclass(frozen=True)
class Finding:
    line: int
    token: str      # as typed: '206', '16384', 'Five'
    context: str    # the stripped source line around it
    kind: str       # "number", "number word", "number in template code"


# --- allowances -------------------------------------------------------------------------------


def _allowance(raw: str, filename: str, number: int) -> tuple[set[str], list[str]]:
    """The tokens an allowance on this line permits, and the problems with the allowance itself."""
    m = ALLOW.search(raw)
    if not m:
        return set(), []
    rest = m.group("rest").strip()
    what, colon, reason = rest.partition(":")
    where = f"{filename}:{number}"
    if not colon and rest and all(NUMBER.fullmatch(t) or WORD.fullmatch(t) for t in re.split(r"[,\s]+", rest)):
        what, colon = rest, ":"                               # "% lint: allow 2006": a number, no reason
    if not colon or not what.strip():
        return set(), [f"{where}: lint allowance names no number: write the number it allows and why, "
                       f"{ALLOW_FORM}"]
    if not re.search(r"[A-Za-z]{2}", reason):
        return set(), [f"{where}: lint allowance for {what.strip()!r} gives no reason: say why it is not "
                       f"a claim, {ALLOW_FORM}"]
    return {_key(t) for t in re.split(r"[,\s]+", what.strip()) if t}, []


def _key(token: str) -> str:
    return token.replace("\u2212", "-").replace("{,}", ",").lower()


# --- templates --------------------------------------------------------------------------------


def _split_jinja(text: str) -> tuple[str, list[tuple[int, str]]]:
    """Blank out \\VAR{...}, \\BLOCK{...}, \\#{...} (braces balanced, newlines kept): the literal text,
    and the code of each \\VAR/\\BLOCK with the line it starts on (comments are dropped)."""
    out, code, i = [], [], 0
    opener = re.compile(r"\\(VAR|BLOCK|#)\{")
    while True:
        m = opener.search(text, i)
        if not m:
            out.append(text[i:])
            break
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        chunk = text[m.start():j]
        if m.group(1) != "#":
            code.append((text.count("\n", 0, m.start()) + 1, text[m.end():j - 1]))
        out.append(re.sub(r"[^\n]", " ", chunk))
        i = j
    return "".join(out), code


def _blank(pattern: re.Pattern, line: str) -> str:
    return pattern.sub(lambda m: " " * len(m.group(0)), line)


def _numbers(line: str, raw: str, number: int, kind: str = "number") -> list[Finding]:
    found = [Finding(number, m.group(0), raw.strip(), kind) for m in NUMBER.finditer(line)]
    found += [Finding(number, m.group(0), raw.strip(), "number word") for m in WORD.finditer(line)]
    return found


def _template_findings(text: str) -> list[Finding]:
    literal, code = _split_jinja(text)
    raws = text.splitlines()
    findings: list[Finding] = []
    in_drawing = in_plot = False
    for number, line in enumerate(literal.splitlines(), start=1):
        raw = raws[number - 1] if number <= len(raws) else line
        line = re.sub(r"(?<!\\)%.*", "", line)             # a LaTeX comment is not on the slide
        drawing = in_drawing or r"\begin{tikzpicture}" in line
        if r"\begin{tikzpicture}" in line:
            in_drawing = True
        if r"\end{tikzpicture}" in line:
            in_drawing = False
        plot = in_plot or r"\begin{axis}" in line               # pgfplots: its coordinates are data
        if r"\begin{axis}" in line:
            in_plot = True
        if r"\end{axis}" in line:
            in_plot = False
        if drawing and not plot:
            for _ in range(3):                             # nested coordinates, calc expressions
                line = _blank(TIKZ_COORDINATE, line)
            line = _blank(TIKZ_OPTION, line)
        line = _blank(NAMES, _blank(LAYOUT, line))
        findings += _numbers(line, raw, number)
    for number, expr in code:
        expr = re.sub(r"\"[^\"]*\"|'[^']*'", " ", expr)     # claim ids and other strings
        expr = SCHEDULE.sub(" ", expr)                        # note(minutes=2): the talk's timing
        for m in re.finditer(r"(?<![\w.])\d+(?:\.\d+)?", expr):
            findings.append(Finding(number, m.group(0), raws[number - 1].strip(), "number in template code"))
    return findings


# --- figure scripts ---------------------------------------------------------------------------


def _label_strings(call: ast.Call):
    """(node, text) of the string pieces a matplotlib call puts on the figure."""
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    values = list(call.args) if name in LABEL_CALLS else []
    values += [k.value for k in call.keywords if k.arg in LABEL_KEYWORDS]
    todo = list(values)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node, node.value
        elif isinstance(node, ast.FormattedValue):
            # f"B={256}" types the number; f"{MESSAGE / 1e9:.0f} GB" computes it (format spec skipped)
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, (int, float)) \
                    and not isinstance(node.value.value, bool):
                yield node.value, str(node.value.value)
            todo.extend(n for n in ast.iter_child_nodes(node.value))
        else:
            todo.extend(ast.iter_child_nodes(node))


def _figure_findings(source: str, filename: str) -> list[Finding]:
    tree = ast.parse(source, filename=filename)
    lines = source.splitlines()
    findings, seen = [], set()
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        for node, text in _label_strings(call):
            if id(node) in seen:
                continue
            seen.add(id(node))
            line = _blank(NAMES, text)
            if "$" in line:                              # mathtext: a macro name is not a number
                line = _blank(re.compile(r"\\[A-Za-z]+"), line)
            number = node.lineno
            findings += _numbers(line, lines[number - 1], number)
    return findings


# --- checking ---------------------------------------------------------------------------------


def printed_claims(build: Path) -> dict[str, list[str]]:
    """Printed text of every claim -> claim ids, from build/claims.json or build/claims/*.json;
    empty when nothing is built yet (the lint then only names the problem)."""
    build = Path(build)
    records = []
    if (build / "claims.json").exists():
        records = json.loads((build / "claims.json").read_text(encoding="utf-8"))["claims"]
    else:
        from .build import claims_index

        claims_dir = build / "claims" if (build / "claims").is_dir() else build
        index = claims_index(claims_dir)  # (one file, where the claims are 650)
        records = ([{"id": cid, "text": text} for cid, text in index.items()] if index is not None
                   else _claim_records(claims_dir))
    known: dict[str, list[str]] = {}
    for record in records:
        known.setdefault(_normal(record["text"]), []).append(record["id"])
    return known


#: claims folder -> (what its files were when read: name, inode, size, time of each; their records).  A
#: worker renders several parts and draws several figures: each reads the 442 records once.
_RECORDS: dict[str, tuple[tuple, list[dict]]] = {}


def _claim_records(claims_dir: Path) -> list[dict]:
    """The records of a folder of claim files (build/claims/*.json), read again once any changed."""
    paths = sorted(p for p in claims_dir.glob("*.json") if p.name != "index.json")
    stamp = tuple((p.name, st.st_ino, st.st_size, st.st_mtime_ns) for p in paths for st in [p.stat()])
    kept = _RECORDS.get(str(claims_dir.resolve()))
    if kept and kept[0] == stamp:
        return kept[1]
    records = []
    for path in paths:
        record = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(record, dict) and "text" in record:
            records.append(record)
    _RECORDS[str(claims_dir.resolve())] = (stamp, records)
    return records


def _normal(text: str) -> str:
    """Printed text compared without spaces, thousands separators or case: '16,384 GPUs' = '16384gpus'."""
    text = text.replace("\\,", "").replace("{,}", "").replace("~", " ").replace("\u2212", "-")
    return re.sub(r"(?<=\d),(?=\d{3})|\s+", "", text).lower()


def _suggest(finding: Finding, known: dict[str, list[str]]) -> list[str]:
    """Claims whose printed text is the typed number (with what follows it on the line, if that matches)."""
    if not known:
        return []
    token = WORD_VALUE.get(finding.token.lower(), finding.token) if finding.kind == "number word" else finding.token
    at = finding.context.find(finding.token)
    after = finding.context[at + len(finding.token):] if at >= 0 else ""
    number = _normal(token)
    ids = []
    for text, claim_ids in known.items():
        if text == number or (text.startswith(number) and not text[len(number)].isdigit()
                              and text[len(number)] not in ".,"
                              and _normal(re.sub(r"[{}]", "", after)).startswith(text[len(number):])):
            ids += claim_ids
    if finding.kind == "number word":
        ids += known.get(finding.token.lower(), [])
    return sorted(set(ids))


def _message(filename: str, finding: Finding, known: dict[str, list[str]]) -> str:
    context = finding.context if len(finding.context) <= 70 else finding.context[:67] + "..."
    what = {"number word": "number word", "number in template code": "number in template code"}.get(finding.kind, "number")
    ids = _suggest(finding, known)
    hint = ""
    if ids:
        hint = " (did you mean " + " or ".join(f"\\VAR{{claim(\"{i}\")}}" for i in ids[:3]) + "?)"
    why = ("a count comes from what it counts (accelerators: \\VAR{count_word(\"lineup\")}): "
           if finding.kind == "number word" else "")
    return (f"{filename}:{finding.line}: hard-coded {what} {finding.token!r} in \"{context}\": {why}"
            f"state it as a claim, \\VAR{{claim(\"...\")}}{hint}; if it is not physics, allow it on its line "
            f"with a reason, \"% lint: allow {finding.token}: <why>\"")


def _check(findings: list[Finding], raws: list[str], filename: str, known) -> list[str]:
    problems, allowed = [], {}
    for number, raw in enumerate(raws, start=1):
        tokens, errors = _allowance(raw, filename, number)
        problems += errors
        allowed[number] = tokens
    used: dict[int, set[str]] = {}
    for f in sorted(findings, key=lambda f: f.line):
        key = _key(f.token)
        if key in allowed.get(f.line, ()) or key.lstrip("-") in allowed.get(f.line, ()):
            used.setdefault(f.line, set()).add(key if key in allowed[f.line] else key.lstrip("-"))
            continue
        problems.append(_message(filename, f, known))
    for number, tokens in allowed.items():
        for token in sorted(tokens - used.get(number, set())):
            problems.append(f"{filename}:{number}: lint allowance for {token!r}, but the line shows no such "
                            f"number: remove it or correct it")
    return sorted(problems, key=lambda p: int(p[len(filename) + 1:].split(":", 1)[0]))


def lint_text(text: str, filename: str, known: dict[str, list[str]] | None = None) -> list[str]:
    """Problems in a template's text, each 'file:line: ...'."""
    return _check(_remembered_findings(text), text.splitlines(), filename, known or {})


def _remembered_findings(text: str) -> list[Finding]:
    """The numbers a template's text types (`_template_findings`, 25 ms for a part), kept in the user's
    cache under the text and this file's own bytes: a part rendered again because a claim moved, in
    any build folder, finds them there."""
    from .build import remembered

    found = remembered("lint", _lint_source() + text.encode("utf-8"),
                       lambda: [[f.line, f.token, f.context, f.kind] for f in _template_findings(text)])
    return [Finding(*f) for f in found]


@functools.cache
def _lint_source() -> bytes:
    return Path(__file__).read_bytes()


def lint_figure_text(source: str, filename: str, known: dict[str, list[str]] | None = None) -> list[str]:
    """Problems in a figure script's labels, each 'file:line: ...'."""
    return _check(_figure_findings(source, filename), source.splitlines(), filename, known or {})


def lint_file(path: Path, known: dict[str, list[str]] | None = None) -> list[str]:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        return lint_figure_text(text, str(path), known)
    return lint_text(text, str(path), known)


def lint_tree(*roots: Path, known: dict[str, list[str]] | None = None) -> list[str]:
    """Every template (*.j2) and every figure script (figures/*.py) under the roots."""
    problems = []
    for root in roots:
        root = Path(root)
        paths = sorted(root.rglob("*.j2"))
        paths += sorted(p for p in root.rglob("*.py") if p.parent.name == "figures")
        for path in paths:
            problems.extend(lint_file(path, known))
    return problems


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    roots = [Path(a) for a in args] or [Path("slides"), Path("templates"), Path("figures")]
    problems = lint_tree(*roots, known=printed_claims(Path("build")))
    for p in problems:
        print(f"error: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
