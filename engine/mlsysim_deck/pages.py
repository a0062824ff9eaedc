"""Where each claim landed in the PDF, and what the page shows there.

Every ``\\VAR{claim("id")}`` prints ``\\claim{<part>:<id>:<n>}{<text>}``; the theme's \\claim
macro puts named PDF destinations on the baseline where <text> starts (``<target>`` for its page,
``<target>/start``) and where it ends (``<target>/end``).  pypdf reads the destinations back (page and point); pdfminer reads
the glyphs of the page with their boxes (as the page check does: mlsysim_deck.geometry.read_pages);
the glyphs between a claim's two marks are what the slide shows for that claim.  So a one-character claim ("8") is checked where it stands, not found
anywhere on its page.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

START, END = "/start", "/end"  # suffixes of the destinations where a claim's text starts and ends

_VAR = re.compile(r"\\VAR\{\s*claim\(\s*[\"']([^\"']+)[\"']\s*\)\s*\}")


def frame_title(title: str) -> str:
    """A frame title as written in the template, with \\VAR{claim("x")} shown as <x>."""
    return _VAR.sub(lambda m: f"<{m.group(1)}>", title)


def claim_pages(pdf: Path) -> dict[str, int]:
    """target ("01_roofline:ridge.H100:1") -> page (1-based); empty when there is no PDF.

    Read from the typeset pages the PDF was assembled from (build/tex/<name>.xdv, where it is no
    newer than the PDF), whose named destinations xdvipdfmx copies page for page, the first of
    each name standing: 0.07 s, where pypdf takes 0.45 s to read them back from the PDF."""
    pdf = Path(pdf)
    if not pdf.exists():
        return {}
    typeset = pdf.parent / "tex" / f"{pdf.stem}.xdv"
    if typeset.exists() and typeset.stat().st_mtime_ns <= pdf.stat().st_mtime_ns:
        return {name: page for name, page in destination_pages(typeset).items() if not name.endswith((START, END))}
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    pages = {}
    for name, dest in reader.named_destinations.items():
        if str(name).endswith((START, END)):
            continue
        try:
            pages[str(name)] = reader.get_destination_page_number(dest) + 1
        except Exception:  # noqa: BLE001 - a destination without a page is simply not reported
            continue
    return pages


_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)
_ESCAPED = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def destination_pages(xdv: Path) -> dict[str, int]:
    """Every named destination of a typeset file -> its page (1-based), as xdvipdfmx keeps them: the
    first of each name."""
    from .xdv import DEST, pages, specials

    def unescaped(name: bytes) -> str:  # a PDF string's backslash escapes
        return _ESCAPE.sub(lambda m: bytes([int(m.group(1), 8) & 255]) if m.group(1)[:1].isdigit()
                           else _ESCAPED.get(m.group(1), m.group(1)), name).decode("latin-1")

    found: dict[str, int] = {}
    for number, page in enumerate(pages(Path(xdv).read_bytes())[1], 1):
        for _, _, text in specials(page):
            if (dest := DEST.match(text)) is not None:
                found.setdefault(unescaped(dest.group("name")), number)
    return found


def where_used(record: dict, pages: dict[str, int]) -> list[str]:
    """A claim record's slides as readable places: 'Part 01_roofline, "Frame title", page 12'."""
    places = []
    for use in record.get("slides", []):
        frames = ", ".join(f"\u201c{frame_title(f)}\u201d" for f in use.get("frames", [])) or "(no frame title)"
        page = pages.get(use.get("target", ""))
        places.append(f"{use['part']} {frames}" + (f", PDF page {page}" if page else ""))
    return places


# --- what the page shows at each claim --------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """Where one use of a claim is typeset: its page and the baseline points where it starts and ends."""

    target: str
    page: int                          # 1-based
    start: tuple[float, float]         # (x, y) in PDF points, y up from the bottom of the page
    end: tuple[float, float] | None    # None when the end mark is missing (an old theme)


def _identity(pdf: Path) -> tuple:
    """A PDF as it is now: its path, inode, size and modification time (a rebuilt PDF is another)."""
    st = Path(pdf).stat()
    return str(Path(pdf).resolve()), st.st_ino, st.st_size, st.st_mtime_ns


def claim_marks(pdf: Path) -> dict[str, Mark]:
    """target -> Mark for every \\claim in the PDF."""
    return dict(_marks(_identity(pdf)))


@functools.lru_cache(maxsize=8)  # several checks of one PDF read its destinations once
def _marks(pdf: tuple) -> dict[str, Mark]:
    from pypdf import PdfReader

    reader = PdfReader(pdf[0])
    points = {}
    for name, dest in reader.named_destinations.items():
        try:
            page = reader.get_destination_page_number(dest) + 1
        except Exception:  # noqa: BLE001 - a destination without a page is simply not reported
            continue
        if dest.left is None or dest.top is None:
            continue
        points[str(name)] = (page, (float(dest.left), float(dest.top)))
    marks = {}
    for name, (page, start) in points.items():
        if name.endswith(START):
            target = name[:-len(START)]
            end = points.get(target + END)
            marks[target] = Mark(target, page, start, end[1] if end and end[0] == page else None)
    return marks


def _glyphs(pdf: Path, pages=None) -> dict[int, list]:
    """page (1-based) -> its glyphs as (x0, x1, y0, y1, text), read by pdfminer without layout analysis
    (the page check's reading, `geometry.read_pages`, which keeps what it read); only the `pages`
    given (every page if None)."""
    from .geometry import read_pages

    return {page.number: [(g.x0, g.x1, g.y0, g.y1, g.text) for g in page.glyphs]
            for page in read_pages(pdf, pages)}


def _on_baseline(glyph, y: float, slack: float = 0.5) -> bool:
    return glyph[2] - slack <= y <= glyph[3] + slack


def _run(glyphs: list, y: float, x: float, rightwards: bool) -> list:
    """The glyphs on the baseline y from x on, rightwards (or leftwards), while they stay one run of
    text: a gap wider than a glyph's height ends it (the next column, a figure beside the text)."""
    line = sorted((g for g in glyphs if _on_baseline(g, y)), key=lambda g: g[0], reverse=not rightwards)
    run = []
    for g in line:
        centre = (g[0] + g[1]) / 2
        if (centre < x) if rightwards else (centre > x):
            continue
        if run:
            gap = g[0] - run[-1][1] if rightwards else run[-1][0] - g[1]
            if gap > g[3] - g[2]:
                break
        elif (g[0] - x if rightwards else x - g[1]) > g[3] - g[2]:
            break                                                  # nothing at the mark itself
        run.append(g)
    return run if rightwards else run[::-1]


def text_between(glyphs: list, mark: Mark) -> str:
    """The glyphs typeset between a claim's start and end marks (a glyph counts by its centre)."""
    (x0, y0), (x1, y1) = mark.start, mark.end
    if abs(y1 - y0) < 0.5:                                       # on one line
        picked = sorted((g for g in glyphs if _on_baseline(g, y0) and x0 <= (g[0] + g[1]) / 2 <= x1),
                        key=lambda g: g[0])
    else:                                                        # broken across lines
        first, last = _run(glyphs, y0, x0, True), _run(glyphs, y1, x1, False)
        left = min((g[0] for g in last), default=x1)
        right = max((g[1] for g in first), default=x0)
        middle = sorted((g for g in glyphs if y1 + 1 < g[2] and g[3] < y0 - 1
                         and left - 0.5 <= g[0] and g[1] <= right + 0.5), key=lambda g: (-g[2], g[0]))
        picked = first + middle + last
    return "".join(g[4] for g in picked)


def normalise(text: str) -> str:
    """Compare without whitespace (a thin space is a gap, not a glyph) and with ligatures unfolded."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def check_claims_shown(pdf: Path, uses: list[dict]) -> list[str]:
    """For every use of a claim (build/slides/*.uses.json), the text between its marks must be the
    claim's text.  Returns the problems, each naming part, frame, page and claim."""
    marks = claim_marks(pdf)
    glyphs = _glyphs(pdf, {marks[u["target"]].page for u in uses if u["target"] in marks})  # the pages it needs
    problems = []
    for use in uses:
        where = (f"{use['template']}:{','.join(str(n) for n in use.get('lines', []))}, "
                 + (", ".join(f"\u201c{frame_title(f)}\u201d" for f in use.get("frames", [])) or "(no frame)"))
        mark = marks.get(use["target"])
        if mark is None:
            problems.append(f"{use['part'] if 'part' in use else use['target'].split(':')[0]} {where}: claim "
                            f"{use['claim']} has no mark {use['target']!r} in the PDF (is \\claim the theme's?)")
            continue
        part = use["target"].split(":")[0]
        if mark.end is None:
            problems.append(f"{part} {where}, page {mark.page}: claim {use['claim']}: no end mark on the page "
                            f"of its start (the text breaks across pages, or \\claim lost its end mark)")
            continue
        shown = text_between(glyphs.get(mark.page, []), mark)
        if normalise(shown) != normalise(use["text"]):
            problems.append(f"{part} {where}, page {mark.page}: claim {use['claim']} should read "
                            f"{use['text']!r} but the page shows {shown!r} there")
    return problems
