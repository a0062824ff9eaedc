"""A listing as the lines XeLaTeX sets: the colouring is decided here, in Python.

Python's own tokenizer finds the keywords, strings and comments of a listing's code, so XeLaTeX
only sets finished lines (the listings package found them itself, one character at a time, for a
fifth of a deck pass).  Each line becomes ``\\mlsline{...}``, and within it

    \\mlskw{for}        a keyword or built-in function (bold crimson)
    \\mlsstr{"H100"}    a string (green)
    \\mlscom{# note}    a comment (grey italic)

The theme defines the four macros and draws the box around the lines (\\mlslistingonly,
\\mlslistingoutput).  What the listing printed is set as it is, one \\mlsline a line.
"""
from __future__ import annotations

import builtins
import io
import keyword
import tokenize

#: Names shown as keywords: Python's keywords and its built-in functions and types (print, range,
#: getattr), not its exception classes.
KEYWORDS = frozenset(keyword.kwlist) | {n for n in dir(builtins) if n[:1].islower()}

#: Characters TeX would read as commands, and what prints them in the listing's font.
_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
            "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}", " ": r"\ "}


def escaped(text: str) -> str:
    """Text as TeX prints it character for character: specials escaped, every space kept."""
    return "".join(_SPECIAL.get(c, c) for c in text)


def _styles(code: str) -> list[list[str | None]]:
    """For each line of the code, the style of each character: "kw", "str", "com" or None."""
    lines = code.split("\n")
    styles: list[list[str | None]] = [[None] * len(line) for line in lines]
    previous = None
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        style = None
        if token.type == tokenize.NAME and token.string in KEYWORDS and not (
                previous is not None and previous.type == tokenize.OP and previous.string == "."):
            style = "kw"  # `max` as a name, not an attribute `.max`
        elif token.type == tokenize.STRING:
            style = "str"
        elif token.type == tokenize.COMMENT:
            style = "com"
        if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT):
            previous = token
        if style is None:
            continue
        (row, col), (end_row, end_col) = token.start, token.end
        for r in range(row, end_row + 1):  # a string may run over several lines
            first = col if r == row else 0
            last = end_col if r == end_row else len(lines[r - 1])
            styles[r - 1][first:last] = [style] * (last - first)
    return styles


def code_tex(code: str) -> str:
    """The listing's code as \\mlsline{...} lines, its keywords, strings and comments marked."""
    code = code.expandtabs(4).rstrip("\n")
    out = []
    for line, styles in zip(code.split("\n"), _styles(code + "\n")):
        parts, start = [], 0
        for i in range(1, len(line) + 1):
            if i == len(line) or styles[i] != styles[start]:
                text = escaped(line[start:i])
                parts.append(f"\\mls{styles[start]}{{{text}}}" if styles[start] else text)
                start = i
        out.append(f"\\mlsline{{{''.join(parts)}}}")
    return "\n".join(out) + "\n"


def output_tex(text: str) -> str:
    """What the listing printed, as \\mlsline{...} lines."""
    return "".join(f"\\mlsline{{{escaped(line)}}}\n" for line in text.expandtabs(8).rstrip("\n").split("\n"))
