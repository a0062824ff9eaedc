"""The claims lock: a moved slide number fails the tests until someone accepts it."""
import json

import pytest

from workflow_support import IN_CI, ROOT, copy_specs, lock, run_py, set_spec_value

LOCK = ROOT / "slides" / "claims.lock.json"


def test_lock_is_sorted_one_claim_per_line():
    from mlsysim_deck.lock import dumps

    text = LOCK.read_text(encoding="utf-8")
    entries = json.loads(text)
    assert text == dumps(entries), "the lock is written by `doit accept_claims`; do not edit it by hand"
    assert len(text.splitlines()) == len(entries) + 2


def test_claims_evaluated_now_match_the_lock():
    """Evaluates every claim from the current specs and engine (no build needed)."""
    proc = run_py(["-m", "mlsysim_deck.lock", "check"])
    assert proc.returncode == 0, f"\n{proc.stdout}{proc.stderr}"


def test_the_builds_claims_match_the_lock():
    built = ROOT / "build" / "claims.json"
    if not built.exists():
        if IN_CI:
            pytest.fail("build/claims.json is missing: CI must build the deck (`doit`) before the tests")
        pytest.skip("no build/claims.json yet: run `doit` to compare the built deck with the lock")
    proc = run_py(["-m", "mlsysim_deck.lock", "check", "--from-build"])
    assert proc.returncode == 0, f"\n{proc.stdout}{proc.stderr}"


def _h100_bandwidth(tmp_path, name, tb_per_s):
    specs = copy_specs(tmp_path / name)
    set_spec_value(specs, "hardware", "H100", "memory_bandwidth",
                   f'{{ value = {tb_per_s}, unit = "TB/s", source = "what-if" }}')
    return specs


def _accept(specs, lock_file):
    proc = lock("accept", "--lock", lock_file, specs=specs)
    assert proc.returncode == 0, proc.stderr


def _check(specs, lock_file):
    return lock("check", "--lock", lock_file, specs=specs)


@pytest.fixture(scope="module")
def datasheet_and_what_if(tmp_path_factory):
    """Spec copies with H100 bandwidth at the datasheet's 3.35 TB/s and at 3.9 TB/s, and a lock of the first."""
    tmp = tmp_path_factory.mktemp("lock")
    base, changed = _h100_bandwidth(tmp, "base", 3.35), _h100_bandwidth(tmp, "changed", 3.9)
    _accept(base, tmp / "base.lock.json")
    return base, changed, tmp / "base.lock.json"


def test_a_changed_spec_value_fails_with_a_readable_diff(datasheet_and_what_if):
    base, changed, lock = datasheet_and_what_if
    assert _check(base, lock).returncode == 0
    proc = _check(changed, lock)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    # the spec itself, as the slide prints it (fmt .2f): 3.35 -> 3.90 TB/s
    assert "~ hw.H100.bw: \u201c3.35 TB/s\u201d [3.35 TB/s] \u2192 \u201c3.90 TB/s\u201d [3.9 TB/s]" in out
    # ridge point: 989.4 TFLOP/s / 3.35 TB/s = 295.34 FLOP/B -> 989.4 / 3.9 = 253.69 FLOP/B
    assert "~ ridge.H100: \u201c295 FLOP/B\u201d" in out and "\u201c254 FLOP/B\u201d [253.6923077 FLOP/B]" in out
    # the place on the slides: part and frame title (and the page, when a PDF was built)
    ridge = out[out.index("~ ridge.H100:"):].split("\n")
    if (ROOT / "build" / "claims.json").exists():
        assert ridge[1].strip().startswith("on 01_roofline \u201c")
    if (ROOT / "build" / "deck.pdf").exists():
        assert "PDF page" in ridge[1]
    # an A100 claim does not move
    assert "hw.A100" not in out
    assert "doit accept_claims" in out


def test_accepting_makes_the_check_pass(datasheet_and_what_if, tmp_path):
    base, changed, _ = datasheet_and_what_if
    lock = tmp_path / "claims.lock.json"
    _accept(changed, lock)
    assert json.loads(lock.read_text())["hw.H100.bw"]["text"] == "3.90 TB/s"
    assert _check(changed, lock).returncode == 0
    back = _check(base, lock)
    assert back.returncode == 1 and "\u201c3.90 TB/s\u201d [3.9 TB/s] \u2192 \u201c3.35 TB/s\u201d" in back.stdout


def test_compare_reports_added_removed_and_moved():
    from mlsysim_deck.lock import compare, report

    lock = {"a": {"text": "1.0 ms", "value": 1.0, "unit": "ms"},
            "b": {"text": "2", "value": 2.0, "unit": ""},
            "c": {"text": "Memory", "value": "Memory", "unit": ""}}
    records = {"a": {"id": "a", "text": "1.0 ms", "value": 1.0 + 1e-13, "unit": "ms"},  # float noise only
               "b": {"id": "b", "text": "3", "value": 3.0, "unit": "",
                     "slides": [{"part": "01_x", "frames": ["Title"], "target": "01_x:b:1"}]},
               "d": {"id": "d", "text": "Compute", "value": "Compute", "unit": ""}}
    changes = compare(lock, records, {"01_x:b:1": 7})
    assert [c.id for c in changes] == ["b", "c", "d"]
    text = report(changes)
    assert "~ b: \u201c2\u201d [2 ] \u2192" not in text  # no stray unit space
    assert "~ b: \u201c2\u201d [2] \u2192 \u201c3\u201d [3]" in text
    assert "on 01_x \u201cTitle\u201d, PDF page 7" in text
    assert "- c: no longer declared" in text and "+ d: new claim" in text
