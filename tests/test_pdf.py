"""The compiled deck: every claim reads right at the place it is shown."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, require_build
from mlsysim_deck.pages import normalise  # no whitespace, ligatures unfolded (ﬀ -> ff)


def read_pdf(pdf, dests: bool = True):
    """(text of each page, named destination -> 0-based page) of a compiled PDF.  The destinations
    (every claim's mark, every reveal's marker) are read as the ledger reads them (`pages.claim_pages`:
    from the typeset pages the PDF was assembled from, whose destinations test_ledger.py shows are
    the PDF's); none, an empty dict, where `dests` is false."""
    from mlsysim_deck.pages import claim_pages

    # Two readings of each page: layout order (tables) and content-stream order (text beside figures).
    readings = [subprocess.run(["pdftotext", mode, str(pdf), "-"], capture_output=True, text=True,
                               check=True).stdout.split("\f") for mode in ("-layout", "-raw")]
    pages = ["\n".join(texts) for texts in zip(*readings)]
    return pages, ({name: page - 1 for name, page in claim_pages(pdf).items()} if dests else {})


@pytest.fixture(scope="module")
def deck():
    """The text of each page (for titles and the agenda; claims are checked at their marks)."""
    return read_pdf(require_build(BUILD / "deck.pdf"), dests=False)[0]


@pytest.fixture(scope="module")
def uses():
    require_build(BUILD / "claims.json")
    found = []
    for path in sorted((BUILD / "slides").glob("*.uses.json")):
        found.extend(json.loads(path.read_text(encoding="utf-8"))["uses"])
    return found


def test_every_part_is_in_the_deck(deck):
    from mlsysim_deck.build import parts

    pages = deck
    text = normalise("".join(pages))
    for part in parts(ROOT / "slides"):
        assert normalise(part["title"]) in text


def test_every_claim_reads_right_where_it_is_shown(uses):
    """Each use of a claim, at its marks: the glyphs between the \\claim's start and end destinations
    are the claim's text (not just somewhere on the page: a one-character claim is checked in place)."""
    from mlsysim_deck.pages import check_claims_shown, claim_marks

    pdf = require_build(BUILD / "deck.pdf")
    shown = [u for u in uses if shown_in("deck", u)]  # the deck hides the speaker notes
    assert len(shown) >= 442, f"only {len(shown)} claim uses on the deck's slides"
    problems = check_claims_shown(pdf, shown)
    assert not problems, f"{len(problems)} of {len(shown)} claim uses are wrong on the page:\n" + "\n".join(problems)
    # not vacuous: every use has both marks, and the short claims (one or two characters) are among them
    marks = claim_marks(pdf)
    assert all(marks[u["target"]].end is not None for u in shown)
    assert sum(len(normalise(u["text"])) <= 2 for u in shown) >= 50


def test_a_wrong_value_at_its_mark_is_found_with_part_frame_page_and_claim(uses):
    """The real deck, with the expected text of "8 GPUs per node" changed to 4: the check fails and
    names where, though a 4 is elsewhere on that page."""
    from mlsysim_deck.pages import check_claims_shown

    pdf = require_build(BUILD / "deck.pdf")
    use = next(u for u in uses if u["claim"] == "dist.node_gpus")
    assert use["text"] == "8"  # the research cluster's node: 8 H100s (cluster spec, gpus_per_node)
    problems = check_claims_shown(pdf, [use | {"text": "4"}])
    assert len(problems) == 1
    assert problems[0].startswith("04_distributed slides/04_distributed/slides.tex.j2:")
    assert "\u201cHierarchical AllReduce: NVLink, Then the Network\u201d, page " in problems[0]
    assert problems[0].endswith("claim dist.node_gpus should read '4' but the page shows '8' there")


def test_a_pdf_rebuilt_in_place_is_read_again(tmp_path, uses):
    # pages.py reads each PDF's marks and glyphs once per process: a PDF rebuilt at the same path
    # (a test's second build) is another PDF, and is read again
    import os
    import shutil

    from mlsysim_deck.pages import check_claims_shown, claim_marks

    pdf = tmp_path / "material.pdf"
    shutil.copy(require_build(BUILD / "deck.pdf"), pdf)
    use = next(u for u in uses if u["claim"] == "dist.node_gpus")  # on the deck, not on the answer key
    assert use["target"] in claim_marks(pdf) and check_claims_shown(pdf, [use]) == []
    rebuilt = tmp_path / "rebuilt.pdf"
    shutil.copy(require_build(BUILD / "solutions.pdf"), rebuilt)
    os.replace(rebuilt, pdf)  # as the build moves a new PDF into place
    assert use["target"] not in claim_marks(pdf)
    assert "has no mark" in check_claims_shown(pdf, [use])[0]


# A small deck's head, as the build's masters begin (templates/deck.tex.j2): the class in OT1, the
# packages (precompiled into a format by compile_pdf), the dump point, then fonts and theme.
MINI_HEAD = r"""\renewcommand\encodingdefault{OT1}\fontencoding{OT1}\selectfont
\documentclass[aspectratio=169,11pt]{beamer}
\input{preamble}
\csname endofdump\endcsname
\input{preamble-fonts}
"""

MINI = MINI_HEAD + r"""\begin{document}
\begin{frame}{Marks}
  A node has \claim{t:node:1}{4} GPUs; the cluster has 8 nodes.
  \begin{itemize}
    \item \claim{t:ridge:1}{295\,FLOP/B} at the start of an item
  \end{itemize}
  \begin{columns}[T]
    \begin{column}{0.4\textwidth}
      A long verdict that wraps: \claim{t:verdict:1}{memory-bound on all three accelerators, every one of them}.
    \end{column}
    \begin{column}{0.5\textwidth}
      beside it, other text at the same height: 295 and 8
    \end{column}
  \end{columns}
  \[ T = \claim{t:math:1}{2} \cdot L \]
\end{frame}
\begin{frame}{Reveal}
  Question first\only<1>{\hypertarget{t:answer:1}{}} (an anchor with the answer's name);
  \claim{t:both:1}{16} on both overlays.
  \pause
  \only<2>{The answer: \claim{t:answer:1}{7}.}
\end{frame}
\end{document}
"""


def test_marks_locate_short_claims_items_wrapped_text_math_and_overlays(tmp_path):
    """A small deck with the real theme: each claim is read at its marks.  A substring test would
    pass "8" for the node (8 is on the page); the marks show 4 there."""
    from mlsysim_deck.build import compile_pdf
    from mlsysim_deck.pages import check_claims_shown

    (tmp_path / "deck.tex").write_text(MINI)
    compile_pdf(tmp_path, ROOT / "templates")
    use = lambda target, text: {"claim": target.split(":")[1], "target": target, "text": text,  # noqa: E731
                                "template": "mini.tex.j2", "lines": [1], "frames": ["Marks"]}
    good = [use("t:node:1", "4"), use("t:ridge:1", "295 FLOP/B"),
            use("t:verdict:1", "memory-bound on all three accelerators, every one of them"), use("t:math:1", "2")]
    # overlays: a claim on both overlays is read on the first; an answer on the second overlay is read
    # there, though a destination of its name (the question's anchor) comes first
    good += [use("t:both:1", "16"), use("t:answer:1", "7")]
    assert check_claims_shown(tmp_path / "deck.pdf", good) == []
    assert check_claims_shown(tmp_path / "deck.pdf", [use("t:answer:1", "16")]) == [
        "t mini.tex.j2:1, \u201cMarks\u201d, page 3: claim answer should read '16' but the page shows '7' there"]
    wrong = check_claims_shown(tmp_path / "deck.pdf", [use("t:node:1", "8"), use("t:ridge:1", "296 FLOP/B")])
    assert wrong == ["t mini.tex.j2:1, \u201cMarks\u201d, page 1: claim node should read '8' but the page shows '4' there",
                     "t mini.tex.j2:1, \u201cMarks\u201d, page 1: claim ridge should read '296 FLOP/B' but the page "
                     "shows '295FLOP/B' there"]
    missing = check_claims_shown(tmp_path / "deck.pdf", [use("t:gone:1", "1")])
    assert len(missing) == 1 and "has no mark 't:gone:1' in the PDF" in missing[0]


def test_claims_json_lists_every_claim_with_its_slides(claims_json):
    ids = [c["id"] for c in claims_json["claims"]]
    assert len(ids) == len(set(ids))
    ridge = next(c for c in claims_json["claims"] if c["id"] == "ridge.H100")
    # 989.4 / 3.35 = 295.3 FLOP/B
    assert ridge["text"] == "295 FLOP/B" and ridge["unit"] == "FLOP/B"
    assert set(ridge["inputs"]) == {"hardware.H100.peak_flops", "hardware.H100.memory_bandwidth"}
    assert any(s["frames"] == ["The Ridge Point: A Chip's Signature"] for s in ridge["slides"])


def test_agenda_lists_the_parts_of_the_day_and_no_other(deck):
    """The agenda and every roadmap list the whole day: the parts this deck builds and the afternoon's
    parts of slides/afternoon.toml (their slides are another deck's); no appendix."""
    import tomllib

    from mlsysim_deck.build import parts

    pages = deck
    roadmaps = [p for p in pages if "Roadmap: You Are Here" in p]
    agenda = [p for p in pages if "The Day at a Glance" in p]
    built = {p["number"] for p in parts(ROOT / "slides") if not p.get("appendix")}  # the parts built here
    later = tomllib.loads((ROOT / "slides" / "afternoon.toml").read_text(encoding="utf-8"))["part"]
    assert len(later) >= 1 and not built & {p["number"] for p in later}
    assert len(roadmaps) == len(built) - 1 and len(agenda) == 1
    for page in agenda + roadmaps:
        listed = {int(n) for n in re.findall(r"Part (\d+):", page)}
        assert listed == built | {p["number"] for p in later}
        for part in later:  # a part without slides here says so on its row
            assert re.search(rf"Part {part['number']}: {re.escape(part['title'])}\s+separate deck", page)


# --- every material: build/deck.pdf, notes.pdf, handout.pdf, exercises.pdf, solutions.pdf ------------


def shown_in(material: str, use: dict) -> bool:
    """Whether a claim use is typeset in a material (notes only in notes.pdf; the exercise sheet
    keeps its sheet frames without their answers; the answer key adds the solution frames)."""
    from mlsysim_deck.render import SHEET_KINDS, SOLUTION_KIND

    if use.get("note"):
        return material == "notes"
    labels = use.get("labels", [])
    if material == "exercises":
        return not use.get("answer") and any(label.startswith(SHEET_KINDS) for label in labels)
    if material == "solutions":
        return any(label.startswith(SHEET_KINDS + (SOLUTION_KIND,)) for label in labels)
    return True


@pytest.mark.parametrize("material", ["deck", "notes", "handout", "exercises", "solutions"])
def test_every_material_shows_its_claims(material, uses):
    """The compiled-PDF check on each material: every claim it should show reads right at its marks,
    and it marks no claim it should not show (a note in the deck, an answer on the exercise sheet)."""
    from mlsysim_deck.pages import check_claims_shown, claim_marks

    pdf = require_build(BUILD / f"{material}.pdf")
    expected = [u for u in uses if shown_in(material, u)]
    assert len(expected) >= 10, f"{material}.pdf: only {len(expected)} claims expected: the selection is broken"
    if material == "notes":
        # a note's claims run in prose a third of the page wide, where a long one is hyphenated
        # ("se-quence"), which the glyph check between the marks reads as another text: here the claim
        # is checked on the page its destination names.
        pages, dests = read_pdf(pdf)
        problems = [f"{u['claim']} = {u['text']!r} not on page {dests[u['target']] + 1} ({u['template']}:{u['lines']})"
                    if u["target"] in dests else f"{u['claim']} ({u['template']}:{u['lines']}): no destination"
                    for u in expected
                    if u["target"] not in dests or normalise(u["text"]) not in normalise(pages[dests[u["target"]]])]
        marks = dests
    else:
        problems = check_claims_shown(pdf, expected)
        marks = claim_marks(pdf)
    assert not problems, f"{material}.pdf: {len(problems)} claim uses wrong:\n" + "\n".join(problems)
    stray = sorted(u["target"] for u in uses if not shown_in(material, u) and u["target"] in marks)
    assert not stray, f"{material}.pdf shows claims it should not: {stray}"


def test_the_precompiled_preamble_is_only_a_cache(tmp_path, monkeypatch):
    # The class and packages come from a XeLaTeX format made once (build/tex/preamble-*.fmt); a
    # format drops what the packages put on the page list while loading, which preamble-fonts.tex
    # puts back.  The exercise sheet compiled without the format must be the same bytes.
    import shutil

    from mlsysim_deck.build import compile_pdf

    made = require_build(BUILD / "exercises.pdf")
    log = (BUILD / "tex" / "exercises.log").read_text(errors="replace").splitlines()[0]
    assert "preloaded format=" in log and "preamble-" in log, f"the build did not use the format: {log}"
    copy = tmp_path / "build"
    shutil.copytree(BUILD, copy, ignore=lambda d, names: [n for n in names if n.endswith(".fmt") or n.startswith(
        ("ledger", ".doit", "claims")) or (Path(d) == BUILD and n.endswith(".pdf"))])  # (what LaTeX reads)
    monkeypatch.setenv("MLSYSIM_TEX_FORMAT", "0")
    compile_pdf(copy, ROOT / "templates", "exercises")
    assert "preloaded format=xelatex" in (copy / "tex" / "exercises.log").read_text(errors="replace").splitlines()[0]
    assert (copy / "exercises.pdf").read_bytes() == made.read_bytes()


def test_the_users_cache_spares_a_new_build_folder_the_format_and_the_second_pass(tmp_path, monkeypatch):
    # A build from an empty build/ (a test's copy, CI's second build) finds two things in the user's
    # cache folder: the precompiled preamble, named after what it holds, and the auxiliary files the
    # same sources settled on, so its first pass is its last.  Both are only a start: a stale set of
    # auxiliary files costs passes, never a different page.
    import json
    import shutil

    from mlsysim_deck.build import AUXILIARY, assemble, typeset

    monkeypatch.setenv("MLSYSIM_CACHE", str(tmp_path / "cache"))
    made = require_build(BUILD / "exercises.pdf").read_bytes()

    def empty_copy(name):  # the build's sources for the sheet, none of LaTeX's files
        copy = tmp_path / name / "build"
        shutil.copytree(BUILD, copy, ignore=lambda d, names: [n for n in names if n.endswith((".fmt", ".pdf")) or
                                                             n.startswith(("ledger", ".doit", "claims"))])
        for ext in AUXILIARY:
            (copy / "tex" / f"exercises{ext}").unlink(missing_ok=True)
        return copy

    passes = {}
    for name in ("first", "second"):
        copy = empty_copy(name)
        (copy / "tex" / "preamble-0123456789abcdef.fmt").write_bytes(b"a format kept in build/tex before")
        passes[name] = typeset(copy, ROOT / "templates", "exercises")
        assemble(copy, ROOT / "templates", "exercises")
        assert (copy / "exercises.pdf").read_bytes() == made, name
        assert not list(copy.rglob("*.fmt"))
    assert passes == {"first": 2, "second": 1}  # from nothing: the frame total and outline need a pass
    formats = list((tmp_path / "cache" / "tex").glob("preamble-*.fmt"))
    assert len(formats) == 1, formats  # made by the first folder, used by the second
    assert formats[0].read_bytes()[:2] != b"\x1f\x8b"  # kept as XeTeX reads it fastest: not gzipped
    assert f"preloaded format={formats[0].stem}" in (copy / "tex" / "exercises.log").read_text(errors="replace")

    # a stale set: the solutions sheet's files remembered as the exercise sheet's
    [remembered] = (tmp_path / "cache" / "aux").glob("exercises-*.json")
    stale = {ext: (BUILD / "tex" / f"solutions{ext}").read_text(encoding="latin-1")
             if (BUILD / "tex" / f"solutions{ext}").exists() else None for ext in AUXILIARY}
    remembered.write_text(json.dumps(stale), encoding="utf-8")
    copy = empty_copy("stale")
    assert typeset(copy, ROOT / "templates", "exercises") >= 2
    assemble(copy, ROOT / "templates", "exercises")
    assert (copy / "exercises.pdf").read_bytes() == made


def test_a_second_latex_pass_runs_while_the_auxiliary_files_change(tmp_path, monkeypatch):
    # The build runs XeLaTeX again only while a pass changes the .aux (and its kin): a forward
    # reference is unresolved ("??") after one pass and reads "1" (its section) after two.  (An
    # empty cache: no auxiliary files remembered from an earlier run of this test.)
    import shutil

    from mlsysim_deck.build import assemble, typeset

    if shutil.which("xelatex") is None:
        pytest.fail("xelatex is missing: run `bash build.sh` first")
    monkeypatch.setenv("MLSYSIM_CACHE", str(tmp_path / "cache"))
    (tmp_path / "forward.tex").write_text("\\documentclass{article}\\begin{document}"
                                          "See section \\ref{later}.\\section{Later}\\label{later}"
                                          "\\end{document}\n", encoding="utf-8")
    assert typeset(tmp_path, ROOT / "templates", "forward") == 2
    assemble(tmp_path, ROOT / "templates", "forward")
    text = subprocess.run(["pdftotext", str(tmp_path / "forward.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "See section 1." in text, text
    assert "??" not in text



def test_a_figure_redrawn_at_its_size_needs_no_new_pass(tmp_path):
    # `typeset` places each figure at the size its file has and `assemble` reads the figure as it is
    # then: a figure redrawn at the same size (a spec edit) only re-assembles; one of a new size is
    # placed again first.  The page prints the width it placed the figure at.
    from matplotlib.figure import Figure

    from mlsysim_deck.build import assemble, typeset

    def draw(word, inches):
        fig = Figure(figsize=inches)
        fig.text(0.1, 0.5, word)
        (tmp_path / "figures").mkdir(exist_ok=True)
        fig.savefig(tmp_path / "figures" / "f.pdf", format="pdf", metadata={"CreationDate": None})

    def text():
        return subprocess.run(["pdftotext", str(tmp_path / "fig.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout

    (tmp_path / "fig.tex").write_text("\\documentclass{article}\\usepackage{graphicx}\\begin{document}"
                                      "\\sbox0{\\includegraphics{figures/f.pdf}}placed at \\the\\wd0\\par\\box0"
                                      "\\end{document}\n", encoding="utf-8")
    xdv = tmp_path / "tex" / "fig.xdv"
    draw("first", (2, 1))
    typeset(tmp_path, ROOT / "templates", "fig")
    assemble(tmp_path, ROOT / "templates", "fig")
    assert "placed at 144.5" in text() and "first" in text()  # 2 in = 144 bp = 144 · 72.27/72 = 144.54 pt
    typeset_at = xdv.stat().st_mtime_ns
    draw("second", (2, 1))
    assemble(tmp_path, ROOT / "templates", "fig")
    assert "second" in text() and "first" not in text()
    assert xdv.stat().st_mtime_ns == typeset_at  # no new pass
    draw("third", (3, 1))
    assemble(tmp_path, ROOT / "templates", "fig")
    assert "third" in text() and "placed at 216.8" in text()  # 3 in = 216 bp = 216.81 pt: placed again
    assert xdv.stat().st_mtime_ns != typeset_at


def test_pages_typeset_again_into_the_same_bytes_keep_their_time(tmp_path):
    # doit assembles no new PDF from pages that came out the same, so they keep their time: the PDF
    # is then no older than its pages, and claim_pages reads the pages instead of the PDF
    from mlsysim_deck.build import typeset

    tex = tmp_path / "one.tex"
    xdv = tmp_path / "tex" / "one.xdv"
    tex.write_text("\\documentclass{article}\\begin{document}one page\\end{document}\n", encoding="utf-8")
    typeset(tmp_path, ROOT / "templates", "one")
    os.utime(xdv, ns=(1, 1_000_000_000))  # long ago, so a new time shows
    first = xdv.read_bytes()
    typeset(tmp_path, ROOT / "templates", "one")
    assert xdv.read_bytes() == first and xdv.stat().st_mtime_ns == 1_000_000_000
    tex.write_text("\\documentclass{article}\\begin{document}another page\\end{document}\n", encoding="utf-8")
    typeset(tmp_path, ROOT / "templates", "one")
    assert xdv.read_bytes() != first and xdv.stat().st_mtime_ns > 1_000_000_000


def long_floats(text: str) -> list[str]:
    """Numbers with a decimal point and more than four significant digits (133.17053399222152)."""
    return [n for n in re.findall(r"\d[\d,]*\.\d+", text) if len(n.replace(",", "").replace(".", "").lstrip("0")) > 4]


def test_listing_output_prints_no_float_with_more_than_four_significant_digits():
    # Quantities print for people (133 ms, 4.64 ms): a raw float in a listing's output is a defect on
    # the slide.
    outputs = sorted(require_build(BUILD / "listings").glob("*/*.out"))
    assert len(outputs) >= 20, outputs  # every listing ran
    found = [f"{out.relative_to(BUILD)}: {n}" for out in outputs for n in long_floats(out.read_text(encoding="utf-8"))]
    assert found == []


def test_the_rule_sees_a_raw_float_and_passes_a_readable_one():
    assert long_floats("TTFT: 133.17053399222152 ms") == ["133.17053399222152"]
    assert long_floats("TTFT: 133 ms, ITL 4.64 ms, 0.537 GB, 16,384 tokens, 1,234.5 s") == ["1,234.5"]


@pytest.mark.parametrize("material", ["deck", "handout"])
def test_no_tooling_words_on_a_slide(material):
    # The audience came for physics: no "sympy" on any page, and the reference deck is named only by
    # the errata appendix ("What Changed from the Reference Deck"), where provenance belongs.
    pages, _ = read_pdf(require_build(BUILD / f"{material}.pdf"), dests=False)
    errata_pages = [i for i, text in enumerate(pages) if "What Changed from the Reference Deck" in text]
    assert errata_pages, "the errata appendix is missing"
    assert [i + 1 for i, text in enumerate(pages) if "sympy" in text.lower()] == []
    assert [i + 1 for i, text in enumerate(pages)
            if "the reference" in text.lower() and i not in errata_pages] == []


LISTING_MINI = MINI_HEAD + r"""\begin{document}
\begin{frame}[fragile]{Listing}
\mlslisting{code.py}{code.out}
\end{frame}
\end{document}
"""


def test_a_listing_prints_its_lines_as_they_are(tmp_path):
    # The lines come coloured from Python (mlsysim_deck.highlight) and XeLaTeX sets them as they are:
    # "(≤ 1" stays "(≤ 1" (the listings package once set it as "≤( 1"), TeX's special characters
    # print as themselves, and the spaces that line up a listing are kept.
    from mlsysim_deck.build import compile_pdf
    from mlsysim_deck.highlight import code_tex, output_tex

    code = "if t_ms (≤ 1) and α → 0:  # 50% of {x}\n    print('a_b $ & ~ ^ \\\\ #')\n"
    (tmp_path / "code.py.tex").write_text(code_tex(code), encoding="utf-8")
    (tmp_path / "code.out.tex").write_text(output_tex("latency (≈ 4.8 ms) ≥ 2 → memory-bound\nx   y\n"),
                                           encoding="utf-8")
    (tmp_path / "deck.tex").write_text(LISTING_MINI, encoding="utf-8")
    compile_pdf(tmp_path, ROOT / "templates")
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "deck.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r" +", " ", text)
    assert "if t_ms (≤ 1) and α → 0: # 50% of {x}" in flat, text
    assert "print('a_b $ & ~ ^ \\\\ #')" in flat, text
    assert "latency (≈ 4.8 ms) ≥ 2 → memory-bound" in flat, text
    assert "x   y" in text, text  # three spaces, as printed


def test_a_listing_line_too_wide_for_its_box_stops_the_build(tmp_path):
    from mlsysim_deck.build import BuildError, typeset
    from mlsysim_deck.highlight import code_tex, output_tex

    (tmp_path / "code.py.tex").write_text(code_tex("x = 1  # " + "wide " * 40 + "\n"), encoding="utf-8")
    (tmp_path / "code.out.tex").write_text(output_tex("1\n"), encoding="utf-8")
    (tmp_path / "deck.tex").write_text(LISTING_MINI, encoding="utf-8")
    # the error names the listing file and line (typeset raises it; the doit action reports it)
    with pytest.raises(BuildError, match=r"code\.py\.tex:1: .*A line of code\.py\.tex is [\d.]+pt too wide for its box"):
        typeset(tmp_path, ROOT / "templates")
    assert not (tmp_path / "deck.pdf").exists()


def test_a_figures_font_carries_no_layout_tables():
    # figures/_style.py leaves the OpenType layout tables out of each figure's embedded font (a PDF never
    # reads them; cutting them down was a fifth of drawing the figures)
    import io

    from fontTools.ttLib import TTFont
    from pypdf import PdfReader

    figure = require_build(BUILD / "figures" / "roofline.pdf")
    fonts = [f.get_object() for page in PdfReader(str(figure)).pages
             for f in page["/Resources"]["/Font"].values()]
    files = [d["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
             for f in fonts for d in (f["/DescendantFonts"][0].get_object(),)]
    assert files, "the figure embeds no TrueType font"
    for data in files:
        tables = set(TTFont(io.BytesIO(data)).keys())
        assert "glyf" in tables and not tables & {"GSUB", "GPOS", "GDEF"}, sorted(tables)


def test_a_figures_font_cut_from_the_cache_is_the_cut_made_afresh(tmp_path, monkeypatch):
    # figures/_style.py keeps each cut of DejaVu Sans in the user's cache (kind "fonts"): a figure
    # drawn with the cache empty, then from it, then with the cache off is the same bytes each time.
    import matplotlib

    from mlsysim_deck.build import run_figure

    (tmp_path / "build" / "figures").mkdir(parents=True)
    (tmp_path / "build" / "claims").symlink_to(require_build(BUILD / "claims"))  # (what the lint reads)
    drawn = {}
    # (figures/_style.py sets matplotlib's rcParams for the figures: put them back for the other tests
    # this process runs, which draw pages of their own)
    with matplotlib.rc_context():
        for run, cache in (("cold", tmp_path / "cache"), ("warm", tmp_path / "cache"), ("off", "off")):
            monkeypatch.setenv("MLSYSIM_CACHE", str(cache))
            out = tmp_path / "build" / "figures" / f"{run}.pdf"
            run_figure(ROOT / "figures" / "precision.py", out, ROOT / "engine" / "mlsysim" / "specs")
            drawn[run] = out.read_bytes()
            if run == "cold":
                assert list((tmp_path / "cache" / "fonts").glob("*.json")), "no font cut was kept"
    assert drawn["cold"] == drawn["warm"] == drawn["off"]


def test_a_figure_drawn_before_from_the_same_sources_and_values_comes_from_the_cache(tmp_path, fresh_specs):
    # With its sources (dodo.py passes the figure task's file_dep), a figure is kept in the user's
    # cache under its code and the values of the spec keys its drawing read: the same code and the
    # same values give the figure drawn before (not drawn again); a value it read moved draws it again;
    # a value it never read does not.  AllReduce scaling reads the H100's NVLink, not its memory.
    import shutil

    import matplotlib

    from mlsysim_deck import build
    from workflow_support import copy_specs, set_spec_value

    monkeypatch = fresh_specs
    monkeypatch.setenv("MLSYSIM_CACHE", str(tmp_path / "cache"))
    specs = copy_specs(tmp_path / "specs")
    monkeypatch.setenv("MLSYSIM_SPECS", str(specs))
    (tmp_path / "build" / "figures").mkdir(parents=True)
    (tmp_path / "build" / "claims").symlink_to(require_build(BUILD / "claims"))  # (what the lint reads)
    script = ROOT / "figures" / "allreduce_scaling.py"
    sources = sorted((ROOT / "figures").glob("_*.py"))
    drawings = []
    real_run_path = build.runpy.run_path

    def counted(*args, **kwargs):
        drawings.append(args[0])
        return real_run_path(*args, **kwargs)

    monkeypatch.setattr(build.runpy, "run_path", counted)

    def figure(name, **kw):
        from mlsysim import spec

        spec.reset()
        out = tmp_path / "build" / "figures" / f"{name}.pdf"
        inputs = build.run_figure(script, out, specs, **kw)
        return out.read_bytes(), inputs

    with matplotlib.rc_context():  # (figures/_style.py sets rcParams: put them back for other tests)
        first, inputs = figure("first", sources=sources)
        assert len(drawings) == 1 and "hardware.H100.scaleup_bandwidth_total" in inputs["spec_inputs"]
        assert figure("again", sources=sources) == (first, inputs) and len(drawings) == 1  # from the cache
        assert figure("afresh")[0] == first and len(drawings) == 2  # (no sources: drawn) the same bytes
        set_spec_value(specs, "hardware", "H100", "memory_bandwidth",
                       '{ value = 4.0, unit = "TB/s", source = "what-if" }')
        assert figure("unread", sources=sources) == (first, inputs) and len(drawings) == 2  # a key it never read
        set_spec_value(specs, "hardware", "H100", "scaleup_bandwidth_total",
                       '{ value = 1000, unit = "GB/s", source = "what-if" }')
        moved, moved_inputs = figure("moved", sources=sources)
        assert len(drawings) == 3 and moved != first  # the legend says NVLink (500 GB/s each way) now
        assert moved_inputs["spec_inputs"]["hardware.H100.scaleup_bandwidth_total"] == '"1000 GB/s"'
        edited = tmp_path / "_edited_style.py"
        shutil.copy(sources[0], edited)
        edited.write_text(edited.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
        figure("helper edited", sources=[edited, *sources[1:]])
        assert len(drawings) == 4  # another source: drawn again
    monkeypatch.setenv("MLSYSIM_FIGURE_CACHE", "0")
    with matplotlib.rc_context():
        figure("cache off", sources=sources)
    assert len(drawings) == 5
