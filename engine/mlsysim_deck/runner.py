"""Run a listing as a program of its own, without paying for a fresh Python each time.

A listing is a script: it imports `mlsysim`, prints, and may raise.  Started as a new process,
each one paid for Python, the engine and pint again (about 0.4 s, times two dozen listings).  Here
the build process imports them once and then forks one child per listing: the child starts
with everything loaded, runs the script as ``__main__`` in its own folder with its own stdout and
stderr, and exits.  Nothing a listing does reaches the build process or the next listing.

Where the build cannot fork, or its `mlsysim` is not the engine the listing must run against,
the listing runs as a fresh process, as before: the same result, only slower.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str
    reads: list[str]  # the spec keys the listing read


def _warm(engine_dir: Path) -> bool:
    """Import the engine and pint here, once, so every forked listing starts with them loaded;
    False when this process's `mlsysim` is not the one in `engine_dir`."""
    import mlsysim

    if Path(mlsysim.__file__).resolve().parent.parent != Path(engine_dir).resolve():
        return False
    mlsysim.ureg()  # pint and the project's registry: the part of a listing's start that costs
    return True


def run_script(script: Path, cwd: Path, engine_dir: Path, timeout: int = 120) -> Ran:
    """Run `script` (a listing, filled in) in folder `cwd`; what it printed and read."""
    if hasattr(os, "fork") and os.environ.get("MLSYSIM_LISTINGS_FORK", "1") != "0" and _warm(engine_dir):
        return _forked(Path(script), Path(cwd), timeout)
    return _fresh_process(Path(script), Path(cwd), Path(engine_dir), timeout)


def _forked(script: Path, cwd: Path, timeout: int) -> Ran:
    out, err, reads = cwd / ".stdout", cwd / ".stderr", cwd / ".reads"
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the build
        code = 1
        try:
            code = _child(script, cwd, out, err, reads, timeout)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    text = lambda p: p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""  # noqa: E731
    keys = text(reads).split("\n") if reads.exists() else []
    return Ran(code, text(out), text(err) or (f"killed by signal {-code}" if code < 0 else ""),
               [k for k in keys if k])


def _child(script: Path, cwd: Path, out: Path, err: Path, reads: Path, timeout: int) -> int:
    import io
    import runpy
    import signal
    import traceback

    from mlsysim import spec

    os.environ["MPLBACKEND"] = "Agg"
    signal.alarm(timeout)  # a listing that hangs is killed, as a subprocess timeout would
    os.chdir(cwd)
    for fd, path in ((1, out), (2, err)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(handle, fd)
        os.close(handle)
    sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), encoding="utf-8", line_buffering=False)
    sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), encoding="utf-8", line_buffering=True)
    sys.argv = [str(script)]
    sys.path[0:0] = [str(cwd)]
    spec.reset()  # read the spec files as they are now (from the checked-values cache: no pint)
    spec._recorders.clear()
    code = 0
    with spec.reading() as keys:
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:  # noqa: BLE001 - reported as Python would, on stderr
            traceback.print_exc()
            code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    reads.write_text("\n".join(sorted(keys)), encoding="utf-8")
    return code


def _fresh_process(script: Path, cwd: Path, engine_dir: Path, timeout: int) -> Ran:
    import json

    record = cwd / ".reads.json"
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(engine_dir)] + [p for p in [
        os.environ.get("PYTHONPATH", "")] if p]), "MLSYSIM_RECORD": str(record), "PYTHONHASHSEED": "0",
                        "PYTHONIOENCODING": "utf-8", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(script)], cwd=cwd, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)
    keys = json.loads(record.read_text()) if record.exists() else []
    return Ran(proc.returncode, proc.stdout, proc.stderr, keys)
