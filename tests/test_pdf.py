"""The compiled deck: every claim's text is on the page of the slide that uses it."""
import json
import re
import subprocess
import unicodedata

import pytest

from conftest import BUILD, ROOT, require_build


def normalise(text: str) -> str:
    """Compare without whitespace (pdftotext turns thin spaces into spaces, or drops them) and with
    ligatures unfolded (ﬀ -> ff)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def read_pdf(pdf):
    """(text of each page, named destination -> 0-based page) of a compiled PDF."""
    from pypdf import PdfReader

    # Two readings of each page: layout order (tables) and content-stream order (text beside figures).
    readings = [subprocess.run(["pdftotext", mode, str(pdf), "-"], capture_output=True, text=True,
                               check=True).stdout.split("\f") for mode in ("-layout", "-raw")]
    pages = ["\n".join(texts) for texts in zip(*readings)]
    reader = PdfReader(str(pdf))
    dests = {name: reader.get_destination_page_number(d) for name, d in reader.named_destinations.items()}
    return pages, dests


@pytest.fixture(scope="module")
def deck():
    return read_pdf(require_build(BUILD / "deck.pdf"))


@pytest.fixture(scope="module")
def uses():
    require_build(BUILD / "claims.json")
    found = []
    for path in sorted((BUILD / "slides").glob("*.uses.json")):
        found.extend(json.loads(path.read_text(encoding="utf-8"))["uses"])
    return found


def test_every_part_is_in_the_deck(deck):
    from mlsysim_deck.build import parts

    pages, _ = deck
    text = normalise("".join(pages))
    for part in parts(ROOT / "slides"):
        assert normalise(part["title"]) in text


def test_every_claim_is_on_its_slides_page(deck, uses):
    pages, dests = deck
    assert uses, "no claim is used by any slide"
    missing = []
    for use in uses:
        if use.get("note"):
            continue  # the presenter's deck hides the notes (see test_every_material_shows_its_claims)
        page = dests.get(use["target"])
        if page is None:
            missing.append(f"{use['claim']} ({use['template']}:{use['lines']}): no destination {use['target']}")
        elif normalise(use["text"]) not in normalise(pages[page]):
            missing.append(f"{use['claim']} = {use['text']!r} not on page {page + 1} "
                           f"(slide {use['frames']}, {use['template']}:{use['lines']})")
    assert not missing, "\n".join(missing)


def test_claims_json_lists_every_claim_with_its_slides(claims_json):
    ids = [c["id"] for c in claims_json["claims"]]
    assert len(ids) == len(set(ids))
    ridge = next(c for c in claims_json["claims"] if c["id"] == "ridge.H100")
    # 989.4 / 3.35 = 295.3 FLOP/B
    assert ridge["text"] == "295 FLOP/B" and ridge["unit"] == "FLOP/B"
    assert set(ridge["inputs"]) == {"hardware.H100.peak_flops", "hardware.H100.memory_bandwidth"}
    assert any(s["frames"] == ["The Ridge Point: A Chip's Signature"] for s in ridge["slides"])


def test_agenda_lists_only_the_parts_in_the_deck(deck):
    from mlsysim_deck.build import parts

    pages, _ = deck
    roadmaps = [p for p in pages if "Roadmap: You Are Here" in p]
    numbers = {p["number"] for p in parts(ROOT / "slides")}
    assert len(roadmaps) == len(numbers) - 1
    for page in roadmaps:
        listed = {int(n) for n in re.findall(r"Part (\d+):", page)}
        assert listed == numbers


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
    """The compiled-PDF check on each material: every claim it should show is on the page of its
    destination, and it anchors no destination of a claim it should not show."""
    pages, dests = read_pdf(require_build(BUILD / f"{material}.pdf"))
    expected = [u for u in uses if shown_in(material, u)]
    assert len(expected) >= 10, f"{material}.pdf: only {len(expected)} claims expected: the selection is broken"
    missing = []
    for use in expected:
        page = dests.get(use["target"])
        if page is None:
            missing.append(f"{use['claim']} ({use['template']}:{use['lines']}): no destination {use['target']}")
        elif normalise(use["text"]) not in normalise(pages[page]):
            missing.append(f"{use['claim']} = {use['text']!r} not on page {page + 1} "
                           f"(slide {use['frames']}, {use['template']}:{use['lines']})")
    stray = sorted(u["target"] for u in uses if not shown_in(material, u) and u["target"] in dests)
    assert not missing, f"{material}.pdf:\n" + "\n".join(missing)
    assert not stray, f"{material}.pdf shows claims it should not: {stray}"
