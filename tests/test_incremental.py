"""Tweak a spec once: exactly the slides, figures and listings that read it rebuild."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

COPY = ["dodo.py", "pyproject.toml", "engine", "slides", "templates", "figures", "validation"]
# Tasks up to the slides; the PDF step is LaTeX's and is exercised by the full build.
TASKS = ["claims", "slides", "listing", "figure", "claims_json"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("deck")
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, root / name)
    first = doit(root)
    assert first.returncode == 0, first.stdout + first.stderr
    return root


def doit(root, *args):
    env = os.environ | {"PYTHONPATH": str(root / "engine")}
    return subprocess.run([sys.executable, "-m", "doit", *args, *TASKS], cwd=root, capture_output=True,
                          text=True, env=env, timeout=600)


def ran(result) -> set[str]:
    return {line[3:].strip() for line in result.stdout.splitlines() if line.startswith(".  ")}


def set_spec(root, table, field, old, new):
    path = root / "engine" / "mlsysim" / "specs" / "hardware.toml"
    text = path.read_text()
    section = text.index(f"[{table}]")
    start = text.index(f"{field} = {{ value = {old},", section)
    path.write_text(text[:start] + text[start:].replace(f"value = {old},", f"value = {new},", 1))


def test_second_build_does_nothing(tree):
    assert ran(doit(tree)) == set()


def test_gaudi3_bandwidth_rebuilds_only_what_reads_it(tree):
    set_spec(tree, "Gaudi3", "memory_bandwidth", "3.7", "3.9")
    result = doit(tree)
    assert result.returncode == 0, result.stderr
    rebuilt = ran(result)
    # what shows Gaudi 3's bandwidth or a number that follows from it
    assert {"claims", "slides:01_roofline", "listing:01_roofline/three_vendors", "figure:roofline",
            "claims_json"} <= rebuilt
    # what never reads it: Part 0, the H100-only sweeps and listings
    assert not rebuilt & {"slides:00_welcome", "figure:batch_sweep", "listing:00_welcome/hello",
                          "listing:00_welcome/quick_answer", "listing:01_roofline/batch_sweep",
                          "listing:01_roofline/crossover"}
    # the new value reaches the slide: 989.4e12 ... Gaudi 3 ridge 1835e12 / 3.9e12 = 470.5 FLOP/B
    text = (tree / "build" / "claims" / "ridge.Gaudi3.json").read_text()
    assert '"text": "471 FLOP/B"' in text
    out = (tree / "build" / "listings" / "01_roofline" / "three_vendors.out").read_text()
    # 15,546,720,256 B / 3.9e12 B/s = 3.99 ms
    assert "Gaudi 3: Memory, 3.99 ms" in out
    assert ran(doit(tree)) == set()


def test_h100_bandwidth_moves_every_dependent_number(tree):
    set_spec(tree, "H100", "memory_bandwidth", "3.35", "4.0")
    result = doit(tree)
    assert result.returncode == 0, result.stderr
    rebuilt = ran(result)
    assert {"slides:01_roofline", "figure:roofline", "figure:batch_sweep",
            "listing:01_roofline/three_vendors", "listing:01_roofline/batch_sweep"} <= rebuilt
    # Part 0 reads H100 bandwidth only for a verdict ("Memory") that does not change: not re-rendered
    assert "slides:00_welcome" not in rebuilt
    tex = (tree / "build" / "slides" / "01_roofline.tex").read_text()
    # ridge: 989.4 / 4.0 = 247.35 -> "247"; decode step: 15,546,720,256 B / 4e12 B/s = 3.89 ms
    assert re.search(r"\\claim\{01_roofline:ridge\.H100:1\}\{247\\,FLOP/B\}", tex)
    assert "{3.89\\,ms}" in tex
