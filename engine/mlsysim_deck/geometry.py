"""Page geometry: can the audience read every page?

Read from the compiled PDF itself, in the order things are painted (pdfminer, no layout analysis):

* every glyph is at least 6 pt as placed (a figure scaled down shrinks its labels with it);
* no word overlaps another word;
* no rule, stroke or box edge runs through a word;
* no word is painted over by a box drawn after it (a listing hiding a bullet);
* nothing but the footline sits in the footline band (below its rule, and 2 mm above it);
* nothing lies off the page.

    python -m mlsysim_deck.geometry build/deck.pdf [build/handout.pdf ...]

prints one line per problem (``deck.pdf p.36 "PagedAttention: ...": ...``) and exits 1 if any.
"""
from __future__ import annotations

import functools
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

MIN_GLYPH_PT = 6.0
ROUNDING_PT = 0.03  # TeX sets a 6 pt font at 5.9776 pt: within rounding of 6 pt
RULE_THICKNESS_PT = 1.6  # a filled shape thinner than this is a rule, not a box
FOOTLINE_SPAN = 0.7  # the footline rule spans at least this fraction of the page width
FOOTLINE_CLEARANCE_PT = 5.67  # 2 mm: closer than this to the footline's rule, text sits on it


@dataclass
class Glyph:
    text: str
    x0: float
    y0: float  # PDF coordinates: y grows upwards
    x1: float
    y1: float
    size: float
    order: int
    upright: bool = True


@dataclass
class Word:
    glyphs: list[Glyph] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(g.text for g in self.glyphs)

    @functools.cached_property  # (a word's glyphs are all there once Page.words returns it)
    def box(self) -> tuple[float, float, float, float]:
        return (min(g.x0 for g in self.glyphs), min(g.y0 for g in self.glyphs),
                max(g.x1 for g in self.glyphs), max(g.y1 for g in self.glyphs))

    def cores(self) -> list[tuple[float, float, float, float]]:
        """The ink every reader needs: the middle of the letters, away from ascenders and descenders.

        One box for a horizontal word; for a rotated label, a small box at each glyph's centre (the
        glyphs' upright bounding boxes would cover the slope's corners, which hold no ink)."""
        if all(g.upright for g in self.glyphs):
            x0, y0, x1, y1 = self.box
            h = y1 - y0
            return [(x0 + 0.1 * h, y0 + 0.22 * h, x1 - 0.1 * h, y1 - 0.28 * h)]
        boxes = []
        for g in self.glyphs:
            cx, cy, r = (g.x0 + g.x1) / 2, (g.y0 + g.y1) / 2, 0.15 * g.size
            boxes.append((cx - r, cy - r, cx + r, cy + r))
        return boxes


@dataclass
class Paint:
    """A painted path: a stroke (line, outline) or a fill, with its segments and bounding box."""

    kind: str  # "stroke" or "fill"
    x0: float
    y0: float
    x1: float
    y1: float
    segments: list[tuple[float, float, float, float]]
    order: int

    @property
    def thin(self) -> bool:
        return min(self.x1 - self.x0, self.y1 - self.y0) < RULE_THICKNESS_PT


@dataclass
class Page:
    number: int
    width: float
    height: float
    glyphs: list[Glyph]
    paints: list[Paint]

    def words(self) -> list[Word]:
        """Glyphs in painting order, joined while they continue one line without a gap."""
        words: list[Word] = []
        for g in self.glyphs:
            if not g.text.strip():
                continue
            last = words[-1].glyphs[-1] if words else None
            if last is not None and abs(g.size - last.size) < 0.5 and (
                    (g.upright and last.upright and abs(g.y0 - last.y0) < 0.2 * g.size
                     and -0.2 * g.size < g.x0 - last.x1 < 0.12 * g.size)
                    or (not g.upright and not last.upright  # a rotated label: glyph boxes follow its slope
                        and abs(g.x0 - last.x0) + abs(g.y0 - last.y0) < 1.5 * g.size)):
                words[-1].glyphs.append(g)
            else:
                words.append(Word([g]))
        return words

    def title(self) -> str:
        """The frame title: the largest text in the top fifth of the page."""
        top = [g for g in self.glyphs if g.y0 > 0.8 * self.height and g.text.strip()]
        if not top:
            return ""
        biggest = max(g.size for g in top)
        line = [g for g in top if abs(g.size - biggest) < 0.3]
        baseline = max(Counter(round(g.y0) for g in line).items(), key=lambda kv: kv[1])[0]
        text = ""
        last = None
        for g in sorted((g for g in line if round(g.y0) == baseline), key=lambda g: g.x0):
            if last is not None and g.x0 - last.x1 > 0.15 * g.size:
                text += " "
            text += g.text
            last = g
        return text.strip()


#: PDF as it is now (path, inode, size, time) -> page number -> its Page, for the PDFs read last.
_READ: dict[tuple, dict[int, Page]] = {}
READ_KEPT = 16  # (the materials, 30 MB each at most, and the small PDFs tests draw meanwhile)


def read_pages(pdf: Path, numbers=None) -> list[Page]:
    """Every page's glyphs and painted paths (only the pages `numbers`, 1-based, where given), in
    painting order, in page coordinates.  A page is read once in a process while the file is the
    same (its path, inode, size and time): the page check and the claims' check (mlsysim_deck.pages)
    read the same pages.  The pages are shared: read, not changed."""
    from .pages import _identity

    key = _identity(pdf)
    known = _READ.pop(key, {})
    _READ[key] = known  # (the PDF read last goes last; the first is the one to forget)
    while len(_READ) > READ_KEPT:
        del _READ[next(iter(_READ))]
    wanted = None if numbers is None else set(numbers)
    if wanted is None or not wanted <= known.keys():
        _interpret(key[0], known, wanted)
    return [known[n] for n in sorted(known) if wanted is None or n in wanted]


def _interpret(pdf: str, known: dict[int, Page], wanted: set[int] | None) -> None:
    """Read the pages of `pdf` that are `wanted` (every page if None) and not `known` yet into it."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LTChar, LTContainer, LTCurve
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    class Aggregator(PDFPageAggregator):
        """Keeps each glyph's size as placed: its font size times the text matrix's vertical scale."""

        def render_char(self, matrix, font, fontsize, scaling, rise, *args):
            advance = super().render_char(matrix, font, fontsize, scaling, rise, *args)
            self.cur_item._objs[-1].placed_size = fontsize * math.hypot(matrix[2], matrix[3])
            return advance

    manager = PDFResourceManager(caching=True)
    device = Aggregator(manager, laparams=None)  # no layout analysis: painting order kept
    interpreter = PDFPageInterpreter(manager, device)
    with open(pdf, "rb") as handle:
        layouts = []
        for number, pdf_page in enumerate(PDFPage.get_pages(handle), start=1):
            if (wanted is None or number in wanted) and number not in known:
                interpreter.process_page(pdf_page)
                layouts.append((number, device.get_result()))
    for number, layout in layouts:
        glyphs: list[Glyph] = []
        paints: list[Paint] = []
        order = 0

        def visit(item):
            nonlocal order
            order += 1
            if isinstance(item, LTChar):
                a, b, c, d = item.matrix[:4]
                glyphs.append(Glyph(item.get_text(), item.x0, item.y0, item.x1, item.y1, item.placed_size, order,
                                    abs(b) < 1e-3 and abs(c) < 1e-3))
            elif isinstance(item, LTCurve):  # lines and rectangles are curves too
                points = list(item.pts)
                segments = [(*a, *b) for a, b in zip(points, points[1:])]
                if item.fill and len(points) > 2:
                    segments.append((*points[-1], *points[0]))
                if item.stroke:
                    paints.append(Paint("stroke", item.x0, item.y0, item.x1, item.y1, segments, order))
                if item.fill:
                    paints.append(Paint("fill", item.x0, item.y0, item.x1, item.y1, segments, order))
            elif isinstance(item, LTContainer):
                for child in item:
                    visit(child)

        for item in layout:
            visit(item)
        known[number] = Page(number, layout.width, layout.height, glyphs, paints)


# --- geometry helpers ----------------------------------------------------------------------------


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _overlapping(groups: list[list[tuple]]) -> list[tuple[int, int]]:
    """Every pair (i, j), i < j, of groups of boxes where a box of one overlaps a box of the other, in
    that order.  Swept from left to right: a group is compared only with those whose boxes begin
    before its own end (a page holds hundreds of words, and any two far apart cannot touch)."""
    hulls = [(min(b[0] for b in g), min(b[1] for b in g), max(b[2] for b in g), max(b[3] for b in g))
             for g in groups]
    order = sorted(range(len(groups)), key=lambda i: hulls[i][0])
    pairs = []
    for n, i in enumerate(order):
        for j in order[n + 1:]:
            if hulls[j][0] >= hulls[i][2]:
                break  # this one, and every one after it, begins right of group i's end
            if _overlap(hulls[i], hulls[j]) and any(_overlap(x, y) for x in groups[i] for y in groups[j]):
                pairs.append((min(i, j), max(i, j)))
    return sorted(pairs)


def _segment_crosses(seg, box) -> bool:
    """Does the segment pass through the inside of the box? (Liang-Barsky clipping.)"""
    x0, y0, x1, y1 = seg
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if p == 0:
            if q <= 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 >= t1:
            return False
    return True


def _covers(paint: Paint, x: float, y: float) -> bool:
    """Is the point inside the filled path? (Even-odd test over its segments.)"""
    if not (paint.x0 <= x <= paint.x1 and paint.y0 <= y <= paint.y1):
        return False
    inside = False
    for x0, y0, x1, y1 in paint.segments:
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def _strikes(paint: Paint, box) -> bool:
    """A stroke, or a fill thin enough to be a rule, that passes through the box."""
    if paint.kind == "fill" and not paint.thin:
        return False
    if paint.x1 < box[0] or paint.x0 > box[2] or paint.y1 < box[1] or paint.y0 > box[3]:
        return False
    return paint.kind == "fill" or any(_segment_crosses(s, box) for s in paint.segments)


def _footline_rule(page: Page) -> float | None:
    """The height of the footline's rule: a thin, wide line near the bottom of the page."""
    found = [p for p in page.paints if p.thin and p.y1 < 0.2 * page.height
             and p.x1 - p.x0 >= FOOTLINE_SPAN * page.width and p.y1 - p.y0 < 1.0]
    return max((p.y1 for p in found), default=None)


def _quote(words) -> str:
    texts = [w.text for w in words]
    shown = " ".join(texts[:8]) + (" ..." if len(texts) > 8 else "")
    return f"'{shown}'"


# --- the checks ----------------------------------------------------------------------------------


def check_page(page: Page) -> list[str]:
    """Problems found on one page, each a sentence naming the words concerned."""
    problems = []
    words = page.words()

    small = [w for w in words if min(g.size for g in w.glyphs) < MIN_GLYPH_PT - ROUNDING_PT]
    if small:
        smallest = min(g.size for w in small for g in w.glyphs)
        problems.append(f"text smaller than {MIN_GLYPH_PT:g} pt (smallest {smallest:.1f} pt): {_quote(small)}")

    off = [w for w in words if w.box[0] < -0.5 or w.box[1] < -0.5 or w.box[2] > page.width + 0.5
           or w.box[3] > page.height + 0.5]
    if off:
        problems.append(f"text off the page: {_quote(off)}")

    cores = [(w, w.cores()) for w in words]
    clashes = [f"'{words[i].text}' / '{words[j].text}'" for i, j in _overlapping([c for _, c in cores])]
    if clashes:
        problems.append(f"words overlap: {', '.join(clashes[:6])}" + (" ..." if len(clashes) > 6 else ""))

    boxes = [p for p in page.paints if p.kind == "fill" and not p.thin]  # (the others are rules and strokes)
    rules = [p for p in page.paints if not (p.kind == "fill" and not p.thin)]

    def struck_through(w, box):
        strikes = [paint for paint in rules if _strikes(paint, box)]
        if not strikes:
            return False
        x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        first = min(g.order for g in w.glyphs)
        fills = [p for p in boxes if p.order < first and _covers(p, x, y)]
        return any(not any(f.order > paint.order for f in fills) for paint in strikes)  # not painted out

    struck = [w for w, parts in cores if any(struck_through(w, box) for box in parts)]
    if struck:
        problems.append(f"a rule or box edge runs through {_quote(struck)}")

    hidden = []
    for w, parts in cores:
        last = max(g.order for g in w.glyphs)
        centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in parts]
        if any(p.order > last and _covers(p, x, y) for p in boxes for x, y in centres):
            hidden.append(w)
    if hidden:
        problems.append(f"painted over by a box drawn after it: {_quote(hidden)}")

    rule = _footline_rule(page)
    if rule is not None:
        band = rule + FOOTLINE_CLEARANCE_PT
        below = [w for w in words if w.box[1] < band]
        baselines = Counter(round(min(g.y0 for g in w.glyphs), 1) for w in below if w.box[3] < rule)
        foot = baselines.most_common(1)[0][0] if baselines else None
        intruders = [w for w in below if w.box[3] >= rule or round(min(g.y0 for g in w.glyphs), 1) != foot]
        if intruders:
            problems.append(f"text in the footline band: {_quote(intruders)}")
    return problems


def check_pdf(pdf: Path) -> list[str]:
    """Every problem of every page, as `name p.N "frame title": problem`."""
    pdf = Path(pdf)
    found = []
    for page in read_pages(pdf):
        for problem in check_page(page):
            found.append(f"{pdf.name} p.{page.number} \"{page.title()}\": {problem}")
    return found


def main(argv=None) -> int:
    paths = [Path(a) for a in (argv if argv is not None else sys.argv[1:])] or sorted(Path("build").glob("*.pdf"))
    problems = [p for path in paths for p in check_pdf(path)]
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s) in {len(paths)} PDF(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
