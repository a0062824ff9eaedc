"""A new accelerator in specs/hardware.toml, and no other edit, reaches every comparison table,
figure, listing and count; the lock reports its claims as new and still fails on what moved.

The accelerator is fictional ("Zeta 1", real-looking numbers), so no real chip added to the specs
later can clash with this test.
"""
import json
import re

import pytest

from workflow_support import copy_repo, doit, ran, run_py

TASKS = ["claims", "slides", "listing", "figure", "claims_json"]

ZETA = """
[Zeta1]
name = "Zeta 1"
vendor = "Zeta Labs"
comparisons = {comparisons}
peak_flops = {{ value = 1500, unit = "TFLOP/s", source = "a fictional accelerator for the tests" }}
memory_bandwidth = {{ value = 6, unit = "TB/s", source = "a fictional accelerator for the tests" }}
memory_capacity = {{ value = 160, unit = "GB", source = "a fictional accelerator for the tests" }}
scaleup_bandwidth_total = {{ value = 1200, unit = "GB/s", source = "a fictional accelerator for the tests" }}
"""


def add_zeta(spec_dir, comparisons='["lineup", "flagships"]'):
    path = spec_dir / "hardware.toml"
    path.write_text(path.read_text(encoding="utf-8") + ZETA.format(comparisons=comparisons), encoding="utf-8")


REBUILT = {}


@pytest.fixture(scope="module")
def deck(module_folder):
    """A copy built as it is, then rebuilt with Zeta 1 added to hardware.toml (the only edit)."""
    repo = copy_repo(module_folder / "repo", built=True)
    first = doit(repo, *TASKS)
    assert first.returncode == 0, first.stdout + first.stderr
    add_zeta(repo / "engine" / "mlsysim" / "specs")
    proc = doit(repo, *TASKS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    REBUILT["tasks"] = ran(proc)
    return repo


def test_the_incremental_build_redraws_what_compares_accelerators(deck):
    rebuilt = REBUILT["tasks"]
    assert {"slides:01_roofline", "slides:02_serving", "figure:roofline", "figure:serving_hw",
            "listing:01_roofline/three_vendors"} <= rebuilt, rebuilt
    # what shows no comparison of accelerators stays as it was
    assert not rebuilt & {"figure:bubble_fraction", "figure:cluster_mtbf", "listing:02_serving/two_phase",
                          "slides:00_welcome"}, rebuilt


def claims(repo):
    data = json.loads((repo / "build" / "claims.json").read_text(encoding="utf-8"))
    return {r["id"]: r for r in data["claims"]}


def tex(repo, part):
    return (repo / "build" / "slides" / f"{part}.tex").read_text(encoding="utf-8")


def test_its_claims_are_computed_and_shown(deck):
    c = claims(deck)
    # ridge 1,500 TFLOP/s / 6 TB/s = 250 FLOP/B
    assert c["ridge.Zeta1"]["text"] == "250 FLOP/B"
    # one decode step streams 15,546,720,256 B (weights and the 4,096-token KV cache): / 6e12 B/s = 2.59 ms,
    # against the H100's 3.35e12 B/s: 6 / 3.35 = 1.79x
    assert c["three.Zeta1.latency"]["text"] == "2.59 ms" and c["three.Zeta1.speedup"]["text"] == "1.79×"
    assert c["serving.Zeta1.itl"]["text"] == "2.59 ms"
    # prefill of 4,096 tokens: 2 x 7,504,924,672 x 4,096 + 2 x 32 x 4,096 x 4,096 x 4,097 = 6.58796e13 FLOP
    # at 0.5 x 1,500e12 FLOP/s = 87.8 ms
    assert c["serving.Zeta1.ttft"]["text"] == "88 ms"
    for cid in ("hw.Zeta1.name", "hw.Zeta1.vendor", "hw.Zeta1.peak", "hw.Zeta1.bw", "ridge.Zeta1",
                "three.Zeta1.latency", "three.Zeta1.bottleneck", "serving.Zeta1.ttft", "serving.Zeta1.itl"):
        assert c[cid]["slides"], f"{cid} is on no slide"
    # it is the fastest flagship now (bandwidth wins), though Gaudi 3 keeps the most FLOP/s
    assert c["three.fastest"]["text"] == "Zeta 1" and c["three.most_flops"]["text"] == "Gaudi 3"


def _claim_tex(part, cid, text):
    return re.compile(r"\\claim\{" + re.escape(f"{part}:{cid}:") + r"\d+\}\{" + re.escape(text) + r"\}")


def test_every_comparison_table_has_it(deck):
    roofline, serving = tex(deck, "01_roofline"), tex(deck, "02_serving")
    # the ridge-point table: a row
    assert re.search(r"Zeta Labs.*Zeta 1.*1{,}500\\,TFLOP/s.*6\.00\\,TB/s.*250\\,FLOP/B", roofline)
    # the Predict table: a column in every row
    for cid, text in (("hw.Zeta1.capacity", "160\\,GB"), ("three.Zeta1.bottleneck", "Memory"),
                      ("three.Zeta1.latency", "2.59\\,ms"), ("three.Zeta1.speedup", "1.79×")):
        assert _claim_tex("01_roofline", cid, text).search(roofline), cid
    # the serving table: a row
    assert re.search(r"Zeta 1\}.*88\\,ms\}.*2\.59\\,ms\}", serving)


def test_every_title_and_count_follows(deck):
    from mlsysim_deck.workload import comparison_keys, number_word

    from workflow_support import SPECS

    before = comparison_keys(SPECS)  # the repository's own hardware.toml: today 5 in the line-up, 3 flagships
    lineup, flagships = number_word(len(before["lineup"]) + 1), number_word(len(before["flagships"]) + 1)
    roofline, serving = tex(deck, "01_roofline"), tex(deck, "02_serving")
    assert f"\\begin{{frame}}{{{lineup.capitalize()} Accelerators on One Roofline}}" in roofline
    assert f"\\begin{{frame}}{{{lineup.capitalize()} Accelerators, Two Phases}}" in serving
    assert f"{flagships.capitalize()} flagship accelerators, one workload:" in roofline
    assert f"\\begin{{frame}}{{Live Demo: {flagships.capitalize()} Vendors, One API}}" in roofline
    title = re.search(r"\\begin\{frame\}(?:\[[^\]]*\])?\{Predict: (.*)\}\n", roofline).group(1)
    assert re.sub(r"\\claim\{[^}]*\}\{([^}]*)\}", r"\1", title).endswith(" vs Gaudi 3 vs Zeta 1")
    assert f"memory-bound on all {flagships}" in roofline
    old_words = {number_word(len(before["lineup"])).capitalize(), number_word(len(before["flagships"])).capitalize()}
    assert not [w for w in old_words if f"{w} Accelerators" in roofline + serving or f"{w} Vendors" in roofline]


def test_every_figure_and_listing_shows_it(deck):
    from pypdf import PdfReader

    for figure in ("roofline", "serving_hw"):
        text = " ".join(p.extract_text() for p in PdfReader(str(deck / "build" / "figures" / f"{figure}.pdf")).pages)
        assert "Zeta 1" in text, figure
    assert "Zeta 1: Memory, 2.59 ms" in (deck / "build" / "listings" / "01_roofline" / "three_vendors.out").read_text()
    assert '"Zeta1"' in (deck / "build" / "listings" / "01_roofline" / "three_vendors.py").read_text()


def test_a_second_build_does_nothing(deck):
    proc = doit(deck, *TASKS)
    assert proc.returncode == 0 and not ran(proc), proc.stdout


def test_the_lock_reports_new_claims_and_fails_on_moved_ones(deck):
    proc = run_py(["-m", "mlsysim_deck.lock", "check"], cwd=deck, engine=deck / "engine")
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr  # the flagships moved: the fastest is Zeta 1 now
    moved, new = out.split("new claim(s), not in")
    assert "~ three.fastest: \u201cMI300X\u201d \u2192 \u201cZeta 1\u201d" in moved
    assert "+ ridge.Zeta1: new claim, \u201c250 FLOP/B\u201d" in new and "(reported, not a failure)" in new
    assert "ridge.Zeta1" not in moved


def test_in_the_lineup_only_nothing_moves(tmp_path):
    """A new accelerator without `comparisons` joins the line-up: the lock check passes, listing it as new."""
    from workflow_support import copy_specs, lock

    specs = copy_specs(tmp_path / "specs")
    text = ZETA.format(comparisons="[]").replace("comparisons = []\n", "")
    (specs / "hardware.toml").write_text((specs / "hardware.toml").read_text() + text)
    proc = lock("check", specs=specs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "+ serving.Zeta1.ttft: new claim" in proc.stdout and "\u2192" not in proc.stdout


def test_a_new_accelerator_gets_a_colour_of_its_own():
    import sys

    from workflow_support import ROOT

    sys.path.insert(0, str(ROOT / "figures"))
    try:
        import _style
    finally:
        sys.path.remove(str(ROOT / "figures"))
    colors = _style.accelerator_colors(["H100", "Zeta1", "A100", "Zeta2"])
    assert colors["H100"] == _style.COLORS["H100"] and colors["A100"] == _style.COLORS["A100"]
    assert colors["Zeta1"] != colors["Zeta2"] and not {colors["Zeta1"], colors["Zeta2"]} & set(_style.COLORS.values())
    assert _style.accelerator_colors(["Zeta1"]) == {"Zeta1": colors["Zeta1"]}  # the same on every figure
    with pytest.raises(LookupError, match="figures/_style.py"):
        _style.accelerator_colors([f"Z{i}" for i in range(len(_style.PALETTE) + 1)])
