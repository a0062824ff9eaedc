"""Errata: every number this deck prints where the reference deck prints another carries an erratum,
and the errata appendix and the ledger list them all.

The reference deck is ../shared/seed/tutorial_part1.tex (tests/errata_support.py reads it frame by frame;
tests/reference_frames.toml matches renamed frames and names each exception with its reason).
"""
import copy
import json
import math
import re

import pytest

import errata_support as E
from conftest import BUILD, ROOT, SEED, require_build, require_shared


@pytest.fixture(scope="module")
def records():
    return json.loads(require_build(BUILD / "claims.json").read_text(encoding="utf-8"))["claims"]


@pytest.fixture(scope="module")
def frames():
    return E.reference_frames(require_shared(SEED))


@pytest.fixture(scope="module")
def mapping():
    return E.load_mapping()


def _report(found):
    return "\n".join(f"  {d}: add erratum=Erratum(reference=..., reason=...) to its declaration" for d in found)


# --- reading the reference's numbers --------------------------------------------------------------


def test_the_reference_numbers_are_read_with_their_units_and_precision():
    numbers = E.numbers_in(r"Throughput 2--5$\times$ higher; at 50\% MFU $T \approx 4.1\;\text{ms}$; "
                           r"\$480K a year; $\sim$35 ms; MFU $<$5\%; 16 GB; 1,307 TFLOPS; 15 GPU-years; "
                           r"$2 \times 32 \times 128$ bytes")
    got = {(n.kind, float(f"{n.low:.6g}"), float(f"{n.high:.6g}")) for n in numbers}  # 4.1e-3, not 0.0040999...
    assert ("ratio", 2.0, 5.0) in got                   # a range: 2 to 5
    assert ("percent", 50.0, 50.0) in got
    assert ("time", 4.1e-3, 4.1e-3) in got              # 4.1 ms in seconds
    assert ("usd", 480e3, 480e3) in got                 # $480K = 480,000 dollars
    assert ("time", 35e-3, 35e-3) in got                # ~35 ms
    assert ("percent", 0.0, 5.0) in got                 # < 5 %: anything below
    assert ("size", 16e9, 16e9) in got
    assert ("flop_rate", 1307e12, 1307e12) in got
    assert ("gpu_time", 15.0, 15.0) in got
    assert not any(n.kind == "ratio" and n.low in (2.0, 32.0) and n.high == n.low for n in numbers), \
        "the factors of a product (2 × 32) are not ratios"
    sixteen = next(n for n in numbers if n.kind == "size")
    # "16 GB" holds what rounds to it: 15.5 to 16.5 GB; 16.06 GB (8.03 B parameters × 2 bytes) does
    assert sixteen.holds(16.06e9) and sixteen.holds(15.5e9) and not sixteen.holds(15.0e9)
    four = next(n for n in numbers if n.kind == "time" and n.low == pytest.approx(4.1e-3))
    assert four.holds(4.14e-3) and not four.holds(4.23e-3)  # 4.23 ms rounds to 4.2, not 4.1


def test_the_reference_notes_timings_are_not_numbers_of_the_frame():
    numbers = E.numbers_in(r"\note{[3 min] Give 60 seconds to think.} 4.8 ms")
    assert [(n.written, n.kind) for n in numbers] == [("4.8 ms", "time")]
    assert numbers[0].low == pytest.approx(4.8e-3) and numbers[0].half_step == pytest.approx(0.05e-3)


# --- the check ---------------------------------------------------------------------------------------


def test_every_departure_from_the_reference_carries_an_erratum(records, frames, mapping):
    found = E.unrecorded(records, frames, mapping)
    assert not found, (f"{len(found)} claims print another number than the reference deck prints on the same "
                       f"frame, and no erratum says why:\n{_report(found)}")


def test_the_check_sees_departures_at_all(records, frames, mapping):
    """Not vacuous: the frames match, and the departures the errata record are found as departures."""
    matched = E.matched_frames(records, frames, mapping)
    assert len(matched) >= 40, f"only {len(matched)} of this deck's frames matched a reference frame"
    recorded = {d.claim for d in E.departures(records, frames, mapping)}
    for cid in ("hook.reported_days", "fallacy.tput_gain", "fleet.fp16.cost", "dist.l70.gpu_years",
                "dist.ar16.total_bw", "dist.tp.per_layer", "comp.int4.weights", "comp.int4.decode",
                "comp.int8.weights", "kv.per_request"):
        assert cid in recorded, f"{cid} departs from the reference, but the check does not see it"


@pytest.mark.parametrize("cid", ["hook.reported_days", "dist.ar16.total_bw", "dist.tp.per_layer",
                                 "dist.l70.gpu_years", "fleet.fp16.cost", "comp.int4.weights"])
def test_removing_an_erratum_fails_the_check(records, frames, mapping, cid):
    without = copy.deepcopy(records)
    for record in without:
        if record["id"] == cid:
            assert record.pop("erratum", None), f"{cid} carries no erratum to remove"
    found = E.unrecorded(without, frames, mapping)
    assert [d.claim for d in found] and {d.claim for d in found} == {cid}, found
    assert cid in str(found[0]) and "the reference" in str(found[0])


def test_a_changed_number_without_erratum_fails_the_check(records, frames, mapping):
    """A claim that agreed with the reference fails once it prints something else: the Key Question's
    30 days (dist.q.days) moved to 31."""
    changed = copy.deepcopy(records)
    record = next(r for r in changed if r["id"] == "dist.q.days")
    assert not E.unrecorded(changed, frames, mapping)
    record["text"] = "31 days"
    found = E.unrecorded(changed, frames, mapping)
    assert [d.claim for d in found] == ["dist.q.days"] and "30 days" in found[0].reference_numbers


def test_the_departures_the_issue_names_are_recorded(records):
    """Issue 9's list: the 54-day hook, continuous batching's 2–5×, the $480K fleet cost, "15 GPU-years",
    the AllReduce example's "~35 ms", the TP AllReduces per layer; and what the check found besides."""
    errata = {r["id"]: r["erratum"]["reference"] for r in records if r.get("erratum")}
    expected = {"hook.reported_days": "54 days", "hook.iron_law_days": "54 days", "fallacy.tput_gain": "2–5×",
                "fleet.fp16.cost": "$480K", "dist.l70.gpu_years": "15 GPU-years", "dist.ar16.total_bw": "~35 ms",
                "dist.tp.per_layer": "2 AllReduce ops per layer", "comp.int4.weights": "4 GB",
                "comp.int4.decode": "4×", "comp.int8.weights": "8 GB", "kv.per_request": "2 GB"}
    for cid, reference in expected.items():
        assert cid in errata and reference in errata[cid], f"{cid}: erratum {errata.get(cid)!r}, want {reference!r}"


def test_each_erratum_quotes_a_number_the_reference_prints(records, frames):
    """The reference value is copied from the reference deck, not invented: its numbers occur there."""
    written = set()
    for frame in frames:
        for m in re.finditer(r"\d[\d,]*(?:\.\d+)?", E._plain_latex(frame.text) + " " + frame.title):
            written.add(m.group(0).replace(",", ""))
    for record in records:
        erratum = record.get("erratum")
        if not erratum:
            continue
        assert erratum["reason"].strip() and "\n" not in erratum["reason"]
        for number in re.findall(r"\d[\d,]*(?:\.\d+)?", erratum["reference"]):
            assert number.replace(",", "") in written, \
                f"{record['id']}: the reference deck never prints {number} ({erratum['reference']!r})"


# --- the mapping is honest: every entry is needed ------------------------------------------------------


def test_every_renamed_and_dropped_frame_exists(frames, mapping):
    from mlsysim_deck.render import frame_titles

    ours = set()
    for template in (ROOT / "slides").glob("*/slides.tex.j2"):
        ours |= {(template.parent.name, E.normalise(t)) for _, t in frame_titles(template.read_text(encoding="utf-8"))}
    theirs = {f.key for f in frames}
    for row in mapping["renamed"]:
        assert (row["part"], E.normalise(row["ours"])) in ours, f"no frame {row['ours']!r} in {row['part']}"
        assert (row["part"], E.normalise(row["reference"])) in theirs, f"no reference frame {row['reference']!r}"
        assert E.normalise(row["ours"]) != E.normalise(row["reference"]), f"{row['ours']!r} matches by itself"
    for row in mapping["dropped"]:
        assert (row["part"], E.normalise(row["reference"])) in theirs and row["why"].strip()
    # every reference frame that prints numbers is continued by a frame of this deck, or dropped with a reason
    renamed = {(r["part"], E.normalise(r["reference"])): (r["part"], E.normalise(r["ours"])) for r in mapping["renamed"]}
    dropped = {(r["part"], E.normalise(r["reference"])) for r in mapping["dropped"]}
    lost = [f"tutorial_part1.tex:{f.line} {f.title!r} ({', '.join(n.written for n in f.numbers())})"
            for f in frames if f.numbers() and f.key not in dropped and renamed.get(f.key, f.key) not in ours]
    assert not lost, "reference frames with numbers that no frame continues: map them in reference_frames.toml:\n" \
        + "\n".join(lost)


def test_every_other_quantity_exception_is_needed(records, frames, mapping):
    """An [[other]] entry names a claim the check would otherwise flag on that frame, with a reason."""
    without = dict(mapping, other=[])
    flagged = {(d.claim, E.normalise(d.frame)) for d in E.departures(records, frames, without)}
    for row in mapping["other"]:
        assert row["why"].strip(), row
        assert (row["claim"], E.normalise(row["frame"])) in flagged, \
            f"[[other]] {row['claim']} on {row['frame']!r} is not needed: the check does not flag it there"
        record = next(r for r in records if r["id"] == row["claim"])
        assert not record.get("erratum"), f"{row['claim']} has an erratum and an [[other]] entry: keep one"
    for row in mapping["unit"]:
        assert row["unit"] in E.UNITS and any(r["id"] == row["claim"] for r in records), row


# --- the appendix and the ledger --------------------------------------------------------------------------


def test_the_errata_appendix_shows_every_erratum_in_frames_of_fixed_size(records):
    from mlsysim_deck.errata import ROWS_PER_FRAME
    from mlsysim_deck.pages import claim_pages

    errata = [r["id"] for r in records if r.get("erratum")]
    assert len(errata) >= 30
    uses = json.loads(require_build(BUILD / "slides" / "91_errata.uses.json").read_text(encoding="utf-8"))["uses"]
    shown = [u["claim"] for u in uses if not u.get("note")]
    for cid in errata:
        assert cid in shown, f"the errata appendix does not show {cid}"
    pages = claim_pages(require_build(BUILD / "deck.pdf"))
    erratum_pages = sorted({pages[f"91_errata:{cid}:1"] for cid in errata})
    # 48 errata at 5 a frame: 10 frames, consecutive pages
    assert len(erratum_pages) == math.ceil(len(errata) / ROWS_PER_FRAME)
    assert erratum_pages == list(range(erratum_pages[0], erratum_pages[0] + len(erratum_pages)))


def test_the_ledger_lists_the_errata_and_each_claim_page_shows_its_own(records):
    index = require_build(BUILD / "ledger.html").read_text(encoding="utf-8")
    assert 'id="errata"' in index
    section = index.split('id="errata"', 1)[1].split("</table>", 1)[0]
    for record in records:
        if record.get("erratum"):
            assert f'href="#{record["id"]}"' in section, f"the ledger's Errata section misses {record['id']}"
            page = (BUILD / "ledger" / f"{record['id']}.html").read_text(encoding="utf-8")
            assert 'id="erratum"' in page
    hook = (BUILD / "ledger" / "hook.reported_days.html").read_text(encoding="utf-8")
    assert "54 days" in hook and "78 days" in hook


def test_a_reason_states_numbers_only_as_claims(tmp_path):
    from mlsysim_deck.claims import ClaimError, Claims, Erratum

    claims = Claims(str(tmp_path / "claims.py"))
    with pytest.raises(ClaimError, match="reason types a number"):
        claims.number("x", lambda: 2.0, erratum=Erratum(reference="54 days", reason="the run took 78 days"))
    claims.number("y", lambda: 2.0, erratum=Erratum(reference="54 days", reason="the run took {hook.reported_days}"))
    with pytest.raises(ValueError):
        Erratum(reference="", reason="why")


def test_an_accelerator_the_reference_frame_does_not_name_is_a_row_of_its_own(records, frames, mapping):
    """hw.A100.* on the ridge-point table: the reference's table has no A100 row, so the A100's values
    are no departure (adding an accelerator to hardware.toml needs no erratum); the H100's are compared."""
    ridge = next(f for f in frames if f.title == "The Ridge Point: Hardware DNA")
    assert E.other_accelerator("hw.A100.bw", ridge, E.accelerators())
    assert not E.other_accelerator("hw.H100.bw", ridge, E.accelerators())
    assert not E.other_accelerator("hw.Gaudi3.bw", ridge, E.accelerators())  # "Gaudi\,3" names it
    changed = copy.deepcopy(records)
    next(r for r in changed if r["id"] == "hw.H100.bw")["text"] = "3.90 TB/s"
    assert "hw.H100.bw" in {d.claim for d in E.unrecorded(changed, frames, mapping)}
