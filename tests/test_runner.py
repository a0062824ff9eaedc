"""The listings and impact analysis's work run in child processes: forked from a process that has the
engine loaded, or as a fresh Python where it cannot fork (MLSYSIM_FORK=0).  Both give the same."""
import os

import pytest

from mlsysim_deck import runner
from workflow_support import ENGINE, copy_specs, set_spec_value

PROBE = '''
import os, sys

from mlsysim.spec import spec_dir


def where(name):
    print(f"looking for {name}", file=sys.stderr)
    return {"specs": str(spec_dir()), "cwd": os.getcwd(), "name": name}


def refuses(why):
    print(why, file=sys.stderr)
    raise SystemExit(2)


def breaks():
    raise KeyError("Z9000")
'''


@pytest.fixture(params=["forked", "fresh"])
def mode(request, monkeypatch, tmp_path):
    (tmp_path / "probe.py").write_text(PROBE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))  # the module, here (forked) and in a fresh Python
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("MLSYSIM_FORK", "1" if request.param == "forked" else "0")
    return request.param


def test_a_child_returns_the_functions_value_on_its_own_specs(mode, tmp_path):
    specs, cwd = tmp_path / "specs", tmp_path / "there"
    cwd.mkdir()
    done = runner.Child("probe:where", ["H100"], ENGINE, specs=specs, cwd=cwd).wait()
    assert (done.returncode, done.value) == (0, {"specs": str(specs), "cwd": str(cwd), "name": "H100"})
    assert done.stderr == "looking for H100\n"
    # and nothing of it stays in this process
    assert os.environ.get("MLSYSIM_SPECS") != str(specs) and os.getcwd() != str(cwd)


def test_a_child_that_stops_or_raises_says_so(mode):
    done = runner.Child("probe:refuses", ["no such key"], ENGINE).wait()
    assert (done.returncode, done.value, done.stderr) == (2, None, "no such key\n")
    done = runner.Child("probe:breaks", [], ENGINE).wait()
    assert done.returncode == 1 and done.value is None
    assert done.stderr.startswith("Traceback") and done.stderr.rstrip().endswith("KeyError: 'Z9000'")


def test_a_listing_reads_the_specs_it_is_given(mode, tmp_path):
    specs = copy_specs(tmp_path / "specs")
    set_spec_value(specs, "hardware", "H100", "memory_bandwidth",
                   '{ value = 4.2, unit = "TB/s", source = "what-if" }')
    script = tmp_path / "listing.py"
    script.write_text("import mlsysim\nbw = mlsysim.Hardware.Cloud.H100.memory_bandwidth\n"
                      "print(f\"{bw.to('TB/s').magnitude:.2f} TB/s\")\n", encoding="utf-8")
    ran = runner.run_script(script, tmp_path, ENGINE, specs=specs)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "4.20 TB/s\n", "")
    assert "hardware.H100.memory_bandwidth" in ran.reads
    ran = runner.run_script(script, tmp_path, ENGINE)  # without: the engine's own, 3.35 TB/s
    assert ran.stdout == "3.35 TB/s\n"
