"""The hard-coded-number lint: a physics number typed into a template is a defect.

Numbers reach slides through ``\\VAR{claim("id")}``.  This lint reads each template's literal
text (outside ``\\VAR{}``/``\\BLOCK{}``, outside LaTeX comments) and reports, as file:line, any
number that carries a unit (``4.8 ms``, ``3.35~TB/s``, ``50\\%``, ``1.6$\\times$``), any decimal
(``0.003``), any number with thousands separators (``16,384``) and any power of ten.  Names that
contain digits (H100, Llama-3 8B, FP16, ResNet-50, 2:4 sparsity) are not numbers.

Lines inside a tikzpicture are drawing coordinates and are skipped.
A line that must show a number of another kind (a year in a citation) ends with the LaTeX comment
``% lint: allow`` and says why.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

UNITS = (
    r"ms|µs|μs|us|ns|s|sec|seconds?|min|minutes?|h|hours?|days?|weeks?|months?|years?|GPU-years?|"
    r"GPU-hours?|[kMGTPE]?i?B|[kMGTPE]?B/s|[kMGTP]?b/s|Gbps|[kMGTPE]?FLOPS?|[kMGTPE]?FLOP/s|FLOPs|"
    r"FLOP/B|FLOP/byte|FLOP|bytes?|[kMG]?W|[kMG]Wh|tokens?(?:/s)?|req/s|requests?/s|QPS|"
    r"\\%|%|\\texttimes|×|\$\\times\$|\\times|x(?![a-zA-Z])|°C|t\s*CO2e?|\\\$|USD"
)
NUMBER = r"(?<![\w.\-/\\])\d+(?:(?:\{,\}|,)\d{3})*(?:\.\d+)?"
SPACE = r"(?:\s|~|\\,|\\;|\\ |\\thinspace|\{\})*"

RULES = [
    (re.compile(NUMBER + SPACE + r"(?:" + UNITS + r")(?![A-Za-z])"), "number with a unit"),
    (re.compile(r"(?<![\w.\-/\\])\d+\.\d+"), "decimal number"),
    (re.compile(r"(?<![\w.\-/\\])\d{1,3}(?:\{,\}|,)\d{3}"), "number with thousands separators"),
    (re.compile(r"10\^\{?-?\d+"), "power of ten"),
    (re.compile(r"\\\$\s*\d"), "money"),
]

#: Names that contain digits; removed before the rules run.
NAMES = re.compile(
    r"Llama-?3(?:\.1)?(?:[\s~]*\d+B)?|\b(?:[HABG]\d{2,3}|B\d{3}|MI\d{3}X|TPU\s?v\d\w*)s?\b|Gaudi\s*(?:\\,|~)?\s*3|"
    r"\b(?:FP|BF|INT|TF)\d+\b|ResNet-?\d+|NVLink\s*\d|HBM\d\w*|PCIe\s*\d|\b\d+:\d+\b|\bPart\s+\d+|"
    r"\b\d+[DdF]\d*[A-Z]?\b|\\(?:begin|end)\{[^}]*\}|\\\w+\d*|\[[^\]]*\d*(?:pt|em|cm|mm|ex)\]|"
    r"[\d.]+\\(?:textwidth|linewidth|textheight|paperwidth|columnwidth)|-?[\d.]+(?:pt|em|cm|mm|ex)\b"
)

ALLOW = "% lint: allow"


def _strip_jinja(line: str) -> str:
    """Blank out \\VAR{...}, \\BLOCK{...}, \\#{...} (braces balanced) so only literal text remains."""
    out, i = [], 0
    while i < len(line):
        m = re.compile(r"\\(?:VAR|BLOCK|#)\{").search(line, i)
        if not m:
            out.append(line[i:])
            break
        out.append(line[i:m.start()])
        depth, j = 1, m.end()
        while j < len(line) and depth:
            depth += {"{": 1, "}": -1}.get(line[j], 0)
            j += 1
        out.append(" " * (j - m.start()))
        i = j
    return "".join(out)


def _strip_comment(line: str) -> str:
    m = re.search(r"(?<!\\)%", line)
    return line[:m.start()] if m else line


def lint_text(text: str, filename: str) -> list[str]:
    problems = []
    in_drawing = False  # TikZ coordinates are geometry, not physics
    for number, raw in enumerate(text.splitlines(), start=1):
        if r"\begin{tikzpicture}" in raw:
            in_drawing = True
        if in_drawing:
            in_drawing = r"\end{tikzpicture}" not in raw
            continue
        if raw.rstrip().endswith(ALLOW):
            continue
        line = _strip_comment(_strip_jinja(raw))
        line = NAMES.sub(lambda m: " " * len(m.group(0)), line)
        for rule, what in RULES:
            m = rule.search(line)
            if m:
                problems.append(f"{filename}:{number}: hard-coded {what} {m.group(0).strip()!r}: "
                                f"state it as a claim, \\VAR{{claim(\"...\")}}")
                break
    return problems


def lint_file(path: Path) -> list[str]:
    return lint_text(Path(path).read_text(encoding="utf-8"), str(path))


def lint_tree(*roots: Path) -> list[str]:
    problems = []
    for root in roots:
        for path in sorted(Path(root).rglob("*.j2")):
            problems.extend(lint_file(path))
    return problems


def main(argv=None) -> int:
    roots = [Path(a) for a in (argv or sys.argv[1:])] or [Path("slides"), Path("templates")]
    problems = lint_tree(*roots)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
