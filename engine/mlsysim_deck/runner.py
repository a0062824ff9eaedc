"""Run a listing as a program of its own, without paying for a fresh Python each time.

A listing is a script: it imports `mlsysim`, prints, and may raise.  Started as a new process,
each one paid for Python, the engine and pint again (about 0.4 s, times two dozen listings).  Here
the build process imports them once and then forks one child per listing: the child starts
with everything loaded, runs the script as ``__main__`` in its own folder with its own stdout and
stderr, and exits.  Nothing a listing does reaches the build process or the next listing.

Where the build cannot fork, or its `mlsysim` is not the engine the listing must run against,
the listing runs as a fresh process, as before: the same result, only slower (MLSYSIM_FORK=0 asks
for that).

Impact analysis runs its work the same way, on spec files of its own (``specs``): each listing
that reads the key, on the specs as they are and as they would be, and the claims on both
(`Child`: a function of this package in a child process, two of them side by side).
"""
from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
import tempfile
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


def _can_fork(engine_dir: Path) -> bool:
    return hasattr(os, "fork") and os.environ.get("MLSYSIM_FORK", "1") != "0" and _warm(engine_dir)


def run_script(script: Path, cwd: Path, engine_dir: Path, timeout: int = 120, specs: Path | None = None) -> Ran:
    """Run `script` (a listing, filled in) in folder `cwd`; what it printed and read.  With `specs`,
    it reads the spec files there ($MLSYSIM_SPECS), else the engine's."""
    if _can_fork(engine_dir):
        return _forked(Path(script), Path(cwd), timeout, specs)
    return _fresh_process(Path(script), Path(cwd), Path(engine_dir), timeout, specs)


def _forked(script: Path, cwd: Path, timeout: int, specs: Path | None) -> Ran:
    out, err, reads = cwd / ".stdout", cwd / ".stderr", cwd / ".reads"
    code = _wait(_fork(lambda: _child(script, cwd, out, err, reads, timeout, specs)))
    text = lambda p: p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""  # noqa: E731
    keys = text(reads).split("\n") if reads.exists() else []
    return Ran(code, text(out), text(err) or (f"killed by signal {-code}" if code < 0 else ""),
               [k for k in keys if k])


def _child(script: Path, cwd: Path, out: Path, err: Path, reads: Path, timeout: int, specs: Path | None) -> int:
    import runpy
    import traceback

    from mlsysim import spec

    _settle(cwd, out, err, timeout, specs)
    sys.argv = [str(script)]
    sys.path[0:0] = [str(cwd)]
    code = 0
    with spec.reading() as keys:
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as stop:
            code = _status(stop)
        except BaseException:  # noqa: BLE001 - reported as Python would, on stderr
            traceback.print_exc()
            code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    reads.write_text("\n".join(sorted(keys)), encoding="utf-8")
    return code


def _fork(body) -> int:
    """Fork; the child runs `body` and exits with the status it returns, never coming back here.
    The child's pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = body()
        finally:
            os._exit(code)
    return pid


def _wait(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _settle(cwd: Path | None, out: Path | str, err: Path, timeout: int, specs: Path | None) -> None:
    """A forked child's set-up: killed after `timeout` seconds, as a subprocess timeout would kill
    it; in its own folder; what it prints going to files of its own; the spec files read afresh
    (from `specs` when given, as $MLSYSIM_SPECS; from the checked-values cache, so no pint), with no
    recorder of the parent's."""
    import signal

    from mlsysim import spec

    signal.alarm(timeout)
    os.environ["MPLBACKEND"] = "Agg"
    if specs is not None:
        os.environ["MLSYSIM_SPECS"] = str(specs)
    if cwd is not None:
        os.chdir(cwd)
    for fd, path in ((1, out), (2, err)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(handle, fd)
        os.close(handle)
    # (the parent's sys.stdout and sys.stderr may not write to descriptors 1 and 2: pytest's capture)
    sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), encoding="utf-8", line_buffering=False)
    sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), encoding="utf-8", line_buffering=True)
    spec.reset()
    spec._recorders.clear()


def _status(stop: SystemExit) -> int:
    """The exit status a SystemExit gives, as Python's own exit would."""
    return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)


def _fresh_env(engine_dir: Path, specs: Path | None, **extra) -> dict:
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(engine_dir)] + [p for p in [
        os.environ.get("PYTHONPATH", "")] if p]), "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8",
                        "MPLBACKEND": "Agg"} | extra
    return env | ({"MLSYSIM_SPECS": str(specs)} if specs is not None else {})


def _fresh_process(script: Path, cwd: Path, engine_dir: Path, timeout: int, specs: Path | None) -> Ran:
    record = cwd / ".reads.json"
    proc = subprocess.run([sys.executable, str(script)], cwd=cwd, env=_fresh_env(engine_dir, specs,
                          MLSYSIM_RECORD=str(record)), capture_output=True, text=True, encoding="utf-8",
                          timeout=timeout)
    keys = json.loads(record.read_text()) if record.exists() else []
    return Ran(proc.returncode, proc.stdout, proc.stderr, keys)


# --- a function of this package in a child process ----------------------------------------------


@dataclass
class Returned:
    returncode: int
    value: object  # what the function returned (through JSON); None if it failed
    stderr: str


class Child:
    """`function` ("module:name") called with string arguments in a child process: forked from this
    one where it has the engine loaded, else a fresh Python.  Several run side by side; `wait`
    collects one.  The function's return value comes back through JSON; what it prints on stderr,
    and its exit status (SystemExit), come back too."""

    def __init__(self, function: str, args: list[str], engine_dir: Path, specs: Path | None = None,
                 cwd: Path | None = None, timeout: int = 600):
        self._folder = tempfile.TemporaryDirectory(prefix="mlsysim-child-")
        self._out, self._err = Path(self._folder.name) / "value.json", Path(self._folder.name) / "stderr"
        self._timeout, self._pid, self._proc = timeout, None, None
        if _can_fork(engine_dir):
            importlib.import_module(function.split(":")[0])  # its imports, once, here: each child has them

            def child() -> int:
                _settle(cwd, os.devnull, self._err, timeout, specs)
                return _call(function, args, self._out)

            self._pid = _fork(child)
        else:
            with open(self._err, "w", encoding="utf-8") as err:
                self._proc = subprocess.Popen([sys.executable, "-m", "mlsysim_deck.runner", function, str(self._out),
                                               *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=err,
                                              env={k: v for k, v in _fresh_env(engine_dir, specs).items()
                                                   if k != "MLSYSIM_RECORD"})

    def wait(self) -> Returned:
        if self._pid is not None:
            code = _wait(self._pid)
        else:
            code = self._proc.wait(timeout=self._timeout)
        try:
            value = json.loads(self._out.read_text(encoding="utf-8")) if code == 0 else None
            err = self._err.read_text(encoding="utf-8", errors="replace")
        finally:
            self._folder.cleanup()
        return Returned(code, value, err or (f"killed by signal {-code}" if code < 0 else ""))


def _call(function: str, args: list[str], out: Path) -> int:
    """Call `function` with `args` and write its value to `out` as JSON; the exit status."""
    import traceback

    module, name = function.split(":")
    try:
        value = getattr(importlib.import_module(module), name)(*args)
    except SystemExit as stop:
        sys.stderr.flush()
        return _status(stop)
    except BaseException:  # noqa: BLE001 - reported as Python would, on stderr
        traceback.print_exc()
        sys.stderr.flush()
        return 1
    out.write_text(json.dumps(value), encoding="utf-8")
    sys.stderr.flush()
    return 0


if __name__ == "__main__":  # a Child where this process cannot fork: function, value file, arguments
    raise SystemExit(_call(sys.argv[1], sys.argv[3:], Path(sys.argv[2])))
