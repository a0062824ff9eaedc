"""Tweak a spec once: exactly the slides, figures and listings that read it rebuild."""
import os
import re
import subprocess
import sys

import pytest

from workflow_support import ROOT, copy_repo, ran

# Tasks up to the slides; the PDF step is LaTeX's and is exercised by the full build.
TASKS = ["claims", "slides", "listing", "figure", "claims_json"]


@pytest.fixture(scope="module")
def tree(module_folder):
    root = copy_repo(module_folder / "repo", built=True)
    first = doit(root)
    assert first.returncode == 0, first.stdout + first.stderr
    return root


def doit(root, *args):
    env = os.environ | {"PYTHONPATH": str(root / "engine")}
    return subprocess.run([sys.executable, "-m", "doit", *args, *TASKS], cwd=root, capture_output=True,
                          text=True, env=env, timeout=600)


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


# --- one edit, every material ----------------------------------------------------------------------

MATERIALS = ["deck", "notes", "handout", "exercises", "solutions"]


def full_build(root):
    """The default tasks, the PDFs included, two at a time; the claims first and alone (one of
    them times a solve, which a loaded machine would slow down)."""
    env = os.environ | {"PYTHONPATH": str(root / "engine")}
    claims = subprocess.run([sys.executable, "-m", "doit", "claims"], cwd=root, capture_output=True, text=True,
                            env=env, timeout=600)
    if claims.returncode != 0:
        return claims
    rest = subprocess.run([sys.executable, "-m", "doit", "-n", "2"], cwd=root, capture_output=True, text=True,
                          env=env, timeout=900)
    rest.stdout = claims.stdout + rest.stdout
    return rest


def read_pdfs(root, dests: bool = True) -> dict[str, tuple[list[str], dict]]:
    """material -> (text of each page, named destination -> page) of its PDF."""
    from test_pdf import read_pdf

    return {m: read_pdf(root / "build" / f"{m}.pdf", dests) for m in MATERIALS}


def pdf_texts(read) -> dict[str, str]:
    return {m: "\n".join(pages) for m, (pages, _) in read.items()}


@pytest.fixture(scope="module")
def h100_edit(tree):
    """H100 memory bandwidth 3.35 -> 4.0 TB/s in the module's tree, then the full build (the PDFs
    too): what the tree showed before, and the build's result."""
    import json

    root = tree
    before = {"pdfs": pdf_texts(read_pdfs(root, dests=False)),  # (the texts only: what they showed)
              "claims": {c["id"]: c["text"] for c in json.loads((root / "build" / "claims.json").read_text())["claims"]},
              "outputs": {p.relative_to(root / "build" / "listings"): p.read_text()
                          for p in (root / "build" / "listings").rglob("*.out")}}
    set_spec(root, "H100", "memory_bandwidth", "3.35", "4.0")
    result = full_build(root)
    assert result.returncode == 0, result.stdout + result.stderr
    return before, result


def test_h100_bandwidth_moves_every_dependent_number(tree, h100_edit):
    rebuilt = ran(h100_edit[1])
    assert {"slides:01_roofline", "figure:roofline", "figure:batch_sweep",
            "listing:01_roofline/three_vendors", "listing:01_roofline/batch_sweep"} <= rebuilt
    # Part 0 reads H100 bandwidth only for a verdict ("Memory") that does not change: not re-rendered
    assert "slides:00_welcome" not in rebuilt
    tex = (tree / "build" / "slides" / "01_roofline.tex").read_text()
    # ridge: 989.4 / 4.0 = 247.35 -> "247"; decode step: 15,546,720,256 B / 4e12 B/s = 3.89 ms
    assert re.search(r"\\claim\{01_roofline:ridge\.H100:1\}\{247\\,FLOP/B\}", tex)
    assert "{3.89\\,ms}" in tex


def test_h100_bandwidth_moves_every_material(tree, h100_edit):
    import json

    from test_materials import printed
    from test_pdf import normalise, shown_in

    root = tree
    (before, result) = h100_edit
    old_claims, old_outputs, before = before["claims"], before["outputs"], before["pdfs"]
    assert {f"pdf:{m}" for m in MATERIALS} <= ran(result)
    read = read_pdfs(root)
    after = pdf_texts(read)

    # Worked by hand: bandwidth 4.0 TB/s prints "4.00 TB/s"; ridge 989.4 / 4.0 = 247.35 -> "247 FLOP/B"
    # (was 989.4 / 3.35 = 295.3 -> "295"; MI300X's ridge also prints 247, so the deck had it before);
    # decode step 15,546,720,256 B / 4e12 B/s = 3.89 ms (was 4.64 ms).
    moves = {"deck": [("3.35 TB/s", "4.00 TB/s"), ("295 FLOP/B", "247 FLOP/B"), ("4.64 ms", "3.89 ms")]}
    moves["notes"] = moves["handout"] = moves["deck"]
    moves["solutions"] = [("3.35 TB/s", "4.00 TB/s"), ("4.64 ms", "3.89 ms")]  # no ridge on the sheet frames
    moves["exercises"] = [("3.35 TB/s", "4.00 TB/s")]  # the vendor prediction's question table
    for material, pairs in moves.items():
        for old, new in pairs:
            assert printed(old, before[material]), (material, old)
            assert printed(new, after[material]), f"{material}.pdf lacks the new {new}"
            assert not printed(old, after[material]), f"{material}.pdf still shows the stale {old}"
    assert not printed("3.89 ms", before["deck"]) and not printed("4.00 TB/s", before["deck"])

    # Every claim that moved: on the page of each use, in each material that shows it, the new text;
    # its old text nowhere in that material (unless a claim shown there now prints it too).
    records = json.loads((root / "build" / "claims.json").read_text())["claims"]
    new_claims = {c["id"]: c["text"] for c in records}
    # the errata appendix quotes the reference deck's values ("4.8 ms"): they stay, whatever the specs say
    quoted = {c["erratum"]["reference"] for c in records if c.get("erratum")}
    moved = {cid for cid in new_claims if old_claims.get(cid) != new_claims[cid]}
    assert len(moved) >= 20, sorted(moved)
    uses = [u for p in sorted((root / "build" / "slides").glob("*.uses.json"))
            for u in json.loads(p.read_text())["uses"]]
    problems = []
    for material in MATERIALS:
        pages, dests = read[material]
        flat, whole = [normalise(page) for page in pages], normalise(after[material])
        current = {u["text"] for u in uses if shown_in(material, u)}
        if any(u["target"].startswith("91_errata:") and shown_in(material, u) for u in uses):
            current |= quoted
        # one text to search for a claim's old text in any current one (\0 stands between them, where
        # no number can run on: the same answer as asking each)
        current = "\0".join(sorted(current))
        for use in uses:
            if use["claim"] not in moved or not shown_in(material, use):
                continue
            if normalise(use["text"]) not in flat[dests[use["target"]]]:
                problems.append(f"{material}.pdf: {use['claim']} = {use['text']!r} not on its page")
            old = old_claims[use["claim"]]
            coincides = printed(old, current)  # "148" of a current "148 GB"
            if not coincides and len(normalise(old)) >= 3 and printed(old, after[material]):
                problems.append(f"{material}.pdf: stale {use['claim']} = {old!r} still printed")
        # listing output that changed: no old line survives
        for rel, text in old_outputs.items():
            new_lines = set((root / "build" / "listings" / rel).read_text().splitlines())
            for line in text.splitlines():
                if line not in new_lines and len(line.strip()) > 8 and normalise(line) in whole:
                    problems.append(f"{material}.pdf: stale output of {rel}: {line!r}")
    assert not problems, "\n".join(problems)


# --- what each part reads, remembered between runs ------------------------------------------------


def test_a_parts_claims_are_remembered_only_for_what_they_were_read_from(tmp_path, monkeypatch):
    # doit asks every run which claims each template uses; the answer comes from the user's cache
    # only while the template and the comparisons its loops expand are the ones it was read from
    import shutil

    from mlsysim_deck.build import template_claims
    from workflow_support import SPECS  # the package's spec files

    monkeypatch.setenv("MLSYSIM_CACHE", str(tmp_path / "cache"))
    specs = shutil.copytree(SPECS, tmp_path / "specs")
    monkeypatch.setenv("MLSYSIM_SPECS", str(specs))
    template = tmp_path / "slides.tex.j2"
    search = [tmp_path, ROOT / "templates"]
    loop = '\\BLOCK{for hw in accelerators("flagships")}\\VAR{claim("ridge.*", hw)} \\BLOCK{endfor}'

    def uses(text):
        template.write_text(text, encoding="utf-8")
        return template_claims(template, search)

    # the flagships (one per vendor, hardware.toml): H100, MI300X, Gaudi 3
    assert uses('\\VAR{claim("hw.H100.bw")} ' + loop) == ["hw.H100.bw", "ridge.Gaudi3", "ridge.H100", "ridge.MI300X"]
    assert uses('\\VAR{claim("hw.A100.bw")} ' + loop)[0] == "hw.A100.bw"  # another template: read afresh
    remembered = sorted((tmp_path / "cache" / "analysis").glob("*.json"))
    assert len(remembered) == 2
    # a fourth flagship in hardware.toml: the same template now reads its ridge too
    (specs / "hardware.toml").write_text((specs / "hardware.toml").read_text(encoding="utf-8")
                                         + '\n[Zeta]\ncomparisons = ["flagships"]\n', encoding="utf-8")
    assert "ridge.Zeta" in uses('\\VAR{claim("hw.A100.bw")} ' + loop)


def test_a_parts_helper_calls_remembered_are_the_ones_read_afresh(tmp_path, monkeypatch):
    # render_part reads its template's helper calls (line and frame of each claim) from the user's
    # cache when the template, the comparisons and the errata are the ones they were read from
    import shutil

    from mlsysim_deck.build import template_calls
    from mlsysim_deck.render import analyse, environment

    monkeypatch.setenv("MLSYSIM_CACHE", str(tmp_path / "cache"))
    search = [ROOT / "slides", ROOT / "templates"]
    env = environment(search)
    errata = ["hook.iron_law_days", "kv.per_request"]
    for template in sorted((ROOT / "slides").glob("*/slides.tex.j2")):
        fresh = [[u.helper, u.name, u.line, u.frame] for u in analyse(env, template, errata=errata)]
        assert template_calls(template, search, errata) == fresh  # read, then remembered
        assert template_calls(template, search, errata) == fresh  # from the cache
    assert len(list((tmp_path / "cache" / "analysis").glob("*.json"))) == 7
    # a frame inserted above a claim moves its line: read afresh, not remembered
    template = tmp_path / "slides.tex.j2"
    shutil.copy(ROOT / "slides" / "01_roofline" / "slides.tex.j2", template)
    before = {(name, line) for _, name, line, _ in template_calls(template, search)}
    template.write_text("\\begin{frame}{New}\\end{frame}\n" + template.read_text(encoding="utf-8"), encoding="utf-8")
    after = {(name, line) for _, name, line, _ in template_calls(template, search)}
    assert after == {(name, line + 1) for name, line in before}


def test_a_parts_answers_and_the_errata_uses_remembered_are_the_ones_read_afresh(tmp_path, monkeypatch):
    # render_part reads its answer() blocks, and the errata part where every part shows each claim,
    # from the user's cache when the templates (and part.toml files) are the ones they were read from
    import shutil

    from mlsysim_deck.build import answer_lines, errata_slide_uses
    from mlsysim_deck.errata import slide_uses
    from mlsysim_deck.render import answer_blocks, environment

    monkeypatch.setenv("MLSYSIM_CACHE", str(tmp_path / "cache"))
    search = [ROOT / "slides", ROOT / "templates"]
    for template in sorted((ROOT / "slides").glob("*/slides.tex.j2")):
        fresh = [list(block) for block in answer_blocks(environment(search), template)]
        assert answer_lines(template, search) == fresh == answer_lines(template, search)  # read, then remembered
    assert any(answer_lines(t, search) for t in (ROOT / "slides").glob("*/slides.tex.j2"))  # the deck has reveals
    fresh_uses = {cid: [list(u) for u in uses] for cid, uses in slide_uses(ROOT / "slides", ROOT / "templates").items()}
    assert errata_slide_uses(ROOT / "slides", ROOT / "templates") == fresh_uses
    assert errata_slide_uses(ROOT / "slides", ROOT / "templates") == fresh_uses  # from the cache
    # a frame inserted at the top of Part 1 moves its answers and every use of its claims a line down
    slides = tmp_path / "slides"
    shutil.copytree(ROOT / "slides", slides)
    template = slides / "01_roofline" / "slides.tex.j2"
    template.write_text("\\begin{frame}{New}\\end{frame}\n" + template.read_text(encoding="utf-8"), encoding="utf-8")
    moved = [[line + 1, title, label] for line, title, label in answer_lines(ROOT / "slides" / "01_roofline" / "slides.tex.j2", search)]
    assert answer_lines(template, [slides, ROOT / "templates"]) == moved
    uses = errata_slide_uses(slides, ROOT / "templates")
    part1 = [(cid, u) for cid, us in fresh_uses.items() for u in us if u[1] == "01_roofline"]
    assert part1 and all([u[0], u[1], u[2] + 1, u[3]] in uses[cid] for cid, u in part1)


def test_a_templates_notes_remembered_are_the_ones_read_afresh(tmp_path, monkeypatch):
    # the schedule reads each template's notes (minutes, FLEX, line, frame) from the user's cache when
    # the template is the one they were read from
    import shutil

    from mlsysim_deck.build import template_notes
    from mlsysim_deck.render import environment, notes

    monkeypatch.setenv("MLSYSIM_CACHE", str(tmp_path / "cache"))
    search = [ROOT / "slides", ROOT / "templates"]
    templates = sorted((ROOT / "slides").glob("*/slides.tex.j2")) + [ROOT / "templates" / "deck.tex.j2"]
    for template in templates:
        fresh = notes(environment(search), template)
        assert template_notes(template, search) == fresh == template_notes(template, search)  # read, then kept
    assert sum(len(template_notes(t, search)) for t in templates) >= 20
    # a note's minutes changed in a copy: the copy's notes are read again, the original's still kept
    slides = tmp_path / "slides"
    shutil.copytree(ROOT / "slides", slides)
    template = slides / "01_roofline" / "slides.tex.j2"
    first = template_notes(ROOT / "slides" / "01_roofline" / "slides.tex.j2", search)[0]
    text = template.read_text(encoding="utf-8")
    old = f"note(minutes={first.minutes}"
    assert old in text
    template.write_text(text.replace(old, f"note(minutes={first.minutes + 5}", 1), encoding="utf-8")
    assert template_notes(template, [slides, ROOT / "templates"])[0].minutes == first.minutes + 5
