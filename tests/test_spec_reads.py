"""Every spec value is read by something, or it is not in the specs.

What reads a value: a claim, a listing or a figure, as the session's build recorded it (each claim's
inputs in build/claims.json, evaluated under mlsysim.spec.reading(); each listing's and figure's in
the spec inputs doit saved for it, build/.doit.db, as impact analysis reads them).
The rule, per spec file:

* assumptions.toml: every assumption is read (each is one choice of the analysis);
* the other files: every entry is read, or is named by a reference that is read (a cluster's
  accelerator and scale-out link, an accelerator's NIC); and every field of the file's schema is
  read for at least one entry (a field no entry is read for is dead data).

One read is not recorded, by design: `mlsysim.Models.Language` lists the models whose `category`
is "Language" (listing a catalog is not what a number depends on); the last test checks that
reader separately.
"""
import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, require_build
from mlsysim import spec

#: Text fields whose value names a table of another spec file: (file, field) -> the file it names.
REFERENCES = {("hardware", "scaleout_link"): "links", ("clusters", "accelerator"): "hardware",
              ("clusters", "scaleout_link"): "links"}
#: Fields read without recording, with the reader that reads them (checked in the last test).
CATALOG_FIELDS = {("models", "category")}


@pytest.fixture(scope="module")
def read_keys() -> set[str]:
    from mlsysim_deck.impact import saved_inputs

    keys: set[str] = set()
    for record in json.loads(require_build(BUILD / "claims.json").read_text(encoding="utf-8"))["claims"]:
        keys.update(record["inputs"])
    saved = saved_inputs(require_build(BUILD / ".doit.db").parent)
    tasks = [f"listing:{src.parent.parent.name}/{src.stem}" for src in sorted(ROOT.glob("slides/*/listings/*.py"))]
    tasks += [f"figure:{script.stem}" for script in sorted((ROOT / "figures").glob("[!_]*.py"))]
    assert len(tasks) >= 30 and not [t for t in tasks if t not in saved], "the build recorded no reads for some"
    for task in tasks:
        keys.update(saved[task])
    return keys


def entries(spec_dir: Path) -> dict[str, dict[str, spec.Spec]]:
    return {path.stem: spec.load_file(path) for path in sorted(spec_dir.glob("*.toml"))}


def unread(spec_dir: Path, read: set[str]) -> list[str]:
    """Spec keys (or entries, or fields) nothing reads, each with what is wrong."""
    files = entries(spec_dir)
    named = defaultdict(set)  # file -> tables named by a reference that was read
    for stem, tables in files.items():
        for table, entry in tables.items():
            for field in entry.fields():
                target = REFERENCES.get((stem, field))
                if target and entry.key(field) in read:
                    named[target].add(entry.si(field))
    problems = []
    for stem, tables in files.items():
        if stem == "assumptions":
            problems += [f"{e.key(f)}: nothing reads this assumption"
                         for e in tables.values() for f in e.fields() if e.key(f) not in read]
            continue
        fields_read, fields = set(), set()
        for table, entry in tables.items():
            keys = {entry.key(f) for f in entry.fields()}
            fields |= set(entry.fields())
            fields_read |= {f for f in entry.fields() if entry.key(f) in read}
            if not keys & read and table not in named[stem]:
                problems.append(f"{stem}.{table}: nothing reads this entry")
        problems += [f"{stem}.*.{f}: nothing reads this field of any entry" for f in sorted(fields - fields_read)
                     if (stem, f) not in CATALOG_FIELDS]
    return sorted(problems)


def test_every_spec_value_is_read(read_keys):
    problems = unread(spec.SPEC_DIR, read_keys)
    assert problems == [], "spec values nothing reads (use them or remove them):\n  " + "\n  ".join(problems)


def test_the_reads_are_what_the_deck_reads(read_keys):
    # not vacuous: the H100's bandwidth (every roofline claim), a cluster's MTBF (the Fragility Wall),
    # the page size and the acceptance rate (Part 2's claims), INT4's width (Part 3's ladder)
    for key in ("hardware.H100.memory_bandwidth", "clusters.Frontier_8K.gpu_mtbf", "assumptions.paging.page_tokens",
                "assumptions.speculative.draft_acceptance_rate", "precisions.int4.bits",
                "assumptions.training.tp_allreduces_forward", "assumptions.stragglers.straggler_factor"):
        assert key in read_keys, key


def test_an_added_value_nothing_reads_is_listed(read_keys, tmp_path):
    specs = tmp_path / "specs"
    shutil.copytree(spec.SPEC_DIR, specs)
    with open(specs / "precisions.toml", "a", encoding="utf-8") as out:
        out.write('\n[fp6]\nname = "FP6"\nbits = { value = 6, source = "a fictional format for the test" }\n')
    with open(specs / "links.toml", "a", encoding="utf-8") as out:
        out.write('\n[Ethernet_100G]\nname = "Ethernet"\nbandwidth = { value = 12.5, unit = "GB/s", source = "x" }\n'
                  'latency = { value = 5, unit = "us", source = "x" }\n')
    text = (specs / "hardware.toml").read_text(encoding="utf-8")
    (specs / "hardware.toml").write_text(text.replace(
        'memory_capacity = {', 'tdp = { value = 700, unit = "W", source = "x" }\nmemory_capacity = {', 1), encoding="utf-8")
    spec.FIELDS["hardware"]["tdp"] = spec.quantity("W", required=False)
    try:
        problems = unread(specs, read_keys)
    finally:
        del spec.FIELDS["hardware"]["tdp"]
    assert problems == ["hardware.*.tdp: nothing reads this field of any entry",
                        "links.Ethernet_100G: nothing reads this entry",
                        "precisions.fp6: nothing reads this entry"]


def test_the_catalogs_file_models_by_category():
    # the one field read without recording: Models.Language and Models.Vision filter on it
    import mlsysim

    categories = {t: e.si("category") for t, e in spec.load("models").items()}
    assert set(categories.values()) == {"Language", "Vision"}
    assert sorted(mlsysim.Models.Language.names()) == sorted(t for t, c in categories.items() if c == "Language")
    assert mlsysim.Models.Vision.names() == [t for t, c in categories.items() if c == "Vision"]
