"""Shared test set-up: the package from engine/, the repository root, the built deck.

In CI (the CI environment variable set, as GitHub Actions and .ci/run set it) no test may skip:
a missing build output or a missing ../shared checkout fails the test that needs it, and any other
skip is turned into a failure that names the test (`pytest_runtest_makereport` below).
"""
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))
BUILD = ROOT / "build"
#: The shared material (the reference deck, the docs): ../shared beside the repository, or $MLSYSIM_SHARED.
SHARED = Path(os.environ.get("MLSYSIM_SHARED") or ROOT.parent / "shared")
SEED = SHARED / "seed" / "tutorial_part1.tex"

from workflow_support import IN_CI  # noqa: E402  (CI=true/1/yes; unset, empty, 0, false or no: not CI)


def _missing(message: str):
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_build(path: Path):
    """The build output a test reads; missing it fails in CI (never skips there) and skips locally."""
    if not path.exists():
        _missing(f"{path.relative_to(ROOT)} is missing: run `bash build.sh` (or `doit`) first")
    return path


def require_shared(path: Path):
    """A file of the shared material beside the repository (../shared: the reference deck, the
    docs); missing it fails in CI and skips locally.  On GitHub the workflow checks it out."""
    if not path.exists():
        _missing(f"{path} is missing: the tests need the shared material checked out at "
                 f"{SHARED} (see .github/workflows/ci.yml)")
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skip is a failure: whatever made the test skip, CI must not pass without running it."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid} skipped in CI ({reason}); no test may skip in CI"


@pytest.fixture(scope="session")
def claims_json():
    return json.loads(require_build(BUILD / "claims.json").read_text(encoding="utf-8"))


@pytest.fixture
def fresh_specs(monkeypatch):
    """Forget loaded specs before and after a test that points MLSYSIM_SPECS elsewhere."""
    from mlsysim import spec

    spec.reset()
    yield monkeypatch
    monkeypatch.delenv("MLSYSIM_SPECS", raising=False)
    spec.reset()
