"""The mistakes authors make most, made on an incremental build (build/ present), each give one
message naming the author's own file and line, with the likely fix.

One copy of the repository is built once for the whole module; each test breaks one thing, runs
`doit` again, checks the message, and puts the file back.  A failed build must also leave no
finished material behind that looks current (build/deck.pdf, build/ledger.html).
"""
import re
import subprocess
import sys
from contextlib import contextmanager

import pytest

from workflow_support import ROOT, clean_env, copy_repo, doit, impact, leftovers, set_spec_value


@pytest.fixture(scope="module")
def deck(module_folder):
    repo = copy_repo(module_folder / "repo", built=True)
    first = doit(repo)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (repo / "build" / "deck.pdf").exists()
    return repo


@contextmanager
def edited(path, old, new):
    """`path` with its first `old` replaced by `new`; yields the 1-based line of the edit."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    line = text[:text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    try:
        yield line
    finally:
        path.write_text(text, encoding="utf-8")


def line_of(path, needle):
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def failed(repo):
    """Run the incremental build: it fails with one `error:` line, no traceback, no stale deck."""
    proc = doit(repo)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out and "DependencyError" not in out, out
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, out
    assert leftovers(repo / "build") == []
    assert not (repo / "build" / "deck.pdf").exists(), "a failed build left the old deck.pdf behind"
    assert not (repo / "build" / "ledger.html").exists()
    return errors[0], proc.stderr


def template(repo):
    return repo / "slides" / "01_roofline" / "slides.tex.j2"


TEMPLATE = "slides/01_roofline/slides.tex.j2"
ITEM = r"\item The weights are read once"
FRAME = r"\begin{frame}{Arithmetic Intensity: The Dial You Control}"


# --- templates --------------------------------------------------------------------------------


def test_a_typo_in_a_claim_id_names_the_line_and_the_claim_meant(deck):
    # ridge.H100.effective with the last 0 of H100 typed as the letter O: one edit from the real id
    with edited(template(deck), 'claim("ridge.H100.effective")', 'claim("ridge.H10O.effective")') as line:
        error, stderr = failed(deck)
    assert f"{TEMPLATE}:{line}: unknown claim 'ridge.H10O.effective': did you mean 'ridge.H100.effective'" in error
    assert "removed build/deck.pdf" in stderr  # and it says why the deck is gone


# the figures' shared style: early, while every material's typeset pages are current, so only the
# figures run (after a LaTeX error below, the materials it broke would be typeset again beside them)
def test_an_error_in_the_figures_shared_style_names_it(deck):
    style = deck / "figures" / "_style.py"
    body = '    fig.savefig(out_path, format="pdf"'
    with edited(style, body, '    raise RuntimeError("broken style")\n' + body) as line:
        error, _ = failed(deck)
    assert re.search(rf"figures/_style\.py:{line}: figure \w+ raised RuntimeError: broken style "
                     r"\(called from figures/\w+\.py:\d+\)", error), error


def test_a_missing_brace_in_a_frame_title_names_the_frame(deck):
    with edited(template(deck), FRAME, FRAME[:-1]) as line:
        error, _ = failed(deck)
    # LaTeX itself reports build/deck.tex's \input line: "File ended while scanning use of \frame"
    assert f"{TEMPLATE}:{line}: a `{{` is not closed in the frame that starts at line {line}" in error
    assert "File ended while scanning use of \\frame" in error


def test_a_missing_brace_inside_a_frame_names_its_line_and_frame(deck):
    frame = line_of(template(deck), FRAME)
    with edited(template(deck), ITEM, r"\item The \emph{weights are read once") as line:
        error, _ = failed(deck)
    assert line > frame
    assert f"{TEMPLATE}:{line}: a `{{` is not closed in the frame that starts at line {frame}" in error
    assert "`{weights are read once" in error


def test_a_misspelt_macro_names_the_line_and_the_macro_meant(deck):
    with edited(template(deck), ITEM, r"\item The \textbff{weights} are read once") as line:
        error, _ = failed(deck)
    # Beamer reports it on the frame's \end{frame}; the message names the line that uses it
    assert f"{TEMPLATE}:{line}: Undefined control sequence." in error
    assert "\\textbff is not a LaTeX command: did you mean \\textbf" in error
    assert re.search(r"LaTeX, in build/slides/01_roofline\.tex:\d+", error)


def test_a_misspelt_macro_in_a_speaker_note_names_its_note(deck):
    # The notes are typeset by a pass of their own from what the deck's pass wrote (one page per
    # deck page); the error still names the template and the note: its call block's line, where the
    # note's text is rendered from
    with edited(template(deck), "Pose it and stop talking", r"\notamacro Pose it and stop talking") as line:
        assert "call note(" in template(deck).read_text(encoding="utf-8").splitlines()[line - 2]
        error, _ = failed(deck)
    assert f"{TEMPLATE}:{line - 1}: Undefined control sequence." in error
    assert "\\notamacro is not a LaTeX command" in error
    assert re.search(r"LaTeX, in build/slides/01_roofline\.tex:\d+", error)


def test_a_var_without_its_closing_brace(deck):
    with edited(template(deck), 'claim("resnet.batch")}', 'claim("resnet.batch")') as line:
        error, _ = failed(deck)
    assert f"{TEMPLATE}:{line}: \\VAR{{ is not closed on this line: add the `}}` after " \
           f"`claim(\"resnet.batch\")`" in error


def test_an_unclosed_if_points_where_it_opened(deck):
    with edited(template(deck), FRAME, "\\BLOCK{if part.title}\n" + FRAME) as line:
        error, _ = failed(deck)
    assert f"{TEMPLATE}:{line}: \\BLOCK{{if ...}} is never closed: add \\BLOCK{{endif}}" in error


# --- spec values ------------------------------------------------------------------------------


def specs(repo):
    return repo / "engine" / "mlsysim" / "specs"


@contextmanager
def spec_edit(repo, table, field, new):
    path = specs(repo) / "hardware.toml"
    text = path.read_text(encoding="utf-8")
    line = set_spec_value(specs(repo), "hardware", table, field, new)
    try:
        yield line
    finally:
        path.write_text(text, encoding="utf-8")


def test_a_size_given_for_a_bandwidth(deck):
    with spec_edit(deck, "H100", "memory_bandwidth", '{ value = 4.8, unit = "TB", source = "typo" }') as line:
        error, _ = failed(deck)
    assert error.startswith(f"error: engine/mlsysim/specs/hardware.toml:{line}: [H100] memory_bandwidth = 4.8 TB:")
    assert "4.8 TB is a size; a bandwidth needs a rate such as TB/s" in error
    assert "claims.py" not in error  # the spec's own line, not the claim that happened to read it first


def test_a_misspelt_unit(deck):
    with spec_edit(deck, "H100", "memory_bandwidth", '{ value = 3.35, unit = "TB/S", source = "typo" }') as line:
        error, _ = failed(deck)
    assert f"hardware.toml:{line}: [H100] memory_bandwidth = 3.35 TB/S" in error
    assert "'TB/S' looks misspelt: did you mean 'TB/s'?" in error
    assert "[mass]" not in error


def test_every_statement_a_spec_edit_makes_false_is_named(deck):
    with spec_edit(deck, "A100", "memory_bandwidth", '{ value = 0.5, unit = "TB/s", source = "what-if" }'):
        error, stderr = failed(deck)
    # A100 ridge 312 / 0.5 = 624 FLOP/B > H100's 295: the A100 no longer crosses over "earlier";
    # A100 -> B200 bandwidth grows 8 / 0.5 = 16x > FLOP/s 2250 / 312 = 7.2x
    assert re.search(r"slides/01_roofline/claims\.py:\d+: claim 'crossover\.A100_earlier'", stderr)
    assert re.search(r"also: slides/01_roofline/claims\.py:\d+: claim 'gen\.flops_outgrow_bw': the slide says "
                     r"\"FLOP/s grew faster than bandwidth\", but the engine finds this false", stderr)


# --- figures ----------------------------------------------------------------------------------


def test_a_missing_table_entry_in_a_figure_helper_says_where_to_add_it(tmp_path, capsys):
    from mlsysim_deck.build import run_figure

    (tmp_path / "_look.py").write_text('"""shared look"""\nSHADES = {"H100": "red"}\n', encoding="utf-8")
    script = tmp_path / "chips.py"
    script.write_text("from _look import SHADES\n\n\ndef main(out_path):\n    return SHADES['Z9000']\n",
                      encoding="utf-8")
    assert run_figure(script, tmp_path / "out" / "chips.pdf", ROOT / "engine" / "mlsysim" / "specs") is False
    err = capsys.readouterr().err
    assert f"{script}:5: figure chips raised KeyError: 'Z9000'" in err or "chips.py:5: figure chips raised" in err
    assert "SHADES is defined in" in err and "_look.py:2 and has no entry 'Z9000': add one there" in err


# --- the build log and doit info --------------------------------------------------------------


def test_the_build_log_says_what_moved_and_doit_info_names_the_key(deck):
    # from a part that rendered and a figure that was drawn (the tests above leave failed builds, and
    # a task that failed has "not known yet", whichever tasks a failed build happened to reach first)
    assert doit(deck, "slides:01_roofline", "figure:roofline").returncode == 0
    with spec_edit(deck, "Gaudi3", "memory_bandwidth",
                   '{ value = 3.1, unit = "TB/s", source = "what-if" }'):
        figure = doit(deck, "info", "figure:roofline")
        slides = doit(deck, "info", "slides:01_roofline")
        claims = doit(deck, "claims")
    key = "hardware.Gaudi3.memory_bandwidth: 3.7 TB/s -> 3.1 TB/s"
    assert key in figure.stdout and "status     : run" in figure.stdout
    assert len(figure.stdout) < 4000  # the moved key, not every spec value
    assert key in slides.stdout and "status     : run" in slides.stdout and "three.Gaudi3.speedup" in slides.stdout
    log = claims.stdout
    assert claims.returncode == 0, log + claims.stderr
    assert "spec values changed since the last build (1):" in log and key in log
    # decode is memory-bound on both, so the speedup over H100 is the bandwidth ratio:
    # 3.7 / 3.35 = 1.104 -> "1.10×"; 3.1 / 3.35 = 0.925 -> "0.93×", and Gaudi 3 turns slower
    assert "three.Gaudi3.speedup: 1.10\u00d7 -> 0.93\u00d7" in log and "its sense flips" in log
    # ridge 1835 TFLOP/s / 3.7 TB/s = 496 FLOP/B -> 1835 / 3.1 = 592 FLOP/B
    assert "ridge.Gaudi3: 496 FLOP/B -> 592 FLOP/B" in log
    assert "differ from slides/claims.lock.json" in log and "doit accept_claims" in log
    assert doit(deck, "claims").returncode == 0  # the spec as it was


# --- impact analysis --------------------------------------------------------------------------

IMPACT = ["-m", "mlsysim_deck.impact"]


def what_if(key, value):
    proc = impact(key, "--value", value)  # its main, run here (test_impact.py runs the program)
    assert proc.returncode == 0, proc.stderr
    flips = proc.stdout.split("Claims whose sense flips", 1)[1].split("Claims that change")[0] \
        if "Claims whose sense flips" in proc.stdout else ""
    false = proc.stdout.split("Claims whose sense flips")[0].split("Claims that change")[0]
    return flips, false


def test_impact_flags_a_speedup_that_turns_into_a_slowdown():
    flips, _ = what_if("hardware.Gaudi3.memory_bandwidth", "3.1 TB/s")
    # decode is memory-bound, so Gaudi 3's speedup over the H100 is the bandwidth ratio:
    # 3.7 / 3.35 = 1.10x (faster) -> 3.1 / 3.35 = 0.925 -> "0.93x" (slower)
    assert "! three.Gaudi3.speedup: the ratio crosses 1 (1.10\u00d7 \u2192 0.93\u00d7)" in flips


@pytest.fixture(scope="module")
def slow_a100():
    """`A100 memory bandwidth = 0.5 TB/s`: an edit that turns several statements false."""
    return what_if("hardware.A100.memory_bandwidth", "0.5 TB/s")


def test_impact_lists_every_statement_that_turns_false(slow_a100):
    _, false = slow_a100
    assert "Statements that would turn false" in false
    # the A100's ridge becomes 312 / 0.5 = 624 FLOP/B, above the H100's 295: it no longer crosses
    # over to compute-bound "earlier" than the H100
    assert "! crossover.A100_earlier: slides/01_roofline/claims.py:" in false
    # A100 -> B200 bandwidth grows 8 / 0.5 = 16x, FLOP/s 2250 / 312 = 7.2x: FLOP/s no longer grew faster
    assert "! gen.flops_outgrow_bw: slides/01_roofline/claims.py:" in false
    assert "FLOP/s grew faster than bandwidth" in false


def test_impact_flags_verdicts_and_ratios_that_change_sense(slow_a100):
    flips, _ = slow_a100
    # highest ridge: Gaudi 3 1835 / 3.7 = 496 FLOP/B before; now the A100's 624 FLOP/B is higher
    assert "! gen.highest_ridge: the engine's verdict changes: \u201cGaudi 3\u201d becomes \u201cA100" in flips
    # the KV transfer took 2.8 inter-token latencies; the A100's ITL grows 2.039 / 0.5 = 4.08x: 2.8 / 4.08 = 0.69
    assert "! disagg.transfer_in_itls: the ratio crosses 1 (2.8 \u2192 0.7)" in flips


def test_impact_in_a_closed_pipe_is_quiet():
    proc = subprocess.Popen([sys.executable, *IMPACT, "hardware.Gaudi3.memory_bandwidth"], cwd=ROOT,
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # the reader (`| head`) is gone before anything is printed
    err = proc.stderr.read()
    proc.wait(timeout=300)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 0
