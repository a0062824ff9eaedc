"""Bad input, tried for real: each gives one clear message naming the file and line (or spec key),
exits non-zero, and leaves nothing half-written in build/.

Each test copies the repository into a temporary directory, breaks one thing there, and runs
`python -m doit` in the copy.  A bad spec value is tried on a copy without build/ (a fresh clone);
the other mistakes on a copy with the session's build, where doit runs only what the mistake
touches, as it does for an author: what the failed step would have written is then as the last
good build left it, never half-made.
"""
import re
import subprocess

import pytest

from mlsysim_deck.build import AUXILIARY
from workflow_support import copy_repo, delete_spec_field, doit, leftovers, ran, set_spec_value

H100_BW = '{ value = 3.35, unit = "TB/s", source = "NVIDIA H100 datasheet" }'


def _edit(path, old, new, count=1):
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _line_of(path, needle):
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def _append(path, text):
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines + [text]) + "\n", encoding="utf-8")
    return len(lines) + 1


def failed_build(repo):
    """Run the build; it must fail with one `error:` message and no traceback."""
    proc = doit(repo)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out, out
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, out
    assert leftovers(repo / "build") == []
    return errors[0], out


@pytest.fixture
def repo(tmp_path):
    return copy_repo(tmp_path / "repo")


@pytest.fixture
def built_repo(tmp_path):
    """A copy with the session's build: doit rebuilds only what the test breaks.  (Not the ledger's
    pages: a build that fails never reaches the ledger, and removes it.)"""
    return copy_repo(tmp_path / "repo", built=True, leave_out=("ledger",))


def specs(repo):
    return repo / "engine" / "mlsysim" / "specs"


def as_before(repo, *outputs):
    """The build outputs' bytes now (None where absent): a failed step must leave them as they were."""
    return {name: (repo / "build" / name).read_bytes() if (repo / "build" / name).exists() else None
            for name in outputs}


# --- spec values ------------------------------------------------------------------------------


def test_value_with_the_wrong_dimension(repo):
    line = set_spec_value(specs(repo), "hardware", "H100", "memory_bandwidth",
                          '{ value = 3.35, unit = "TFLOP/s", source = "typo" }')
    error, _ = failed_build(repo)
    assert f"hardware.toml:{line}: [H100] memory_bandwidth = 3.35 TFLOP/s: expected a value in B/s" in error
    assert not (repo / "build" / "claims" / "index.json").exists()


def test_missing_field(repo):
    delete_spec_field(specs(repo), "hardware", "H100", "memory_capacity")
    header = _line_of(specs(repo) / "hardware.toml", "[H100]")
    error, _ = failed_build(repo)
    assert f"hardware.toml:{header}: [H100] is missing memory_capacity (expected B)" in error
    assert not (repo / "build" / "claims").exists()


@pytest.mark.parametrize("value, says", [("-3.35", "must be positive"), ("0", "must be positive"),
                                         ("nan", "expected a finite number")])
def test_negative_zero_or_nan(repo, value, says):
    line = set_spec_value(specs(repo), "hardware", "H100", "memory_bandwidth",
                          f'{{ value = {value}, unit = "TB/s", source = "typo" }}')
    error, _ = failed_build(repo)
    assert f"hardware.toml:{line}: [H100] memory_bandwidth = " in error and says in error


# --- names ------------------------------------------------------------------------------------


def test_unknown_hardware_in_a_claim(built_repo):
    repo = built_repo
    claims = repo / "slides" / "01_roofline" / "claims.py"
    # a clearly fictional accelerator, so adding a real one to hardware.toml never breaks this test
    line = _append(claims, 'claims.quantity("test.nosuch", lambda: Cloud.NoSuchGPU.memory_bandwidth, unit="TB/s")')
    before = as_before(repo, "claims/index.json", "claims/records.sha256")
    error, _ = failed_build(repo)
    assert f"slides/01_roofline/claims.py:{line}: claim 'test.nosuch' failed" in error
    assert "mlsysim.Hardware.Cloud has no 'NoSuchGPU'; known: H100, A100" in error
    assert as_before(repo, *before) == before and None not in before.values()
    assert not (repo / "build" / "claims" / "test.nosuch.json").exists()


LISTING_OUTPUTS = [".py", ".out", ".py.tex", ".out.tex"]
#: What rendering Part 1 writes: the deck's LaTeX, each sheet's, the maps back to the template, the uses.
PART_OUTPUTS = [f"slides/01_roofline{end}" for end in (".tex", ".tex.map", ".exercises.tex", ".exercises.tex.map",
                                                       ".solutions.tex", ".solutions.tex.map", ".uses.json")]


def test_unknown_model_in_a_listing(built_repo):
    repo = built_repo
    listing = repo / "slides" / "01_roofline" / "listings" / "crossover.py"
    _edit(listing, "mlsysim.Models.Language.Llama3_8B", "mlsysim.Models.Language.Llama4_8B")
    line = _line_of(listing, "Llama4_8B")
    before = as_before(repo, *(f"listings/01_roofline/crossover{ext}" for ext in LISTING_OUTPUTS))
    error, _ = failed_build(repo)
    assert re.search(rf"slides/01_roofline/listings/crossover\.py:{line}: listing raised AttributeError: "
                     r"mlsysim\.Models\.Language has no 'Llama4_8B'", error), error
    assert as_before(repo, *before) == before and None not in before.values()  # the last good run's


def test_a_listing_that_raises(built_repo):
    repo = built_repo
    listing = repo / "slides" / "01_roofline" / "listings" / "three_vendors.py"
    line = _append(listing, 'raise RuntimeError("the slide\'s code is broken")')
    before = as_before(repo, *(f"listings/01_roofline/three_vendors{ext}" for ext in LISTING_OUTPUTS))
    error, _ = failed_build(repo)
    assert f"three_vendors.py:{line}: listing raised RuntimeError: the slide's code is broken" in error
    assert as_before(repo, *before) == before and None not in before.values()


# --- templates --------------------------------------------------------------------------------


def test_template_uses_an_unknown_claim(built_repo):
    repo = built_repo
    template = repo / "slides" / "01_roofline" / "slides.tex.j2"
    line = _line_of(template, 'claim("hw.H100.peak")')
    _edit(template, 'claim("hw.H100.peak")', 'claim("hw.NoSuchGPU.peak")')  # fictional: never a real chip
    before = as_before(repo, *PART_OUTPUTS)
    error, _ = failed_build(repo)
    assert f"slides/01_roofline/slides.tex.j2:{line}: unknown claim 'hw.NoSuchGPU.peak'" in error
    assert as_before(repo, *before) == before and None not in before.values()


def test_template_uses_a_non_literal_claim_id(built_repo):
    repo = built_repo
    template = repo / "slides" / "01_roofline" / "slides.tex.j2"
    line = _line_of(template, 'claim("hw.H100.peak")')
    _edit(template, 'claim("hw.H100.peak")', 'claim("hw." ~ "H100.peak")')
    before = as_before(repo, *PART_OUTPUTS)
    error, _ = failed_build(repo)
    assert f"slides/01_roofline/slides.tex.j2:{line}: claim() needs a literal name" in error
    assert as_before(repo, *before) == before and None not in before.values()


def test_a_latex_error_names_the_template_line(built_repo):
    repo = built_repo
    template = repo / "slides" / "01_roofline" / "slides.tex.j2"
    line = _line_of(template, r"\begin{frame}{Arithmetic Intensity")
    _edit(template, r"\begin{frame}{Arithmetic Intensity", r"\notamacro\begin{frame}{Arithmetic Intensity")
    typeset_before = (repo / "build" / "tex" / "deck.xdv").read_bytes()
    error, out = failed_build(repo)
    assert f"slides/01_roofline/slides.tex.j2:{line}: Undefined control sequence." in error
    assert re.search(r"LaTeX, in build/slides/01_roofline\.tex:\d+", error)
    assert not (repo / "build" / "deck.pdf").exists() and not (repo / "build" / "tex" / "deck.pdf").exists()
    # no typeset pages from the broken source: the halted pass left none, and what is there (if the
    # notes failed before the deck's pass began) is the last good build's
    xdv = repo / "build" / "tex" / "deck.xdv"
    assert not xdv.exists() or xdv.read_bytes() == typeset_before


def test_once_a_latex_error_is_fixed_the_other_materials_are_only_assembled(built_repo):
    # the exercise sheet fails on a LaTeX error in one of its frames (nothing of its own half-made,
    # its auxiliary files as the failed pass found them, so the pass after the fix settles at once);
    # the deck's typeset pages from the last good build stay, its PDF goes; the error fixed, the deck
    # is assembled again from those pages (no XeLaTeX pass) into the same bytes, and the sheet is
    # typeset again.  (The sheet, the cheapest material to typeset, shows the frame the deck does.)
    repo = built_repo
    deck_pdf, deck_xdv = (repo / "build" / p for p in ("deck.pdf", "tex/deck.xdv"))
    pdf_before, xdv_before = deck_pdf.read_bytes(), deck_xdv.read_bytes()
    auxiliary = [p for ext in AUXILIARY if (p := repo / "build" / "tex" / f"exercises{ext}").exists()]
    assert {p.suffix for p in auxiliary} >= {".aux", ".nav", ".out"}, auxiliary
    auxiliary_before = {p: p.read_bytes() for p in auxiliary}
    template = repo / "slides" / "01_roofline" / "slides.tex.j2"
    source = template.read_text(encoding="utf-8")
    frame = r"\begin{frame}[label=exercise-crossover]{Exercise 1: Find the Crossover}"
    _edit(template, frame, frame + "\n\\notamacro")
    proc = doit(repo, "typeset:exercises")
    assert proc.returncode != 0 and "Undefined control sequence" in proc.stderr, proc.stdout + proc.stderr
    assert not (repo / "build" / "tex" / "exercises.xdv").exists() and not deck_pdf.exists()
    assert deck_xdv.read_bytes() == xdv_before
    assert {p: p.read_bytes() for p in auxiliary} == auxiliary_before
    assert leftovers(repo / "build") == []

    template.write_text(source, encoding="utf-8")
    proc = doit(repo, "pdf:deck", "pdf:exercises")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rebuilt = ran(proc)
    assert {"pdf:deck", "typeset:exercises", "pdf:exercises"} <= rebuilt and "typeset:deck" not in rebuilt, rebuilt
    assert deck_pdf.read_bytes() == pdf_before


# --- a name with LaTeX's special characters is printed as written ------------------------------

ODD_NAME = r"Llama-3 8B & Co. #1 {x} 100% $5 ~y^ _z \w"


def test_model_name_with_latex_special_characters(built_repo):
    # a model an author adds, named with every character LaTeX treats specially: Llama-3 8B's entry
    # under another key (a new model, so nothing that shows the models already redraws)
    repo = built_repo
    models = specs(repo) / "models.toml"
    text = models.read_text(encoding="utf-8")
    start = text.index("[Llama3_8B]")
    entry = text[start:text.index("\n[", start) + 1]
    name = entry[entry.index("name = "):]
    entry = "[OddModel]" + entry[len("[Llama3_8B]"):entry.index("name = ")] + f"name = '{ODD_NAME}'" + name[name.index("\n"):]
    models.write_text(text + "\n" + entry, encoding="utf-8")
    _append(repo / "slides" / "01_roofline" / "claims.py",
            'claims.text("test.model_name", lambda: mlsysim.Models.Language.OddModel.name)')
    # a sentence in a frame there is (a frame added would cost a second pass): the crossover
    # solution's, which also prints the listing's output; the answer key shows it (the cheapest
    # material that does: its pass is a quarter of the deck's)
    frame = r"\begin{frame}[label=solution-crossover]{Exercise 1, Solution: The Crossover}"
    _edit(repo / "slides" / "01_roofline" / "slides.tex.j2", frame, frame + '\nThe model: \\VAR{claim("test.model_name")}.')
    _append(repo / "slides" / "01_roofline" / "listings" / "crossover.py", "print(mlsysim.Models.Language.OddModel.name)")
    proc = doit(repo, "pdf:solutions")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = subprocess.run(["pdftotext", "-raw", str(repo / "build" / "solutions.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = re.sub(r"\s+", " ", text)
    assert f"The model: {ODD_NAME}." in flat  # the slide text, every character as written
    assert flat.count(ODD_NAME) >= 2  # and the listing's output


# --- a package that is not installed -----------------------------------------------------------


def test_a_missing_package_names_its_preamble_line(built_repo):
    # The packages are precompiled into a format: a package TeX cannot find stops that step, and
    # the error names the preamble line that asks for it (TeX itself stops a line further on).
    repo = built_repo
    preamble = repo / "templates" / "preamble.tex"
    line = _line_of(preamble, r"\usepackage{booktabs}")
    _edit(preamble, "\\usepackage{booktabs}\n", "\\usepackage{booktabs}\n\\usepackage{nosuchpackage}\n")
    error, _ = failed_build(repo)
    assert error.startswith(f"error: templates/preamble.tex:{line + 1}: LaTeX Error: File `nosuchpackage.sty' "
                            "not found"), error
    assert not (repo / "build" / "deck.pdf").exists()
    assert not list((repo / "build" / "tex").glob("preamble-*-*.fmt"))  # no half-made format
