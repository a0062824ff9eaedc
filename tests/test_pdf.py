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


@pytest.fixture(scope="module")
def deck():
    from pypdf import PdfReader

    pdf = require_build(BUILD / "deck.pdf")
    # Two readings of each page: layout order (tables) and content-stream order (text beside figures).
    readings = [subprocess.run(["pdftotext", mode, str(pdf), "-"], capture_output=True, text=True,
                               check=True).stdout.split("\f") for mode in ("-layout", "-raw")]
    pages = ["\n".join(texts) for texts in zip(*readings)]
    reader = PdfReader(str(pdf))
    dests = {name: reader.get_destination_page_number(d) for name, d in reader.named_destinations.items()}
    return pages, dests


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
