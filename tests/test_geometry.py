"""Page geometry: every page of every material is legible (mlsysim_deck.geometry).

Each check is shown to catch its defect on small PDFs drawn here with matplotlib, and to pass a clean
page.  `python -m mlsysim_deck.geometry build/*.pdf` runs it on the materials, and a test holds
every page of every material to it.
"""

from conftest import BUILD, require_build
from mlsysim_deck.geometry import check_pdf

MATERIALS = ["deck", "notes", "handout", "exercises", "solutions"]  # the five PDFs the build makes

W, H = 453.5, 255.1  # a Beamer 16:9 page, in points


def draw(tmp_path, name, paint):
    """A one-page PDF of the deck's size; `paint(ax)` draws on it in points from the bottom left."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["pdf.fonttype"] = 42
    fig = plt.figure(figsize=(W / 72, H / 72))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, W)
    ax.set_ylim(0, H)
    ax.axis("off")
    ax.text(20, 225, "Frame Title", fontsize=14)
    paint(ax)
    path = tmp_path / f"{name}.pdf"
    fig.savefig(path, metadata={"CreationDate": None})
    plt.close(fig)
    return path


def problems(tmp_path, name, paint):
    return check_pdf(draw(tmp_path, name, paint))


def test_a_clean_page_passes(tmp_path):
    def paint(ax):
        ax.text(20, 150, "Readable words at eight points", fontsize=8)
        ax.plot([20, 430], [120, 120], color="black", linewidth=0.8)  # a rule between lines, not through
        ax.text(20, 100, "More words below the rule", fontsize=8)

    assert problems(tmp_path, "clean", paint) == []


def test_small_text_is_named_with_its_size(tmp_path):
    found = problems(tmp_path, "small", lambda ax: ax.text(20, 150, "tiny label", fontsize=4))
    assert len(found) == 1
    assert 'small.pdf p.1 "Frame Title": text smaller than 6 pt (smallest 4.0 pt)' in found[0]
    assert "'tiny label'" in found[0]


def test_overlapping_words(tmp_path):
    def paint(ax):
        ax.text(20, 150, "stacked", fontsize=9)
        ax.text(24, 151, "clash", fontsize=9)

    found = problems(tmp_path, "overlap", paint)
    assert any("words overlap: 'stacked' / 'clash'" in p for p in found), found


def test_lines_set_into_each_other(tmp_path):
    # Lines 4 pt apart at 9 pt: each line's descenders run into the next one's letters, as
    # a column of text once did over a listing's output (Exercise 2's solution).  Lines 8 pt apart,
    # tighter than usual leading, are fine.
    def paint(ax):
        ax.text(20, 150, "output line", fontsize=9)
        ax.text(30, 146, "explanation", fontsize=9)
        ax.text(20, 100, "tight upper", fontsize=9)
        ax.text(20, 92, "tight lower", fontsize=9)

    found = problems(tmp_path, "lines", paint)
    assert any("words overlap" in p and "explanation" in p for p in found), found
    assert not any("tight" in p for p in found), found


def test_a_rule_through_a_word(tmp_path):
    def paint(ax):
        ax.text(20, 150, "struck", fontsize=9)
        ax.plot([10, 200], [153, 153], color="black", linewidth=0.5)

    found = problems(tmp_path, "struck", paint)
    assert any("a rule or box edge runs through 'struck'" in p for p in found), found


def test_a_box_drawn_over_a_word(tmp_path):
    from matplotlib.patches import Rectangle

    def paint(ax):
        ax.text(20, 150, "hidden", fontsize=9, zorder=1)
        ax.add_patch(Rectangle((10, 140), 200, 30, facecolor="#dce8f7", edgecolor="none", zorder=2))

    found = problems(tmp_path, "hidden", paint)
    assert any("painted over by a box drawn after it: 'hidden'" in p for p in found), found


def test_text_on_the_footline(tmp_path):
    def paint(ax):
        ax.plot([22, 431], [17.5, 17.5], color="gray", linewidth=0.4)  # the footline's rule
        ax.text(22, 6.3, "tutorial", fontsize=7)  # the footline itself
        ax.text(22, 19.5, "overflowing sentence", fontsize=8)  # body text down on the rule

    found = problems(tmp_path, "footline", paint)
    assert any("text in the footline band: 'overflowing sentence'" in p for p in found), found
    assert not any("'tutorial'" in p for p in found), found


def test_text_off_the_page(tmp_path):
    found = problems(tmp_path, "off", lambda ax: ax.text(440, 150, "overhanging", fontsize=9))
    assert any("text off the page: 'overhanging'" in p for p in found), found


def test_a_rule_painted_out_behind_a_label_is_fine(tmp_path):
    """A gridline under a label with an opaque background does not run through the label."""
    def paint(ax):
        ax.plot([10, 200], [153, 153], color="black", linewidth=0.5)
        ax.text(20, 150, "labelled", fontsize=9, bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})

    assert problems(tmp_path, "painted_out", paint) == []


def test_every_page_of_every_material_is_legible():
    require_build(BUILD / "deck.pdf")
    pdfs = sorted(BUILD.glob("*.pdf"))  # every PDF the build made, the five materials among them
    assert {f"{m}.pdf" for m in MATERIALS} <= {p.name for p in pdfs}
    # the handout's pages are the deck's own (the same content, resources and fonts: tests/test_handout.py)
    pdfs = [p for p in pdfs if p.name != "handout.pdf"]
    problems = [problem for pdf in pdfs for problem in check_pdf(pdf)]
    assert problems == [], "\n".join(problems)


def test_the_sweep_finds_the_pairs_that_comparing_every_pair_finds():
    # check_page finds overlapping words in one sweep from left to right; on random pages of boxes
    # (touching edges among them: they do not overlap) it gives the pairs, in the order, of the
    # plain loop over every pair
    import random

    from mlsysim_deck.geometry import _overlap, _overlapping

    rng = random.Random(1)
    found = 0
    for _ in range(200):
        groups = []
        for _ in range(rng.randint(0, 30)):
            group = []
            for _ in range(rng.randint(1, 3)):
                x, y, w, h = rng.uniform(0, 100), rng.uniform(0, 100), rng.uniform(0, 15), rng.uniform(0, 15)
                if rng.random() < 0.2:
                    x, w = round(x), round(w)
                group.append((x, y, x + w, y + h))
            groups.append(group)
        every = [(i, j) for i in range(len(groups)) for j in range(i + 1, len(groups))
                 if any(_overlap(a, b) for a in groups[i] for b in groups[j])]
        assert _overlapping(groups) == every
        found += len(every)
    assert found > 500  # the pages do have overlaps to find


def test_pages_read_a_few_at_a_time_are_the_pages_read_at_once(tmp_path):
    # read_pages keeps what it read (the claims' check asks for the pages with marks, the page check
    # for all): pages read first in part, then the rest, are what one reading of the whole gives
    # (two copies of the exercise sheet: two PDFs to it, each read afresh)
    import dataclasses
    import shutil

    from mlsysim_deck.geometry import read_pages

    def plain(pages):
        return [(p.number, p.width, p.height, [dataclasses.astuple(g) for g in p.glyphs],
                 [dataclasses.astuple(x) for x in p.paints]) for p in pages]

    sheet = require_build(BUILD / "exercises.pdf")
    in_parts, at_once = shutil.copy(sheet, tmp_path / "parts.pdf"), shutil.copy(sheet, tmp_path / "whole.pdf")
    assert [p.number for p in read_pages(in_parts, [2, 5])] == [2, 5]
    whole = plain(read_pages(at_once))
    assert len(whole) >= 10 and sum(len(p[3]) for p in whole) > 1000  # (a sheet's pages, with words)
    assert plain(read_pages(in_parts)) == whole
