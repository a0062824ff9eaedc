"""The claims ledger: build/ledger.html indexes every claim; build/ledger/<id>.html accounts for one
(value, the computation with its values, inputs and sources, slides, pages)."""
import json
import xml.etree.ElementTree as ET

import pytest

from conftest import require_build
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


def claim_page(cid):
    return ET.parse(BUILD / "ledger" / f"{cid}.html").getroot()


def _text(node):
    return "".join(node.itertext())


def test_every_claim_has_a_row_and_a_page_of_its_own(built, page):
    rows = {r.get("id"): r for r in page.iter(f"{{{NS['h']}}}tr") if r.get("class") == "claim"}
    assert set(rows) == {r["id"] for r in built}
    # the row (ledger.html#ridge.H100) links to the claim's page, which exists and is small
    links = [a.get("href") for a in rows["ridge.H100"].iter(f"{{{NS['h']}}}a")]
    assert "ledger/ridge.H100.html" in links
    pages = sorted((BUILD / "ledger").glob("*.html"))
    assert {p.stem for p in pages} == {r["id"] for r in built}
    assert max(p.stat().st_size for p in pages) < 100_000  # one claim never needs the whole ledger
    assert (BUILD / "ledger.html").stat().st_size < 300_000


def test_ridge_point_shows_its_formula_values_inputs_sources_and_page():
    from mlsysim_deck.pages import claim_pages

    entry = claim_page("ridge.H100")
    text = _text(entry)
    assert "295 FLOP/B" in text  # 989.4e12 / 3.35e12 = 295.34
    # the formula, from sympy: AI_ridge = Peak / BW, as MathML ...
    maths = list(entry.iter(f"{{{NS['m']}}}math"))
    frac = maths[0].find(".//m:mfrac", NS)
    assert [mi.text for mi in frac.iter(f"{{{NS['m']}}}mi")] == ["Peak", "BW"]
    # ... beside it the same formula with the values put in, and its result (4 digits)
    substituted = "".join(maths[1].itertext())
    assert "9.894\u00b710" in substituted and "3.35\u00b710" in substituted and substituted.endswith("295.3")
    # the formula's label sits in the same table row as the formula
    row = next(r for r in entry.iter(f"{{{NS['h']}}}tr") if r.get("class") == "final")
    assert "ridge_point" in _text(row) and row.find(".//m:mfrac", NS) is not None
    # the claim's own code
    assert 'claims.quantity(f"ridge.{key}", lambda hw=hw: Engine.ridge_point(hw)' in text
    # the spec values read, with their sources and file:line
    assert "hardware.H100.memory_bandwidth" in text and "3.35 TB/s" in text
    assert "GPU memory bandwidth 3.35 TB/s" in text  # the datasheet source in hardware.toml
    assert "engine/mlsysim/specs/hardware.toml:" in text
    # the page link agrees with the PDF's named destination for this use of the claim
    page_no = claim_pages(BUILD / "deck.pdf")["01_roofline:ridge.H100:1"]
    links = [a.get("href") for a in entry.iter(f"{{{NS['h']}}}a")]
    assert f"../deck.pdf#page={page_no}" in links


def test_a_computed_claim_shows_its_intermediate_values():
    text = _text(claim_page("llama.memory_time"))
    # Llama-3 8B: parameters from the architecture, then the bytes of a decode step, then the time
    for step in ("parameter_count", "matmul_parameters", "decode_bytes", "memory_time"):
        assert step in text
    assert "(the claim\u2019s value)" in text  # memory_time's result is the claim (in s, shown in ms)
    # each call shows its values where the formula shows its symbols, term by term:
    # Bytes_decode = B·KV_token·S + P_mm·b, at batch 1 and 4,096 tokens of context, with
    # KV_token = 2·8·32·2·128 = 131,072 B and P_mm = 8.03e9 − 128,256·4,096 = 7.505e9 parameters
    # at 2 B each: 1·131,072·4,096 + 7.505e9·2 = 1.555e10 B
    maths = ["".join(m.itertext()) for m in claim_page("llama.memory_time").iter(f"{{{NS['m']}}}math")]
    assert "Bytesdecode=B\u00b7KVtoken\u00b7S+Pmm\u00b7b" in maths
    assert "Bytesdecode=1\u00b71.311\u00b7105\u00b74096+7.505\u00b7109\u00b72=1.555\u00b71010" in maths


def test_a_workload_choice_says_it_has_no_formula_and_no_input():
    text = _text(claim_page("resnet.batch"))
    assert "no derived formula" in text and "reads no spec value" in text


def test_self_contained_and_deterministic(built, tmp_path):
    from mlsysim_deck.ledger import write_ledger

    out = tmp_path / "ledger.html"
    write_ledger(BUILD / "claims.json", BUILD / "deck.pdf", SPECS, out)
    assert out.read_bytes() == (BUILD / "ledger.html").read_bytes()
    written = sorted(p.name for p in (tmp_path / "ledger").glob("*.html"))
    assert written == sorted(p.name for p in (BUILD / "ledger").glob("*.html"))
    for name in written:
        assert (tmp_path / "ledger" / name).read_bytes() == (BUILD / "ledger" / name).read_bytes(), name
    for path in [out, *(tmp_path / "ledger").glob("*.html")]:
        html = path.read_text(encoding="utf-8")
        for outside in ("src=\"http", "href=\"http", "<link", "@import", "url("):
            assert outside not in html, path.name
        ET.fromstring(html.split("\n", 1)[1])  # every page is well-formed XHTML


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


@pytest.mark.parametrize("material", ["deck", "notes", "handout", "exercises", "solutions"])
def test_destinations_read_from_the_typeset_pages_are_the_pdfs(material):
    # The ledger's pages come from build/tex/<material>.xdv, whose destinations xdvipdfmx copies into
    # the PDF page for page (the first of each name standing): the same as pypdf reads from the PDF.
    # So for every material, the notes' pages set beside the deck's and the handout's chosen from
    # them too (tests that read a material's claim pages read them so: test_materials.py)
    from pypdf import PdfReader

    from mlsysim_deck.pages import destination_pages

    reader = PdfReader(str(require_build(BUILD / f"{material}.pdf")))
    in_pdf = {str(name): reader.get_destination_page_number(d) + 1 for name, d in reader.named_destinations.items()}
    assert len(in_pdf) > (1000 if material in ("deck", "notes", "handout") else 50)
    assert destination_pages(require_build(BUILD / "tex" / f"{material}.xdv")) == in_pdf


def test_claim_pages_read_from_the_typeset_pages_only_where_the_pdf_was_made_from_them(tmp_path):
    import os
    import shutil

    from mlsysim_deck.pages import claim_pages

    pdf = require_build(BUILD / "deck.pdf")
    in_pdf = claim_pages(pdf)
    assert len(in_pdf) > 1000
    # claim_pages reads the typeset pages only where the PDF was made from them: a copy whose .xdv
    # is newer than its PDF (typeset again, not yet assembled) is read from the PDF
    (tmp_path / "tex").mkdir()
    shutil.copy2(pdf, tmp_path / "deck.pdf")
    (tmp_path / "tex" / "deck.xdv").write_bytes(b"not a DVI file")
    newer = (tmp_path / "deck.pdf").stat().st_mtime_ns + 10**9
    os.utime(tmp_path / "tex" / "deck.xdv", ns=(newer, newer))
    from_pdf = claim_pages(tmp_path / "deck.pdf")
    assert from_pdf == in_pdf
    older = newer - 2 * 10**9
    os.utime(tmp_path / "tex" / "deck.xdv", ns=(older, older))
    with pytest.raises(ValueError, match="not a DVI file"):
        claim_pages(tmp_path / "deck.pdf")


# --- a claim's computation, as evaluated (what the ledger shows) ---------------------------------


def _evaluated(part: str, claim_id: str):
    from mlsysim import spec
    from mlsysim_deck.claims import load_claims

    spec.reset()  # (the engine's own spec files)
    return load_claims(ROOT / "slides" / part / "claims.py").items[claim_id].evaluate()


def test_a_claims_computation_lists_each_formula_with_its_arguments_and_result():
    # H100 ridge point: 989.4e12 FLOP/s / 3.35e12 B/s = 295.343 FLOP/B, one formula
    ridge = _evaluated("01_roofline", "ridge.H100")
    assert ridge.formulas == ["ridge_point"]
    [step] = ridge.steps
    assert step["formula"] == "ridge_point"
    assert step["args"] == {"peak_flops": 989.4e12, "bandwidth": 3.35e12}
    assert step["result"] == pytest.approx(295.343, rel=1e-5)
    # Ring AllReduce of Llama-3 8B's BF16 gradients over 8 GPUs: the parameter count (8,030,261,248),
    # then 2 x 7/8 x 16,060,522,496 B / 450e9 B/s + 2 x 7 x 0.47 us = 0.0624576 + 0.0000066 = 0.0624642 s
    ring = _evaluated("04_distributed", "dist.ar16.per_dir")
    assert ring.formulas == ["parameter_count", "ring_allreduce_time"]
    assert [s["formula"] for s in ring.steps] == ["parameter_count", "ring_allreduce_time"]  # innermost first
    assert ring.steps[0]["result"] == 8_030_261_248
    last = ring.steps[-1]
    assert last["args"]["message"] == 16_060_522_496 and last["args"]["n"] == 8
    assert last["args"]["bw"] == pytest.approx(450e9) and last["args"]["alpha"] == pytest.approx(0.47e-6)
    assert last["result"] == pytest.approx(0.0624642, rel=1e-5)
    # evaluated again, the same account (the models' caches are emptied first)
    assert _evaluated("04_distributed", "dist.ar16.per_dir").steps == ring.steps


def test_a_formula_a_claims_file_imports_by_name_is_recorded_too(tmp_path):
    # the engine looks the formulas up in their modules; a part's claims.py may import one by name:
    # its calls are in the claim's account as well (1e15 FLOP/s / 2e12 B/s = 500 FLOP/B)
    from mlsysim_deck.claims import load_claims

    part = tmp_path / "slides" / "99_extra"
    part.mkdir(parents=True)
    (part / "claims.py").write_text(
        "from mlsysim.core.formulas import ridge_point\n"
        "from mlsysim_deck import Claims\n\n"
        "claims = Claims(__file__)\n"
        "claims.number(\"extra.ridge\", lambda: ridge_point(1e15, 2e12), fmt=\".0f\")\n", encoding="utf-8")
    claim = load_claims(part / "claims.py").items["extra.ridge"].evaluate()
    assert claim.value == 500 and claim.formulas == ["ridge_point"]
    assert claim.steps == [{"formula": "ridge_point", "args": {"peak_flops": 1e15, "bandwidth": 2e12}, "result": 500.0}]


def test_untraced_code_calls_the_formulas_themselves():
    # a claim that times a solve (untraced) runs the engine as a user would: the formulas, not the
    # wrappers that record them for the ledger; the recording goes on after the block
    import mlsysim
    from mlsysim.core import _derived
    from mlsysim_deck.claims import formulas_called, untraced

    ridge_point = _derived.ridge_point
    with formulas_called() as called:
        assert _derived.ridge_point is not ridge_point  # recorded
        with untraced():
            assert _derived.ridge_point is ridge_point
            mlsysim.Engine.ridge_point(mlsysim.Hardware.Cloud.A100)
        assert called == set()
        mlsysim.Engine.ridge_point(mlsysim.Hardware.Cloud.H100)
    assert called == {"ridge_point"} and _derived.ridge_point is ridge_point
