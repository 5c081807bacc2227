"""Verified downloads into the dataset cache, and safe zip extraction.

Why: a dataset file must never be half-written or unverified in the cache, or every later run
would load garbage. A download streams into a temporary file next to its destination, its
checksums are verified, and only then is it moved into place with `os.replace` (atomic on one
file system). urllib is used so that `file://` URLs work too (tests, local mirrors).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from resilinet_cli.errors import DataError

TIMEOUT_S = 30.0
CHUNK_BYTES = 1 << 20

log = logging.getLogger(__name__)


def fetch(
    url: str,
    dest: Path,
    sha256: str | None,
    md5: str | None = None,
    *,
    timeout: float = TIMEOUT_S,
    manual: str | None = None,
) -> Path:
    """Download `url` to `dest`, verified; return `dest`.

    `sha256`/`md5` are hex digests; None skips that check. On any failure nothing is left at
    `dest` or in its folder and a one-line DataError says how to get the file by hand (`manual`
    replaces the default advice, "download it by hand and save it as <dest>").
    """
    dest = Path(dest)
    manual = manual or f"download it by hand and save it as {dest}, or pass --data-dir"
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create {dest.parent} ({exc.strerror or exc}); "
            "set KERAS_HOME to a writable folder or pass --data-dir"
        ) from exc
    log.info("downloading %s to %s", url, dest)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            got, expected = _stream(url, out, timeout, manual)
        if expected is not None and got != expected:
            raise DataError(
                f"download of {url} is truncated ({got} of {expected} bytes); try again or {manual}"
            )
        _verify(tmp, url, sha256, md5, manual)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return dest


def _stream(url: str, out: BinaryIO, timeout: float, manual: str) -> tuple[int, int | None]:
    """Copy the body of `url` into `out`; return (bytes read, Content-Length or None)."""
    got = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                got += len(chunk)
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"download of {url} failed ({_one_line(reason)}); {manual}") from exc
    return got, expected


def _verify(path: Path, url: str, sha256: str | None, md5: str | None, manual: str) -> None:
    """Raise DataError when a checksum of `path` differs from the pinned one."""
    wanted = {"sha256": sha256, "md5": md5}
    hashers = {name: hashlib.new(name) for name, digest in wanted.items() if digest}
    if not hashers:
        return
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            for h in hashers.values():
                h.update(chunk)
    for name, h in hashers.items():
        if h.hexdigest() != str(wanted[name]).lower():
            raise DataError(
                f"download of {url} has the wrong {name} ({h.hexdigest()}, expected "
                f"{wanted[name]}); nothing was saved; try again or {manual}"
            )


def _one_line(reason: object) -> str:
    return " ".join(str(reason).split()) or type(reason).__name__


def safe_extract_zip(archive: Path, target: Path) -> list[Path]:
    """Extract `archive` into `target` and return the extracted file paths.

    Refuses (DataError, before writing anything) members with absolute paths, drive letters or
    `..` components that would land outside `target` (the "zip slip" attack).
    """
    target = Path(target)
    root = target.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for info in members:
                _check_member(archive, info.filename, root)
            target.mkdir(parents=True, exist_ok=True)
            extracted = []
            for info in members:
                path = Path(zf.extract(info, target))
                if not info.is_dir():
                    extracted.append(path)
    except zipfile.BadZipFile as exc:
        raise DataError(
            f"{archive}: not a valid zip file ({exc}); delete it and download it again"
        ) from exc
    return extracted


def _check_member(archive: Path, name: str, root: Path) -> None:
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    unsafe = (
        posix.is_absolute()
        or windows.is_absolute()
        or bool(windows.drive)
        or ".." in posix.parts
        or ".." in windows.parts
        or not (root / name).resolve().is_relative_to(root)
    )
    if unsafe:
        raise DataError(
            f"{archive}: refusing to extract unsafe member {name!r} (outside the target folder); "
            "get the archive from its official source"
        )
