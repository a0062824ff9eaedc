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


#: Test files that build copies of the repository or read every page, longest first (about 20 s
#: down to 3 s on two cores; test_determinism's one clean build, 13 s, goes first): they start first,
#: so the many quick tests fill the workers' time at the end.
LONGEST_FIRST = ["test_determinism.py", "test_incremental.py", "test_bad_input.py", "test_pdf.py",
                 "test_geometry.py", "test_author_errors.py", "test_new_accelerator.py", "test_one_source.py",
                 "test_impact.py", "test_lock.py", "test_ledger.py", "test_materials.py"]
#: Test files whose tests each build a copy of their own (no module fixture shares one): under
#: `pytest -n` their tests spread over every worker, where any other file stays on one worker.
INDEPENDENT = {"test_bad_input.py"}
#: Test files that run the sympy derivations (importing them takes 1.7 s): one worker runs them all.
DERIVING = {"test_derivations.py", "test_equations.py", "test_distributed.py", "test_serving.py"}
#: Test files that read the materials' pages with pdfminer (the page check, the claims at their marks:
#: mlsysim_deck.geometry.read_pages, 1.5 s for the deck): one worker runs both, reading each PDF once.
PAGE_READERS = {"test_pdf.py", "test_geometry.py"}


def pytest_collection_modifyitems(config, items):
    """The files of LONGEST_FIRST run first, in that order; each file keeps its own order."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_xdist_make_scheduler(config, log):
    """`pytest -n` (test.sh): a test file is one unit of work, so its module fixtures build a copy of
    the repository once, except that each test of an INDEPENDENT file is a unit of its own, and the
    DERIVING files are one unit together, as are the PAGE_READERS.  Units go out in collection order (test.sh passes
    --no-loadscope-reorder)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            if Path(file).name in DERIVING:
                return "the sympy derivations"
            if Path(file).name in PAGE_READERS:
                return "the pages read with pdfminer"
            return nodeid if Path(file).name in INDEPENDENT else file

    return ByFile(config, log)


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


@pytest.fixture(scope="module")
def module_folder(tmp_path_factory, request):
    """A temporary folder for a test module's copy of the repository.  Once the module's tests have
    run without a failure it is removed, by the worker that ran them (a failure keeps it to look
    at).  A copy holds some 2,000 files: left for pytest, which keeps three runs' folders, each run
    removed those of the run three before as it started, before any test ran (2.4 s).  A test's own
    tmp_path goes the same way (tmp_path_retention_policy in pyproject.toml)."""
    import shutil

    folder = tmp_path_factory.mktemp(request.module.__name__.removeprefix("test_"))
    failed = request.session.testsfailed
    yield folder
    if request.session.testsfailed == failed:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fresh_specs(monkeypatch):
    """Forget loaded specs before and after a test that points MLSYSIM_SPECS elsewhere."""
    from mlsysim import spec

    spec.reset()
    yield monkeypatch
    monkeypatch.delenv("MLSYSIM_SPECS", raising=False)
    spec.reset()
