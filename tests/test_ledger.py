"""The claims ledger: build/ledger.html accounts for every claim (value, formula, inputs, slides, pages)."""
import json
import xml.etree.ElementTree as ET

import pytest

from workflow_support import IN_CI, ROOT, SPECS

BUILD = ROOT / "build"
NS = {"h": "http://www.w3.org/1999/xhtml", "m": "http://www.w3.org/1998/Math/MathML"}


@pytest.fixture(scope="module")
def built():
    needed = [BUILD / "claims.json", BUILD / "deck.pdf", BUILD / "ledger.html"]
    missing = [p.name for p in needed if not p.exists()]
    if missing:
        if IN_CI:
            pytest.fail(f"build/{missing[0]} is missing: CI must build the deck (`doit`) before the tests")
        pytest.skip(f"no build/{missing[0]} yet: run `doit`")
    return json.loads((BUILD / "claims.json").read_text(encoding="utf-8"))["claims"]


@pytest.fixture(scope="module")
def page(built):
    return ET.parse(BUILD / "ledger.html").getroot()  # well-formed (XHTML), so any browser opens it


def _claim(page, cid):
    for div in page.iter(f"{{{NS['h']}}}div"):
        if div.get("id") == cid:
            return div
    raise AssertionError(f"no entry for {cid}")


def test_every_claim_has_an_entry(built, page):
    ids = {d.get("id") for d in page.iter(f"{{{NS['h']}}}div") if d.get("class") == "claim"}
    assert ids == {r["id"] for r in built}


def test_ridge_point_shows_its_formula_inputs_sources_and_page(page):
    from mlsysim_deck.pages import claim_pages

    entry = _claim(page, "ridge.H100")
    text = "".join(entry.itertext())
    assert "295 FLOP/B" in text  # 989.4e12 / 3.35e12 = 295.34
    # the formula, from sympy: AI_ridge = Peak / BW, as MathML
    frac = entry.find(".//m:mfrac", NS)
    assert [mi.text for mi in frac.iter(f"{{{NS['m']}}}mi")] == ["Peak", "BW"]
    # the spec values read, with their sources and file:line
    assert "hardware.H100.memory_bandwidth" in text and "3.35 TB/s" in text
    assert "GPU memory bandwidth 3.35 TB/s" in text  # the datasheet source in hardware.toml
    assert "engine/mlsysim/specs/hardware.toml:" in text
    # the page link agrees with the PDF's named destination for this use of the claim
    page_no = claim_pages(BUILD / "deck.pdf")["01_roofline:ridge.H100:1"]
    links = [a.get("href") for a in entry.iter(f"{{{NS['h']}}}a")]
    assert f"deck.pdf#page={page_no}" in links


def test_a_workload_choice_says_it_has_no_formula_and_no_input(page):
    text = "".join(_claim(page, "resnet.batch").itertext())
    assert "no derived formula" in text and "reads no spec value" in text


def test_self_contained_and_deterministic(built, tmp_path):
    from mlsysim_deck.ledger import write_ledger

    out = tmp_path / "ledger.html"
    write_ledger(BUILD / "claims.json", BUILD / "deck.pdf", SPECS, out)
    assert out.read_bytes() == (BUILD / "ledger.html").read_bytes()
    html = out.read_text(encoding="utf-8")
    for outside in ("src=\"http", "href=\"http", "<link", "@import", "url("):
        assert outside not in html


def test_symbol_names_follow_the_slides():
    from mlsysim_deck.ledger import plain_name

    assert plain_name(r"\eta_{\text{BW}}") == "\u03b7_BW"
    assert plain_name(r"P_{\text{mm}}") == "P_mm"
    assert plain_name(r"\text{AI}_{\text{ridge}}") == "AI_ridge"


def test_reality_check_section_lists_every_validation_row(built, page):
    """The ledger's Reality check table: one line per row of validation/measurements.toml, its cells
    linking to the row's claims, with the publication in the source column."""
    from mlsysim_deck.validation import load_rows

    lines = {}
    for tr in page.iter(f"{{{NS['h']}}}tr"):
        cells = list(tr)
        if cells and cells[0].get("class") == "key" and len(cells) == 8:
            lines[cells[0].text] = cells
    rows = load_rows()
    assert set(lines) == {r.id for r in rows}
    for r in rows:
        links = [a.get("href") for c in lines[r.id] for a in c.iter(f"{{{NS['h']}}}a")]
        assert f"#reality.{r.id}.predicted" in links and f"#reality.{r.id}.measured" in links
        assert r.raw["publication"] in "".join(lines[r.id][7].itertext())
