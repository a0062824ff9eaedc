"""Impact analysis: before a spec value changes, list what moves, without touching build/."""
import re

import pytest

from workflow_support import ROOT, copy_specs, impact, run_py, set_spec_value
from workflow_support import lock as run_lock

IMPACT = ["-m", "mlsysim_deck.impact"]  # the command as a program (the other questions run its main here)


def _snapshot(build):
    if not build.exists():
        return None
    return sorted((str(p.relative_to(build)), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in build.rglob("*"))


@pytest.fixture(scope="module")
def what_if():
    """`H100 memory bandwidth = 3.9 TB/s`, asked once for the module."""
    before = _snapshot(ROOT / "build")
    proc = impact("hardware.H100.memory_bandwidth", "--value", "3.9 TB/s")
    return proc, before


def _changed_ids(text):
    return set(re.findall(r"^\s*[~+-] ([\w.\-]+):", text, flags=re.M))


def test_lists_the_claims_that_move_old_to_new(what_if):
    proc, _ = what_if
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("hardware.H100.memory_bandwidth = 3.35 TB/s \u2192 3.9 TB/s")
    assert "engine/mlsysim/specs/hardware.toml:" in out
    # 989.4 TFLOP/s / 3.35 TB/s = 295.3 FLOP/B -> 989.4 / 3.9 = 253.7 FLOP/B
    assert "~ ridge.H100: \u201c295 FLOP/B\u201d" in out and "\u2192 \u201c254 FLOP/B\u201d" in out
    # Llama-3 8B decode, batch 1, 4096 context: 16.06 GB weights streamed + 0.54 GB KV
    # = 15.55e9 B ... the memory time scales as 1/BW: 4.64 ms * 3.35/3.9 = 3.99 ms
    assert "~ llama.memory_time: \u201c4.64 ms\u201d" in out and "\u2192 \u201c3.99 ms\u201d" in out
    # an A100 value does not read H100's bandwidth
    assert "hw.A100" not in out
    # the slide each number is on
    ridge = out[out.index("~ ridge.H100:"):].splitlines()[1:]
    places = [line.strip() for line in ridge[:next((i for i, ln in enumerate(ridge) if not ln.strip().startswith("on ")),
                                                   len(ridge))]]
    assert any(p.startswith("on 01_roofline \u201cThe Ridge Point") for p in places), places
    assert any(p.startswith("on 01_roofline \u201cExercise 1, Solution") for p in places), places


def test_lists_figures_and_listings_with_their_output(what_if):
    out = what_if[0].stdout
    assert "figures/roofline.py" in out and "figures/batch_sweep.py" in out
    assert "slides/01_roofline/listings/three_vendors.py" in out
    # the listing's printed line moves with the memory time: 4.64 ms -> 3.99 ms
    assert "- H100 SXM: Memory, 4.64 ms" in out and "+ H100 SXM: Memory, 3.99 ms" in out


def test_writes_nothing_under_build(what_if):
    proc, before = what_if
    assert _snapshot(ROOT / "build") == before
    assert "nothing under build/ was written" in proc.stdout


def test_the_same_claims_as_the_lock_check_afterwards(what_if, tmp_path):
    """Change the value for real (in a copy of the specs): the lock check fails on exactly these claims."""
    lock = tmp_path / "now.lock.json"  # the claims as they are now (whatever the committed lock says)
    assert run_lock("accept", "--lock", lock).returncode == 0
    specs = copy_specs(tmp_path / "specs")
    set_spec_value(specs, "hardware", "H100", "memory_bandwidth",
                   '{ value = 3.9, unit = "TB/s", source = "what-if" }')
    check = run_lock("check", "--lock", lock, specs=specs)
    assert check.returncode == 1
    before = what_if[0].stdout.split("Claims that read it but print the same")[0]
    assert _changed_ids(before) == _changed_ids(check.stdout)
    assert len(_changed_ids(check.stdout)) >= 10


def test_words_and_a_value_in_the_unit_of_the_spec():
    # "H100 memory bandwidth = 3350 GB/s" is the same value as now: nothing moves
    proc = impact("H100 memory bandwidth = 3350 GB/s")
    assert proc.returncode == 0, proc.stderr
    assert "Claims that change (0 of the" in proc.stdout
    # and every listing that reads it prints the same: no line comes or goes
    listings = proc.stdout[proc.stdout.index("Listings that read it ("):]
    assert "slides/01_roofline/listings/three_vendors.py\n      (prints the same)" in listings
    assert not re.search(r"^\s+[-+] ", listings, flags=re.M), listings


def test_without_a_value_lists_what_reads_the_key():
    proc = impact("assumptions.efficiency.compute_efficiency")
    assert proc.returncode == 0, proc.stderr
    assert "Claims that read it (" in proc.stdout and "+ eta: new claim" not in proc.stdout
    assert re.search(r"^\s+eta: \u201c0\.50\u201d", proc.stdout, flags=re.M)


def test_an_unknown_key_is_named_with_suggestions():
    # the command as a program: its exit status and its message on stderr
    proc = run_py(IMPACT + ["hardware.H100.memory_bandwith"])
    assert proc.returncode == 2
    assert "unknown spec key 'hardware.H100.memory_bandwith'" in proc.stderr
    assert "did you mean: hardware.H100.memory_bandwidth" in proc.stderr


def test_a_value_of_the_wrong_dimension_is_refused():
    proc = impact("hardware.H100.memory_bandwidth", "--value", "3.9 TFLOP/s")
    assert proc.returncode == 2
    assert "hardware.toml:" in proc.stderr and "memory_bandwidth" in proc.stderr
    assert "expected a value in B/s" in proc.stderr
