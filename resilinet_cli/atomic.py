"""Atomic file writes: a result file is either complete or absent, never half-written."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# A full disk or a read-only folder: every later write would fail too, so a run stops at once.
STOP_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def cannot_write(error: BaseException) -> bool:
    """Whether ``error`` means that no result file can be written any more."""
    return isinstance(error, OSError) and error.errno in STOP_ERRNOS


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place only if the block succeeds.

    The file's data reaches the disk before the rename, and the rename before we return, so
    that after a power cut ``path`` holds the old file or the whole new one, never a zero-length
    file (a rename can otherwise reach the disk before the data it names).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        fsync(tmp)
        os.replace(tmp, path)
        fsync(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def fsync(path: Path) -> None:
    """Flush a file's, or a folder's, data and metadata to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


TEMPORARY = re.compile(r"\..+\.(\d+)\.tmp(\.[^.]*)?")  # atomic_path's names: .<stem>.<pid>.tmp<ext>


def remove_stale_temporaries(folder: Path) -> None:
    """Delete the temporary files that a killed process left in ``folder``.

    A SIGKILL leaves no chance to clean up. A temporary file whose writer no longer runs can
    never be moved into place; it is only clutter.
    """
    for path in folder.rglob(".*.tmp*"):
        match = TEMPORARY.fullmatch(path.name)
        if match and path.is_file() and not process_runs(int(match[1])):
            path.unlink(missing_ok=True)


def process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` atomically; a file that already holds exactly ``data`` is left alone, so
    that rebuilding what has not changed changes no file (and no modification time)."""
    if _holds(path, data):
        return
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_csv(path: Path, frame: Any) -> None:
    """Write a pandas DataFrame as CSV, atomically (and not at all if the file holds it)."""
    write_text(path, frame.to_csv(index=False))
