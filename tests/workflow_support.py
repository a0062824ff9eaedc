"""Helpers shared by the workflow tests: run the package's commands, copy the repository, build it."""
from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "engine"
SPECS = ENGINE / "mlsysim" / "specs"
if str(ENGINE) not in sys.path:
    sys.path.insert(0, str(ENGINE))
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


class imported_on_use:
    """Module `name`, imported when a test first reads one of its names, not when pytest collects the file.

    The sympy derivations run as their modules are imported (1.7 s), and every pytest worker
    collects every test file, where only one worker runs the tests that need them.  Collecting
    probes each name of a test module for pytest's own attributes (`__wrapped__`, `_mock_name`):
    those are not looked up in the module."""

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr: str):
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(importlib.import_module(self._name), attr)

    def __setattr__(self, attr: str, value):
        raise TypeError(f"patch the module itself: monkeypatch.setattr(\"{self._name}.{attr}\", ...)")


def clean_env(**extra) -> dict:
    """This process's environment without MLSYSIM_* settings, with the copy's engine importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSYSIM_")}
    env["PYTHONPATH"] = str(extra.pop("engine", ENGINE))
    env["PYTHONHASHSEED"] = "0"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_py(args, cwd=ROOT, timeout=300, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=clean_env(**env), capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)


def in_process(command: str, *args, specs: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m mlsysim_deck.<command> <args>` (its `main`) run in this process, in the repository,
    on the spec files in `specs` (MLSYSIM_SPECS) or the engine's: the exit status and what it
    printed.  The claims are evaluated here, where pint is loaded already (0.2 s, where a fresh Python
    takes 1 s); each command, as a program, is still tried as one (test_lock.py, test_impact.py)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    import pytest

    from mlsysim import spec

    main = importlib.import_module(f"mlsysim_deck.{command}").main
    out, err = io.StringIO(), io.StringIO()
    try:
        with pytest.MonkeyPatch.context() as patch, redirect_stdout(out), redirect_stderr(err):
            patch.chdir(ROOT)
            if specs is None:
                patch.delenv("MLSYSIM_SPECS", raising=False)
            else:
                patch.setenv("MLSYSIM_SPECS", str(specs))
            spec.reset()
            code = main([str(a) for a in args])
    finally:
        spec.reset()  # the specs as the environment names them again
    return subprocess.CompletedProcess([f"mlsysim_deck.{command}", *args], code, out.getvalue(), err.getvalue())


def lock(*args, specs: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m mlsysim_deck.lock <args>`, run in this process (`in_process`)."""
    return in_process("lock", *args, specs=specs)


def impact(*args) -> subprocess.CompletedProcess:
    """`python -m mlsysim_deck.impact <args>` in the repository, run in this process (`in_process`):
    it evaluates the claims with the old and the new value in forked children, as the program does."""
    return in_process("impact", *args)


def copy_specs(dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for path in SPECS.glob("*.toml"):
        shutil.copy(path, dst / path.name)
    return dst


def set_spec_value(spec_dir: Path, stem: str, table: str, field: str, new: str) -> int:
    """Replace the TOML text of `field` in [table] of <stem>.toml by `new`; returns its line."""
    path = spec_dir / f"{stem}.toml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    current = None
    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith("[") and not s.startswith("[["):
            current = s.strip("[]").strip()
        elif current == table and s.split("=", 1)[0].strip() == field:
            lines[i] = f"{field} = {new}\n"
            path.write_text("".join(lines), encoding="utf-8")
            return i + 1
    raise KeyError(f"{stem}.{table}.{field}")


def delete_spec_field(spec_dir: Path, stem: str, table: str, field: str) -> int:
    path = spec_dir / f"{stem}.toml"
    line = set_spec_value(spec_dir, stem, table, field, "0")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    del lines[line - 1]
    path.write_text("".join(lines), encoding="utf-8")
    return line


#: Not copied: the build (unless asked for), git's and pytest's own folders.  The compiled modules
#: (__pycache__, git-ignored) are: Python checks each against its source, and a copy's first `doit`
#: then compiles nothing.
IGNORED = shutil.ignore_patterns("build", ".venv", ".git", ".pytest_cache", "*.egg-info", ".doit.db*")


def copy_repo(dst: Path, built: bool = False, leave_out: tuple[str, ...] = ()) -> Path:
    """The repository's sources (no .git) under `dst`; with `built`, its build/ too, but for the
    folders of build/ named in `leave_out` (a test whose builds never reach them: the ledger's 650
    pages are a third of what a copy holds).

    A built copy starts where the session's build (`bash build.sh`, before the tests) left off:
    dodo.py names every path relative to the repository and the copy keeps file times, so doit in
    the copy reruns only what the test's own edits touch (or what the repository's build lacks)."""
    shutil.copytree(ROOT, dst, ignore=IGNORED)
    if built and (ROOT / "build").is_dir():
        def ignored(folder, names):
            here = Path(folder) == ROOT / "build"
            return [n for n in names if n.endswith(".tmp") or (here and n in leave_out)]

        shutil.copytree(ROOT / "build", dst / "build", ignore=ignored)
    return dst


def doit(repo: Path, *args, timeout=600) -> subprocess.CompletedProcess:
    """Run `python -m doit` in a copy of the repository (its own engine, its own build/)."""
    return subprocess.run([sys.executable, "-m", "doit", *args], cwd=repo,
                          env=clean_env(engine=repo / "engine"), capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=timeout)


def ran(result: subprocess.CompletedProcess) -> set[str]:
    """The tasks a `doit` run ran (doit prints ".  <task>" for each; "-- <task>" for one up to date)."""
    return {line[3:].strip() for line in result.stdout.splitlines() if line.startswith(".  ")}


def leftovers(build: Path) -> list[str]:
    """Temporary or partial files a failed build must not leave behind."""
    bad = []
    for path in build.rglob("*"):
        name = path.name
        if path.is_file() and (name.endswith(".tmp") or (name.startswith(".") and not name.startswith(".doit"))):
            bad.append(str(path.relative_to(build)))
    return sorted(bad)
