"""Writes that never leave a half-written file (write beside, then rename over), and folders of
kept files (formats, compiled templates) that never grow past a bound."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_bytes_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to `path` unless it already holds exactly that; returns True if written."""
    path = Path(path)
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def write_text_atomic(path: Path, text: str) -> bool:
    return write_bytes_atomic(path, text.encode("utf-8"))


def keep_newest(paths, keep: int) -> None:
    """Remove all but the `keep` most recently modified of `paths`; a file that another process
    removes meanwhile is skipped."""
    dated = []
    for path in paths:
        try:
            dated.append((Path(path).stat().st_mtime_ns, str(path)))
        except OSError:
            continue
    for _, path in sorted(dated, reverse=True)[keep:]:
        try:
            os.unlink(path)
        except OSError:
            pass
