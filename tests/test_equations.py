"""The slides' equations in teaching form: written as an instructor writes them, proved equal to the
derivations, printed once into build/equations.json, and read from there without sympy."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD, ROOT, require_build
from mlsysim_deck.build import BuildError
from mlsysim_deck.equations import write_equations
from workflow_support import imported_on_use

teaching = imported_on_use("mlsysim.core.teaching")  # runs the derivations: when a test first needs it
board = imported_on_use("mlsysim.core.board")
dd = imported_on_use("mlsysim.core.derive_distributed")

SLIDES = ROOT / "slides"


def slide_equations() -> dict[str, list[tuple[str, int]]]:
    """Every equation("name") of the slide templates, with where it is: name -> [(template, line)]."""
    found: dict[str, list[tuple[str, int]]] = {}
    for template in sorted(SLIDES.glob("*/slides.tex.j2")):
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), 1):
            for name in re.findall(r'equation\("(\w+)"\)', line):
                found.setdefault(name, []).append((template.relative_to(ROOT).as_posix(), number))
    return found


def test_every_slide_equation_has_a_teaching_form():
    used = slide_equations()
    assert len(used) >= 25  # the deck shows about thirty equations; an empty scan would pass anything
    missing = sorted(set(used) - set(teaching.TEACHING))
    assert missing == [], (f"slides show these equations as sympy prints them: {missing}; write each as it is "
                           f"taught in engine/mlsysim/core/teaching.py")


def test_every_teaching_form_is_its_derivation():
    assert len(teaching.TEACHING) >= 25
    assert teaching.check() == []


def test_the_forms_read_as_taught():
    # typed by hand, as the issue writes them: the bandwidth term and the latency term side by side
    assert teaching.taught_latex("ring_allreduce_time") == (
        r"T_{\text{AllReduce}} = 2\frac{N - 1}{N} \cdot \frac{M}{\beta} + 2(N - 1)\,\alpha")
    assert teaching.taught_text("ring_allreduce_time") == "T_AllReduce = 2 (N − 1)/N · M/β + 2 (N − 1) α"
    assert teaching.taught_text("young_interval") == "τ^* = √(2 δ · MTBF)"
    assert teaching.taught_text("goodput") == "Goodput = 1 − √((2 δ)/MTBF) − R/MTBF"
    # the hierarchical AllReduce: the ring inside the node plus the ring of M/g across nodes, each labelled
    hier = teaching.taught_latex("hierarchical_allreduce_time")
    assert hier.count(r"\underbrace") == 2 and r"_{\text{inside the node}}" in hier and r"_{\text{across nodes}}" in hier
    # forms already natural stay as they were
    assert teaching.taught_latex("ridge_point") == r"\text{AI}_{\text{ridge}} = \frac{\text{Peak}}{\text{BW}}"


def test_a_teaching_form_agrees_with_the_engine_by_hand():
    # ring AllReduce of M = 1 GB over N = 8 GPUs at beta = 450 GB/s per direction, alpha = 5 us:
    # 2 * 7/8 * 1e9 / 450e9 = 3.8889e-3 s, plus 2 * 7 * 5e-6 = 7.0e-5 s: 3.9589e-3 s
    ring = teaching.TEACHING["ring_allreduce_time"].rhs.value()
    at = {dd.message: 10**9, dd.n: 8, dd.bw: 450 * 10**9, dd.alpha: 5 * 10**-6}
    assert float(ring.subs(at)) == pytest.approx(3.9589e-3, rel=1e-4)
    from mlsysim.core import _derived_distributed as run_time

    assert run_time.ring_allreduce_time(1e9, 8, 450e9, 5e-6) == pytest.approx(3.9589e-3, rel=1e-4)
    # goodput at delta = 2 min, MTBF = 3 h = 180 min, R = 10 min: 1 - sqrt(4/180) - 10/180
    # = 1 - 0.14907 - 0.05556 = 0.79537
    good = teaching.TEACHING["goodput"].rhs.value()
    assert float(good.subs({dd.delta: 2, dd.mtbf: 180, dd.restart: 10})) == pytest.approx(0.79537, abs=1e-5)


def _wrong_ring():
    """The ring AllReduce with the latency term paid once per step of one half only: (N-1) alpha."""
    N, M, beta, alpha = (board.Symbol(s) for s in (dd.n, dd.message, dd.bw, dd.alpha))
    wrong = 2 * board.frac(N - 1, N) * board.frac(M, beta) + (N - 1) * alpha
    return dict(teaching.TEACHING) | {"ring_allreduce_time": teaching.Taught("ring_allreduce_time", wrong, 7)}


def test_the_proof_catches_a_wrong_teaching_form():
    wrong = teaching.check(_wrong_ring())
    assert [m.name for m in wrong] == ["ring_allreduce_time"]
    assert wrong[0].taught == "T_AllReduce = 2 (N − 1)/N · M/β + (N − 1) α"
    assert wrong[0].derived.startswith("T_AllReduce = 2·")  # sympy's one fraction, in slide names


def test_a_min_is_proved_term_by_term():
    P, BW, AI = (board.Symbol(s) for s in (teaching.derivations.peak_flops, teaching.derivations.bandwidth,
                                            teaching.derivations.intensity))
    f = teaching.derivations.FORMULAS["attainable_flops"].expr
    assert teaching.equal(board.minimum(BW * AI, P).value(), f)  # the order of the terms does not matter
    assert not teaching.equal(board.minimum(P, BW).value(), f)
    assert not teaching.equal(board.maximum(P, BW * AI).value(), f)


def test_a_wrong_teaching_form_fails_the_build_naming_the_frame(tmp_path, monkeypatch, capsys):
    from test_derivations import _dodo_tasks

    monkeypatch.setattr("mlsysim.core.teaching.TEACHING", _wrong_ring())
    monkeypatch.setenv("MLSYSIM_CACHE", "off")  # the cache is keyed on the sources, which this patch leaves alone
    (template, line), = slide_equations()["ring_allreduce_time"]
    out = tmp_path / "equations.json"
    with pytest.raises(BuildError) as err:
        write_equations(SLIDES, out)
    message = str(err.value)
    assert message.startswith(f'{template}:{line} (frame "Wall 14: The Communication Wall"): the equation '
                              f"'ring_allreduce_time' as taught is not what its derivation gives")
    assert "taught:  T_AllReduce = 2 (N − 1)/N · M/β + (N − 1) α" in message
    assert "derived: T_AllReduce = 2·" in message
    assert "engine/mlsysim/core/teaching.py:7" in message
    assert not out.exists()
    # the build's task reports it as one error line and fails
    dodo, tasks = _dodo_tasks()
    action, args = tasks["equations"]["actions"][0]
    assert action(str(SLIDES), str(out)) is False
    assert f"error: {template}:{line} (frame \"Wall 14: The Communication Wall\")" in capsys.readouterr().err


def test_the_equations_task_runs_only_after_a_derivation_or_teaching_edit():
    # a spec or prose edit must not run sympy: the task reads neither the specs nor the templates, and
    # writes into build/ only; the slides read its output instead of the derivations
    from test_derivations import _dodo_tasks

    dodo, tasks = _dodo_tasks()
    absolute = lambda paths: {os.path.abspath(p) for p in paths}  # noqa: E731  (dodo's paths are relative)
    deps = absolute(tasks["equations"]["file_dep"])
    assert str(ROOT / "engine" / "mlsysim" / "core" / "teaching.py") in deps
    assert str(ROOT / "engine" / "mlsysim" / "core" / "derive_distributed.py") in deps
    assert not [d for d in deps if d.endswith((".toml", ".j2"))], deps
    assert absolute(tasks["equations"]["targets"]) == {str(BUILD / "equations.json")}
    assert "equations" in dodo.DOIT_CONFIG["default_tasks"]
    for name, task in tasks.items():
        if name.startswith("slides:"):
            assert str(BUILD / "equations.json") in absolute(task["file_dep"])
            assert not [d for d in task["file_dep"] if "derivations" in d or "derive_" in d], name


def test_the_built_equations_are_the_teaching_forms():
    built = json.loads(require_build(BUILD / "equations.json").read_text(encoding="utf-8"))
    assert built["equations"]["ring_allreduce_time"] == teaching.taught_latex("ring_allreduce_time")
    assert set(slide_equations()) <= set(built["taught"])


def test_rendering_a_slide_never_imports_sympy(tmp_path):
    require_build(BUILD / "equations.json")
    claims = require_build(BUILD / "claims")
    code = ("import sys; from pathlib import Path; from mlsysim_deck.render import render_part; "
            f"render_part(Path({str(SLIDES / '04_distributed')!r}), Path({str(SLIDES)!r}), "
            f"Path({str(ROOT / 'templates')!r}), Path({str(claims)!r}), Path({str(tmp_path / 'p.tex')!r}), "
            f"Path({str(tmp_path / 'p.json')!r})); print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT / "engine"), "PATH": "/usr/bin:/bin"}, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    assert r"2\frac{N - 1}{N} \cdot \frac{M}{\beta}" in (tmp_path / "p.tex").read_text(encoding="utf-8")


def test_the_proved_equations_are_cached_on_every_engine_source(tmp_path, monkeypatch):
    # the cache only saves the 2 s of proofs: the same bytes with it and without it, and a cached
    # copy is found only for the very same engine (one byte of any engine file moves the key)
    from mlsysim_deck.equations import engine_sources

    monkeypatch.setenv("MLSYSIM_CACHE", str(tmp_path / "cache"))
    first, again, without = tmp_path / "first.json", tmp_path / "again.json", tmp_path / "without.json"
    write_equations(SLIDES, first)
    (kept,) = (tmp_path / "cache" / "equations").glob("*.json")
    assert json.loads(kept.read_text(encoding="utf-8")) == first.read_text(encoding="utf-8")
    write_equations(SLIDES, again)
    monkeypatch.setenv("MLSYSIM_CACHE", "off")
    write_equations(SLIDES, without)
    assert first.read_bytes() == again.read_bytes() == without.read_bytes()
    assert list((tmp_path / "cache" / "equations").glob("*.json")) == [kept]  # found again, none added

    monkeypatch.setenv("MLSYSIM_CACHE", str(tmp_path / "cache"))
    engine = tmp_path / "engine"
    shutil.copytree(ROOT / "engine", engine, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    assert engine_sources(engine) == engine_sources()
    teaching_py = engine / "mlsysim" / "core" / "teaching.py"
    teaching_py.write_text(teaching_py.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert engine_sources(engine) != engine_sources()
