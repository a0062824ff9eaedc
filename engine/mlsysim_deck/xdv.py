"""The handout and the notes are made of the deck's typeset pages.

XeLaTeX writes its pages as XeTeX's extended DVI (build/tex/<job>.xdv), which xdvipdfmx turns into
the PDF.  A DVI file is a preamble, then the pages, each from its `bop` to its `eop`, then a
postamble that lists every font; each `bop` points back at the one before.  So the slides are
typeset once, in the deck's pass, and every slide the handout or the notes show is the deck's own
page, byte for byte:

* the handout is the deck's file with the earlier overlays of each frame left out
  (`select_final_overlays`).  What a left-out page carried for the whole document still has to
  reach the PDF: an object that a later page reuses (a pgf shading drawn once, an ExtGState), the
  outline, and a named destination that a link may point at.  Those move to the start of the
  frame's final page.  The page labels (the frame number of each page) are written on the first
  page for the deck's pages; the handout's first page says them again for its own.
* the notes set each deck page beside its note page (`beside`), which the notes' own pass typeset.
"""
from __future__ import annotations

import re
import struct
from pathlib import Path

BOP, EOP, PUSH, POP, POST, POST_POST = 139, 140, 141, 142, 248, 249


class XdvError(ValueError):
    """The file is not what XeLaTeX writes, or a left-out page holds what cannot be moved."""


def _fixed(n: int) -> dict[int, int]:
    return dict.fromkeys(range(n), 0)


#: The length of each opcode's parameters where it is fixed (DVI, and XeTeX's additions below).
_FIXED = _fixed(128) | {132: 8, 137: 8, 138: 0, PUSH: 0, POP: 0, 147: 0, 152: 0, 161: 0, 166: 0} | {
    op: size for first in (128, 133, 143, 148, 153, 157, 162, 167, 235)
    for op, size in zip(range(first, first + 4), (1, 2, 3, 4))} | dict.fromkeys(range(171, 235), 0)
#: Opcodes that only move, draw rules, or keep the stack: what a carried PDF object may hold.
_PLAIN = {132, 137, 138, PUSH, POP, *range(143, 171)}


def _uint(data: bytes, at: int, size: int) -> int:
    return int.from_bytes(data[at:at + size], "big")


def _commands(page: bytes, at: int = 45, stop: int = EOP):
    """Each command from `at` up to the `stop` opcode: (start, end, opcode).  By default a page's body,
    past its bop and its eleven numbers, up to its eop; the postamble's font definitions run from
    byte 29 to post_post.  Every opcode is walked, so a byte inside a glyph run is never taken for a
    command."""
    while at < len(page) and page[at] != stop:
        op, start = page[at], at
        if op in _FIXED:
            at += 1 + _FIXED[op]
        elif 239 <= op <= 242:  # xxx1..4: a special, k bytes of text
            size = op - 238
            at += 1 + size + _uint(page, at + 1, size)
        elif 243 <= op <= 246:  # fnt_def1..4: k, checksum, scale, design size, the name's two lengths
            size = op - 242
            at += 1 + size + 14 + page[at + 1 + size + 12] + page[at + 1 + size + 13]
        elif op == 252:  # XeTeX: a native font's definition
            flags = _uint(page, at + 9, 2)
            at += 1 + 4 + 4 + 2 + 1 + page[at + 11] + 4
            at += 4 * sum(1 for bit in (0x0200, 0x1000, 0x2000, 0x4000) if flags & bit)
        elif op == 253:  # XeTeX: glyphs, each with its position
            at += 1 + 4 + 2 + 10 * _uint(page, at + 5, 2)
        elif op == 254:  # XeTeX: text with its glyphs
            length = _uint(page, at + 1, 2)
            at += 1 + 2 + 2 * length + 4 + 2 + 10 * _uint(page, at + 3 + 2 * length + 4, 2)
        else:
            raise XdvError(f"opcode {op} at byte {at} of a page is not one XeTeX writes")
        yield start, at, op
    if at >= len(page):
        raise XdvError("a page without its eop" if stop == EOP else "a postamble without its post_post")


def _text(command: bytes, op: int) -> bytes | None:
    """A special's text (xxx1..4: the opcode, the length in 1 to 4 bytes, the text); None for any
    other command."""
    return command[1 + op - 238:] if 239 <= op <= 242 else None


def specials(page: bytes) -> list[tuple[int, int, bytes]]:
    """Each special of one page (`bop` to `eop`): (start, end, text), start and end bounding the
    whole command."""
    return [(start, end, _text(page[start:end], op)) for start, end, op in _commands(page) if 239 <= op <= 242]


def _post(postamble: bytes) -> bytes:
    """The postamble up to its post_post: post and the font definitions (post_post holds the
    pointer back at post and the id, then the padding of 223s)."""
    return postamble[:len(postamble.rstrip(bytes([223]))) - 6]


def _dvi(preamble: bytes, bodies: list[bytes], post: bytes) -> bytes:
    """A DVI file of these pages (each from its bop to its eop; the pointer back at the page before
    is set here) and this postamble (`post` and the font definitions; its pointer at the last page
    and its page count are set here, then post_post and the padding)."""
    out, previous = bytearray(preamble), -1
    for body in bodies:
        here = len(out)
        out += body[:41] + struct.pack(">i", previous) + body[45:]
        previous = here
    post = bytearray(post)
    post[1:5] = struct.pack(">i", previous)
    post[27:29] = len(bodies).to_bytes(2, "big")  # post p num den mag l u s t: t, the page count
    post_at = len(out)
    out += post + bytes([POST_POST]) + post_at.to_bytes(4, "big") + preamble[1:2]  # (q, and the id again)
    out += bytes([223]) * (4 + (-(len(out) + 4)) % 4)  # four to seven, to a multiple of four bytes
    return bytes(out)


def pages(data: bytes) -> tuple[bytes, list[bytes], bytes]:
    """(preamble, pages, postamble): the postamble from `post` to the end of the file."""
    end = len(data)
    while end > 0 and data[end - 1] == 223:
        end -= 1
    if end < 5 or data[0] != 247 or data[end - 6] != POST_POST:
        raise XdvError("not a DVI file as XeTeX writes one")
    post = _uint(data, end - 5, 4)
    if data[post] != POST:
        raise XdvError("the postamble is not where the file says")
    starts, at = [], struct.unpack(">i", data[post + 1:post + 5])[0]
    while at != -1:
        if data[at] != BOP:
            raise XdvError(f"no page starts at byte {at}")
        starts.append(at)
        at = struct.unpack(">i", data[at + 41:at + 45])[0]
    starts.reverse()
    bounds = zip(starts, starts[1:] + [post])
    return data[:starts[0]] if starts else data[:post], [data[a:b] for a, b in bounds], data[post:]


#: Specials that act on their own page only: left out with it.
_PAGE_ONLY = (b"pdf:code", b"pdf:literal", b"pdf:content", b"pdf:bcontent", b"pdf:econtent", b"pdf:bann",
              b"pdf:eann", b"pdf:ann", b"pdf:bcolor", b"pdf:ecolor", b"pdf:scolor", b"pdf:bgcolor",
              b"pdf:btrans", b"pdf:etrans", b"pdf:put @thispage", b"pdf:put @resources", b"pdf:uxobj",
              b"pdf:image", b"pdf:pagesize", b"pdf: ", b"color ", b"x:", b"papersize")
#: Specials that define something for the whole document: moved to the frame's final page.
_DOCUMENT = (b"pdf:obj", b"pdf:put @", b"pdf:outline", b"pdf:out ", b"pdf:docview", b"pdf:docinfo",
             b"pdf:close", b"pdf:stream", b"pdf:fstream", b"pdf:names", b"pdf:majorversion",
             b"pdf:minorversion", b"pdf:trailerid", b"dvipdfmx:config")
DEST = re.compile(rb"pdf:dest\s*\((?P<name>(?:\\.|[^\\)])*)\)")


def _special(text: bytes) -> bytes:
    return (bytes([239, len(text)]) if len(text) < 256 else bytes([242]) + len(text).to_bytes(4, "big")) + text


def carried(page: bytes, kept_names: set[bytes], where: str) -> bytes:
    """What a left-out page hands on to the frame's final page, as DVI commands: the specials that
    define something for the whole document, each reusable object it draws (pdf:bxobj to
    pdf:exobj, inside a push and a pop), and its named destinations that the final page lacks."""
    out, depth, block = [], 0, None
    for start, end, text in specials(page):
        if text.startswith((b"pdf:bxobj", b"pdf:beginxobj", b"pdf:bform")):
            if depth == 0:
                block = start
            depth += 1
        elif text.startswith((b"pdf:exobj", b"pdf:endxobj", b"pdf:eform")):
            depth -= 1
            if depth == 0:
                inner = page[block:end]
                _plain(inner, where)
                out.append(bytes([PUSH]) + inner + bytes([POP]))
        elif depth:
            continue
        elif (dest := DEST.match(text)) is not None:
            if dest.group("name") not in kept_names:
                out.append(_special(text))
                kept_names.add(dest.group("name"))
        elif text.startswith(_PAGE_ONLY):
            continue
        elif text.startswith(_DOCUMENT):
            out.append(_special(text))
        else:
            raise XdvError(f"{where} holds a special the handout cannot place: {text[:60]!r}")
    return b"".join(out)


def _plain(commands: bytes, where: str) -> None:
    """A carried object may hold specials, moves and rules only: no text, whose font is set
    elsewhere on the page."""
    for _, _, op in _commands(commands + bytes([EOP]), at=0):
        if not (239 <= op <= 242 or op in _PLAIN):
            raise XdvError(f"{where} draws text inside a reusable PDF object (opcode {op}): the handout cannot move it")


#: hyperref's page labels, one per range of pages: `<index><</P(<label>)>>`.
LABEL = re.compile(rb"(\d+)<</P(\((?:\\.|[^\\)])*\))>>")
LABELS = re.compile(rb"/PageLabels<</Nums\[(?P<nums>[^\]]*)\]>>")


def relabelled(first: bytes, chosen: list[int]) -> bytes:
    """The first page with its page labels said again for the chosen pages (0-based indices into
    the deck's pages): each chosen page keeps the label it had."""
    for start, end, text in specials(first):
        if (match := LABELS.search(text)) is not None:
            break
    else:
        return first
    ranges = [(int(i), label) for i, label in LABEL.findall(match.group("nums"))]

    def label_of(index: int) -> bytes | None:
        label = None
        for begin, this in ranges:
            if begin > index:
                break
            label = this
        return label

    nums, last = [], None
    for new, old in enumerate(chosen):
        label = label_of(old)
        if label is not None and label != last:
            nums.append(b"%d<</P%s>>" % (new, label))
        last = label
    text = text[:match.start("nums")] + b"".join(nums) + text[match.end("nums"):]
    return first[:start] + _special(text) + first[end:]


def final_overlays(nav: str) -> list[tuple[int, int]]:
    """Each frame's (first, last) page, from beamer's .nav file (\\beamer@framepages)."""
    return [(int(a), int(b)) for a, b in re.findall(r"\\beamer@framepages\s*\{(\d+)\}\{(\d+)\}", nav)]


def select_final_overlays(data: bytes, frames: list[tuple[int, int]], name: str = "deck.xdv") -> bytes:
    """A DVI file of each frame's last page, in order, carrying what its earlier pages defined."""
    preamble, body, postamble = pages(data)
    if not frames or frames[0][0] != 1 or frames[-1][1] != len(body) or any(
            b < a or c != b + 1 for (a, b), (c, _) in zip(frames, frames[1:])) or frames[-1][1] < frames[-1][0]:
        raise XdvError(f"{name}: its .nav file's frames do not cover its {len(body)} pages: typeset it again")
    chosen = [last - 1 for _, last in frames]
    kept = []
    for (first, last), index in zip(frames, chosen):
        page = body[index]
        if first < last:
            names = {m.group("name") for _, _, t in specials(page) if (m := DEST.match(t))}
            handed = b"".join(carried(body[i], names, f"{name} page {i + 1}") for i in range(first - 1, last - 1))
            page = page[:45] + handed + page[45:]
        if not kept:  # the first page: where hyperref wrote the page labels
            page = relabelled(page, chosen)
        kept.append(page)
    return _dvi(preamble, kept, _post(postamble))


def write_handout(tex_dir: Path, source: str = "deck", job: str = "handout") -> int:
    """build/tex/<job>.xdv from build/tex/<source>.xdv and its .nav; returns the page count."""
    from .atomic import write_bytes_atomic

    tex_dir = Path(tex_dir)
    data = (tex_dir / f"{source}.xdv").read_bytes()
    frames = final_overlays((tex_dir / f"{source}.nav").read_text(encoding="latin-1"))
    selected = select_final_overlays(data, frames, f"build/tex/{source}.xdv")
    write_bytes_atomic(tex_dir / f"{job}.xdv", selected)
    return len(frames)


# --- the speaker notes: each deck page beside its note page ----------------------------------------

#: Specials of a note page that speak for the whole document, which the deck's pages say already
#: (its page labels, information and outline would replace the deck's) or that the merge says anew.
_NOTES_DROP = (b"pdf:pagesize", b"pdf:docview", b"pdf:docinfo", b"pdf:outline", b"pdf:out ", b"papersize")
PAGESIZE = re.compile(rb"pdf:pagesize\s+width\s+(?P<width>[\d.]+)pt\s+height\s+(?P<height>[\d.]+)pt")
#: Where a note page's fonts are numbered in the merged file: after every number the deck's can use.
FONT_OFFSET = 1 << 20


def _renumbered(command: bytes, op: int) -> bytes:
    """A font command with its font number moved up by FONT_OFFSET (any other command as it is)."""
    if 171 <= op <= 234:  # fnt_num_0..63
        return bytes([238]) + (op - 171 + FONT_OFFSET).to_bytes(4, "big")
    if 235 <= op <= 238:  # fnt1..4
        size = op - 234
        return bytes([238]) + (_uint(command, 1, size) + FONT_OFFSET).to_bytes(4, "big")
    if 243 <= op <= 246:  # fnt_def1..4
        size = op - 242
        return bytes([246]) + (_uint(command, 1, size) + FONT_OFFSET).to_bytes(4, "big") + command[1 + size:]
    if op == 252:  # a native font's definition
        return bytes([252]) + (_uint(command, 1, 4) + FONT_OFFSET).to_bytes(4, "big") + command[5:]
    return command


def _font_definitions(postamble: bytes) -> list[tuple[int, bytes]]:
    """The postamble's font definitions: (opcode, command), up to post_post."""
    found = []
    for start, end, op in _commands(postamble, at=29, stop=POST_POST):
        if not (243 <= op <= 246 or op in (252, 138)):  # fnt_def1..4, a native font, nop
            raise XdvError(f"opcode {op} in the postamble is not a font definition")
        found.append((op, postamble[start:end]))
    return found


def _is_special(command: bytes, op: int, prefixes: tuple[bytes, ...]) -> bool:
    text = _text(command, op)
    return text is not None and text.startswith(prefixes)


def beside(deck: bytes, notes: bytes, name: str = "notes") -> bytes:
    """Each deck page with its note page to the right of it, on a page twice as wide (pdfpc
    --notes=right): the deck's page as it is, the note page moved right by the deck's width, its
    fonts numbered apart, and what it says for the whole document left to the deck's pages."""
    preamble, slides, deck_post = pages(deck)
    _, note_pages, notes_post = pages(notes)
    if len(slides) != len(note_pages):
        raise XdvError(f"{name}: {len(note_pages)} note pages for the deck's {len(slides)} pages: typeset both again")
    merged = []
    for slide, note in zip(slides, note_pages):
        size, left, right = None, bytearray(), bytearray()
        for start, end, op in _commands(slide):  # (the merged page says its own size; the notes' ID stands)
            text = _text(slide[start:end], op)
            if text is not None and text.startswith(b"pdf:pagesize"):
                size = size or PAGESIZE.match(text)
            elif text is None or not text.startswith(b"pdf:trailerid"):
                left += slide[start:end]
        if size is None:
            raise XdvError(f"{name}: a deck page without its pdf:pagesize")
        for start, end, op in _commands(note):
            if not _is_special(note[start:end], op, _NOTES_DROP):
                right += _renumbered(note[start:end], op)
        width_pt, height = float(size.group("width")), size.group("height").decode()
        width_sp = round(width_pt * 65536)  # TeX points to DVI units (the scaled points XeTeX writes)
        merged.append(slide[:45] + _special(f"pdf:pagesize width {2 * width_pt:.5f}pt height {height}pt".encode())
                      + bytes([PUSH]) + left + bytes([POP, PUSH, 146]) + width_sp.to_bytes(4, "big") + right
                      + bytes([POP, EOP]))
    fonts = [command for _, command in _font_definitions(deck_post)]
    fonts += [_renumbered(command, op) for op, command in _font_definitions(notes_post)]
    post = bytearray(deck_post[:29])
    post[25:27] = (max(_uint(deck_post, 25, 2), _uint(notes_post, 25, 2)) + 1).to_bytes(2, "big")  # stack
    return _dvi(preamble, merged, bytes(post) + b"".join(fonts))
