"""The handout and the notes are made of the deck's typeset pages (mlsysim_deck.xdv): the handout is
the deck's last page of each frame; the notes set each deck page beside its note page.  Checked on DVI
files written here byte by byte, read back by xdvipdfmx, then on the build."""
import re
import shutil
import struct
import subprocess

import pytest

from conftest import BUILD, require_build
from mlsysim_deck.xdv import FONT_OFFSET, XdvError, beside, final_overlays, pages, select_final_overlays, specials

PUSH, POP = 141, 142


def xxx(text: str) -> bytes:
    data = text.encode()
    return (bytes([239, len(data)]) if len(data) < 256 else bytes([242]) + struct.pack(">I", len(data))) + data


def fnt_def(k: int, name: str = "cmr10") -> bytes:
    """fnt_def1: font k is TeX's `name` at 10 pt (its design size), checksum not given."""
    return bytes([243, k]) + struct.pack(">III", 0, 655360, 655360) + bytes([0, len(name)]) + name.encode()


def dvi(bodies: list[bytes], fonts: bytes = b"") -> bytes:
    """A DVI file as XeTeX writes one (id 7): each body between its bop and eop, a postamble with
    `fonts`' definitions, padded with 223 to a multiple of four bytes."""
    out = bytearray([247, 7]) + struct.pack(">III", 25400000, 473628672, 1000) + bytes([0])
    previous = -1
    for n, body in enumerate(bodies, 1):
        here = len(out)
        out += bytes([139]) + struct.pack(">10i", n, *[0] * 9) + struct.pack(">i", previous) + body + bytes([140])
        previous = here
    post = len(out)
    out += bytes([248]) + struct.pack(">iIIIIIHH", previous, 25400000, 473628672, 1000, 0, 0, 1, len(bodies))
    out += fonts + bytes([249]) + struct.pack(">I", post) + bytes([7])
    out += bytes([223]) * (4 + (-(len(out) + 4)) % 4)
    return bytes(out)


LABELS = "pdf:docview <</PageLabels<</Nums[0<</P(1)>>1<</P(2)>>3<</P(3)>>]>>>>"
# Frame 1 is page 1; frame 2 is pages 2 (its first overlay) and 3; frame 3 is page 4.
DECK = [
    # (named destinations kept as named, as templates/preamble-fonts.tex asks)
    xxx("pdf:pagesize width 100pt height 50pt") + xxx("dvipdfmx:config C 0x0010") + xxx(LABELS)
    + xxx("pdf:dest (title) [@thispage /Fit]"),
    # the first overlay: a shading drawn once (moves and specials inside), an ExtGState, a page-only
    # drawing, a destination the last overlay repeats and one it lacks
    xxx("pdf:pagesize width 100pt height 50pt") + xxx("pdf:bxobj @shade width 10pt height 10pt depth 0pt")
    + bytes([PUSH, 143, 5]) + xxx("pdf:code 0 0 m 1 1 l S") + bytes([POP]) + xxx("pdf:exobj")
    + xxx("pdf:obj @gs <<>>") + xxx("pdf:put @gs << /CA 0.5 >>") + xxx("pdf:code 1 0 0 rg")
    + xxx("pdf:dest (both) [@thispage /Fit]") + xxx("pdf:dest (first-only) [@thispage /Fit]"),
    xxx("pdf:pagesize width 100pt height 50pt") + xxx("pdf:dest (both) [@thispage /Fit]") + xxx("pdf:uxobj @shade")
    + xxx("pdf:code 0 0 1 rg"),
    xxx("pdf:pagesize width 100pt height 50pt") + xxx("pdf:ann width 5pt height 5pt depth 0pt "
                                                      "<< /Subtype /Link /A << /S /GoTo /D (first-only) >> >>"),
]
FRAMES = [(1, 1), (2, 3), (4, 4)]


def test_the_handout_keeps_each_frames_last_page():
    deck = dvi(DECK)
    handout = select_final_overlays(deck, FRAMES)
    _, kept, post = pages(handout)
    _, originals, _ = pages(deck)
    assert len(kept) == 3
    assert len(handout) % 4 == 0 and handout.endswith(bytes([223]) * 4)
    assert struct.unpack(">H", post[27:29])[0] == 3  # the postamble's page count
    # frames 1 and 3 are their pages as they were (only the bop's pointer back differs)
    assert kept[0][45:] != originals[0][45:]  # (page 1 carries the new page labels, below)
    assert kept[2][45:] == originals[3][45:] and kept[2][:41] == originals[3][:41]
    # frame 2: its last page, after what its first overlay defined for the whole document
    texts = [t.decode() for _, _, t in specials(kept[1])]
    assert texts == ["pdf:bxobj @shade width 10pt height 10pt depth 0pt", "pdf:code 0 0 m 1 1 l S", "pdf:exobj",
                     "pdf:obj @gs <<>>", "pdf:put @gs << /CA 0.5 >>", "pdf:dest (first-only) [@thispage /Fit]",
                     "pdf:pagesize width 100pt height 50pt", "pdf:dest (both) [@thispage /Fit]",
                     "pdf:uxobj @shade", "pdf:code 0 0 1 rg"]
    # the shading moved whole, inside a push and a pop: its own move and stack with it
    assert kept[1][45:47] == bytes([PUSH, 239])
    # page labels: the deck's pages 1, 3, 4 (indices 0, 2, 3) were 1, 2, 3
    first = [t.decode() for _, _, t in specials(kept[0])]
    assert "pdf:docview <</PageLabels<</Nums[0<</P(1)>>1<</P(2)>>2<</P(3)>>]>>>>" in first


def test_xdvipdfmx_reads_the_handout(tmp_path):
    from pypdf import PdfReader

    if shutil.which("xdvipdfmx") is None:
        pytest.skip("no xdvipdfmx: run `bash build.sh` first")
    (tmp_path / "h.xdv").write_bytes(select_final_overlays(dvi(DECK), FRAMES))
    subprocess.run(["xdvipdfmx", "-q", "-o", "h.pdf", "h.xdv"], cwd=tmp_path, check=True, capture_output=True)
    pdf = PdfReader(str(tmp_path / "h.pdf"))
    assert len(pdf.pages) == 3
    assert pdf.page_labels == ["1", "2", "3"]
    dests = {name: pdf.get_destination_page_number(d) for name, d in pdf.named_destinations.items()}
    # the link on frame 3 points at a destination of frame 2's first overlay: it lands on frame 2
    assert dests == {"title": 0, "both": 1, "first-only": 1}
    resources = pdf.pages[1]["/Resources"]
    assert "/XObject" in resources  # the shading the last overlay uses


def test_what_cannot_move_is_an_error():
    text = bytes([PUSH, 65, POP])  # a character (set_char 65): its font was chosen elsewhere on the page
    deck = list(DECK)
    deck[1] = xxx("pdf:bxobj @shade width 10pt height 10pt depth 0pt") + text + xxx("pdf:exobj")
    with pytest.raises(XdvError, match="page 2 draws text inside a reusable PDF object"):
        select_final_overlays(dvi(deck), FRAMES, "deck.xdv")
    deck[1] = xxx("mystery: a special no one knows")
    with pytest.raises(XdvError, match="page 2 holds a special the handout cannot place: b'mystery"):
        select_final_overlays(dvi(deck), FRAMES, "deck.xdv")
    with pytest.raises(XdvError, match="do not cover its 4 pages"):
        select_final_overlays(dvi(DECK), [(1, 1), (2, 3)], "deck.xdv")


def test_frames_come_from_beamers_nav_file():
    nav = ("\\headcommand {\\beamer@framepages {1}{1}}\n\\headcommand {\\slideentry {0}{0}{1}{2/3}{}{0}}\n"
           "\\headcommand {\\beamer@framepages {2}{3}}\n")
    assert final_overlays(nav) == [(1, 1), (2, 3)]


def test_every_handout_page_is_the_decks_last_page_of_its_frame():
    from pypdf import PdfReader

    deck = PdfReader(str(require_build(BUILD / "deck.pdf")))
    handout = PdfReader(str(require_build(BUILD / "handout.pdf")))
    labels = deck.page_labels  # the frame number of each page
    last = {label: i for i, label in enumerate(labels)}  # each frame's last page
    assert len(last) < len(labels), "deck.pdf has no overlays"
    assert len(handout.pages) == len(last)
    def fonts(page):
        found = page["/Resources"].get_object().get("/Font")
        return sorted(str(f.get_object()["/BaseFont"]) for f in found.get_object().values()) if found else []

    for page, index in zip(handout.pages, sorted(last.values())):
        assert page.get_contents().get_data() == deck.pages[index].get_contents().get_data()
        # the same resources by name, and the same fonts (tests/test_geometry.py reads the deck's)
        resources, theirs = page["/Resources"].get_object(), deck.pages[index]["/Resources"].get_object()
        assert {k: sorted(v.get_object()) for k, v in resources.items() if hasattr(v.get_object(), "keys")} == \
            {k: sorted(v.get_object()) for k, v in theirs.items() if hasattr(v.get_object(), "keys")}
        assert fonts(page) == fonts(deck.pages[index])
        assert page.mediabox == deck.pages[index].mediabox


# --- the notes: each deck page beside its note page ---------------------------------------------------

SIZE = "pdf:pagesize width 100pt height 50pt"
# Both files number their own fonts from 0: font 0 is cmr10 in the deck and cmbx10 in the notes.
SLIDES = [xxx(SIZE) + xxx("dvipdfmx:config C 0x0010") + xxx("pdf:trailerid [<00> <00>]") + fnt_def(0)
          + bytes([171, 65]),  # fnt_num_0, "A"
          xxx(SIZE) + bytes([171, 66])]
NOTES = [xxx(SIZE) + xxx("pdf:docview <</PageLabels<</Nums[0<</P(x)>>]>>>>") + fnt_def(0, "cmbx10")
         + bytes([171, 67]) + xxx("pdf:dest (note-mark) [@thispage /XYZ @xpos @ypos null]"),
         xxx(SIZE) + bytes([171, 68])]


def test_the_notes_set_each_deck_page_beside_its_note_page():
    merged = beside(dvi(SLIDES, fnt_def(0)), dvi(NOTES, fnt_def(0, "cmbx10")))
    _, both, post = pages(merged)
    assert len(both) == 2 and struct.unpack(">H", post[27:29])[0] == 2
    first = [t.decode() for _, _, t in specials(both[0])]
    # the page is twice the deck's width; the deck's ID and the notes' page labels are left out
    assert first[0] == "pdf:pagesize width 200.00000pt height 50pt"
    assert first.count(SIZE) == 0 and not any("trailerid" in t or "docview" in t for t in first)
    assert "pdf:dest (note-mark) [@thispage /XYZ @xpos @ypos null]" in first
    # the deck's page inside a push and a pop, then 100 pt to the right (6,553,600 sp), the note page
    deck_part = bytes([141]) + xxx("dvipdfmx:config C 0x0010") + fnt_def(0) + bytes([171, 65, 142])
    note_font = bytes([246]) + FONT_OFFSET.to_bytes(4, "big") + fnt_def(0, "cmbx10")[2:]
    assert deck_part + bytes([141, 146]) + (100 * 65536).to_bytes(4, "big") + note_font in both[0]
    assert bytes([238]) + FONT_OFFSET.to_bytes(4, "big") + bytes([67]) in both[0]  # fnt4, then "C"
    assert bytes([238]) + FONT_OFFSET.to_bytes(4, "big") + bytes([68]) in both[1]
    with pytest.raises(XdvError, match="1 note pages for the deck's 2 pages"):
        beside(dvi(SLIDES, fnt_def(0)), dvi(NOTES[:1], fnt_def(0, "cmbx10")))


def test_xdvipdfmx_reads_the_notes(tmp_path):
    from pypdf import PdfReader

    if shutil.which("xdvipdfmx") is None:
        pytest.skip("no xdvipdfmx: run `bash build.sh` first")
    (tmp_path / "n.xdv").write_bytes(beside(dvi(SLIDES, fnt_def(0)), dvi(NOTES, fnt_def(0, "cmbx10"))))
    subprocess.run(["xdvipdfmx", "-q", "-o", "n.pdf", "n.xdv"], cwd=tmp_path, check=True, capture_output=True)
    pdf = PdfReader(str(tmp_path / "n.pdf"))
    assert [float(p.mediabox.width) for p in pdf.pages] == pytest.approx([199.25, 199.25], abs=0.1)  # 200 TeX pt
    fonts = [sorted(str(f.get_object()["/BaseFont"]).split("+")[-1] for f in p["/Resources"]["/Font"].values())
             for p in pdf.pages]
    assert fonts == [["CMBX10", "CMR10"], ["CMBX10", "CMR10"]]  # each its own font, though both were font 0
    # the note's destination stands right of the slide: past the deck's 100 pt (99.6 PDF points)
    mark = pdf.named_destinations["note-mark"]
    assert pdf.get_destination_page_number(mark) == 0 and float(mark.left) > 99.6


def test_every_notes_page_is_the_decks_page_beside_its_note():
    from pypdf import PdfReader

    deck = PdfReader(str(require_build(BUILD / "deck.pdf")))
    notes = PdfReader(str(require_build(BUILD / "notes.pdf")))
    assert len(notes.pages) == len(deck.pages)
    assert notes.page_labels == deck.page_labels
    colour = re.compile(rb"(?:-?[\d.]+ ){1,4}(?:RG|rg|G|g|K|k) ")  # (the colour stack starts deeper)

    def drawing(page) -> bytes:
        return colour.sub(b"", page.get_contents().get_data().strip() + b" ")

    for page, slide in zip(notes.pages, deck.pages):
        assert float(page.mediabox.width) == pytest.approx(2 * float(slide.mediabox.width), abs=0.01)
        # the slide's drawing, unchanged, opens the page; the note's follows it
        assert drawing(page).startswith(drawing(slide)[:-2])
