"""Shared test set-up: the package from engine/, the repository root, the built deck."""
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))
BUILD = ROOT / "build"
SEED = ROOT.parent / "shared" / "seed" / "tutorial_part1.tex"


def require_build(path: Path):
    """The build output a test reads; missing it fails in CI (never skips there) and skips locally."""
    if not path.exists():
        message = f"{path.relative_to(ROOT)} is missing: run `bash build.sh` (or `doit`) first"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


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
