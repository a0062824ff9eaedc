"""No slide value may be checked by the lock alone.

The lock (slides/claims.lock.json) is a snapshot: `doit accept_claims` rewrites it, so it catches a
number that moved, not a number that was wrong from the start.  Every claim must therefore also be
pinned by a hand-worked expected value in one of tests/test_values_part*.py (their EXPECTED tables),
or be listed below with the reason it needs none.

A claim that is not in the lock yet (an accelerator just added to hardware.toml brings its own) is
reported as new by the lock check; accepting it into the lock makes its hand-worked value due here.
"""
import importlib
import json

from values_support import ROOT, all_claims

LOCK = ROOT / "slides" / "claims.lock.json"

#: claim id -> why no hand-worked value pins it (reviewed; keep it short and empty if possible)
ALLOWED_UNPINNED: dict[str, str] = {
    "serving.expected.itl": "worked by hand in tests/test_validation.py "
                            "(test_expected_h100_itl_scales_the_calibration_row_by_bytes)",
}

#: claim id prefix -> why its claims are checked elsewhere, not by an EXPECTED table
ALLOWED_PREFIXES: dict[str, str] = {
    "reality.": "the Reality check: measured values are read from validation/measurements.toml and held "
                "against their publications, and every prediction to its error budget, in tests/test_validation.py",
}


def _allowed(claim_id: str) -> bool:
    return claim_id in ALLOWED_UNPINNED or claim_id.startswith(tuple(ALLOWED_PREFIXES))


def _pinned() -> dict[str, str]:
    """claim id -> the test module whose EXPECTED table pins it."""
    pinned = {}
    modules = sorted((ROOT / "tests").glob("test_values_part*.py"))
    assert len(modules) >= 5, modules  # one per part of the deck
    for path in modules:
        module = importlib.import_module(path.stem)
        for claim_id in module.EXPECTED:
            assert claim_id not in pinned, f"{claim_id} is pinned twice: {pinned[claim_id]} and {path.name}"
            pinned[claim_id] = path.name
    return pinned


def test_every_locked_claim_is_pinned_by_a_hand_worked_value():
    lock = json.loads(LOCK.read_text(encoding="utf-8"))
    assert len(lock) > 100
    pinned = _pinned()
    missing = sorted(c for c in set(lock) - set(pinned) if not _allowed(c))
    assert not missing, ("claims checked only by the lock: add a hand-worked expected value to "
                         "tests/test_values_part<N>.py (or a reasoned entry to ALLOWED_UNPINNED): "
                         + ", ".join(missing))


def test_no_stale_pins_or_allowances():
    current = set(all_claims())
    stale = sorted((set(_pinned()) | set(ALLOWED_UNPINNED)) - current)
    assert not stale, "pinned or allowed ids that no claims.py declares any more: " + ", ".join(stale)
    assert all(reason.strip() for reason in ALLOWED_UNPINNED.values())
