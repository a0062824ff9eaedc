"""The formulas: derived in sympy, printed to plain Python, never imported at run time."""
import os
import subprocess
import sys

from conftest import ROOT
from workflow_support import imported_on_use

sp = imported_on_use("sympy")  # the derivations run as they are imported: when a test first needs them
d = imported_on_use("mlsysim.core.derivations")
generate = imported_on_use("mlsysim.core.generate")


def test_generated_modules_match_the_derivations():
    for module in generate.modules():
        path = generate.generated_path(module)
        assert path.read_text() == generate.generate(module), (
            f"{path.name} is stale: run `python -m mlsysim.core.generate` (or doit derive)")


def test_a_stale_generated_module_is_caught(monkeypatch):
    # the comparison above can fail: change one derivation in memory (a p2p transfer paying its
    # latency twice) and the generated text no longer matches the committed file, which is listed
    from dataclasses import replace

    import mlsysim.core.derive_distributed as dd

    assert generate.stale() == []
    p2p = d.FORMULAS["p2p_time"]
    monkeypatch.setitem(d.FORMULAS, "p2p_time", replace(p2p, expr=2 * dd.alpha + dd.message / dd.bw))
    path = generate.generated_path("derive_distributed")
    assert generate.generate("derive_distributed") != path.read_text()
    assert "return 2*alpha + message/bw" in generate.generate("derive_distributed")
    assert generate.stale() == [path]


def _dodo_tasks():
    """dodo.py's tasks: name -> task dict (a task generator's sub-tasks each under their own name)."""
    import importlib.util
    import inspect

    loader = importlib.util.spec_from_file_location("dodo_under_test", ROOT / "dodo.py")
    dodo = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(dodo)
    tasks = {}
    for name, make in vars(dodo).items():
        if name.startswith("task_") and callable(make):
            made = make()
            for task in (made if inspect.isgenerator(made) else [made]):
                tasks[name[5:] + (f":{task['name']}" if "name" in task else "")] = task
    return dodo, tasks


def test_the_build_never_regenerates_the_derived_modules():
    # `doit derive` is explicit: not a default task, and nothing the build runs depends on a file it
    # makes (doit runs the task that makes a file_dep), so a build cannot rewrite a stale module and
    # hide it from the comparison above (CI builds, then tests)
    dodo, tasks = _dodo_tasks()
    assert "derive" not in dodo.DOIT_CONFIG["default_tasks"]
    assert "claims" in dodo.DOIT_CONFIG["default_tasks"] and "pdf" in dodo.DOIT_CONFIG["default_tasks"]
    # dodo.py names paths relative to the folder it was loaded from (here: this process's cwd)
    made_by_derive = {os.path.abspath(t) for t in tasks["derive"].get("targets", [])}
    generated = {str(generate.generated_path(m).resolve()) for m in generate.modules()}
    needed = {os.path.abspath(dep) for name, task in tasks.items() if name != "derive"
              for dep in task.get("file_dep", [])}
    assert generated <= needed  # the claims, figures and listings do depend on the generated modules
    assert made_by_derive & needed == set(), "a default task's file_dep is a target of derive"
    for name, task in tasks.items():
        assert "derive" not in task.get("task_dep", []), name


def test_ridge_point_is_solved_not_typed():
    assert sp.simplify(d.FORMULAS["ridge_point"].expr - d.peak_flops / d.bandwidth) == 0


def test_parameter_sum_equals_layers_times_one_layer():
    expected = d.embedding_copies * d.vocab * d.hidden + d.layers * d.per_layer + d.hidden
    assert sp.simplify(d.FORMULAS["parameter_count"].expr - expected) == 0


def test_crossover_batch_balances_compute_and_memory_time():
    f = d.FORMULAS["crossover_batch"].expr
    t_compute = d.FORMULAS["decode_flops"].expr / (d.peak_flops * d.eta)
    t_memory = d.FORMULAS["decode_bytes"].expr / (d.bandwidth * d.eta_bw)
    assert sp.simplify((t_compute - t_memory).subs(d.batch, f)) == 0


def test_equations_render_with_slide_names():
    assert d.latex_of("ridge_point") == r"\text{AI}_{\text{ridge}} = \frac{\text{Peak}}{\text{BW}}"
    assert r"\text{KV}_{\text{token}}" in d.latex_of("decode_intensity")


def test_import_is_light_and_fast():
    code = ("import sys, time; t = time.perf_counter(); import mlsysim; dt = time.perf_counter() - t; "
            "print(sorted(m for m in ('sympy', 'pint', 'matplotlib', 'numpy', 'jinja2', 'doit') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "engine"), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"
