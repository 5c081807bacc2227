"""Verified downloads into the dataset cache (with pooch), and safe zip extraction.

Why: a dataset file must never be half-written or unverified in the cache, or every later run
would load garbage. pooch downloads into a private temporary folder next to the destination
(retries, a progress bar on stderr, its sha256 check); the md5 is checked here, and only then is
the file moved into place with `os.replace` (atomic on one file system). A host that cannot be
reached at all (offline: its name does not resolve) is one line at once, with no retry and no
empty progress bar. `file://` URLs (tests,
local mirrors) take the same path through a small copying downloader, so one path verifies all.
"""

from __future__ import annotations

import contextlib
import errno
import ftplib
import hashlib
import http.client
import logging
import os
import re
import shutil
import socket
import tempfile
import urllib.parse
import urllib.request
import warnings
import zipfile
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import requests
from tqdm import TqdmWarning, tqdm

from resilinet_cli.errors import DataError

with warnings.catch_warnings():  # pooch imports tqdm.auto, which warns in a notebook without
    warnings.simplefilter("ignore", TqdmWarning)  # ipywidgets; our bars are text bars there
    import pooch

TIMEOUT_S = 30.0
CHUNK_BYTES = 1 << 20
RETRIES = 2  # further attempts of a network download; pooch waits 1 s, then 2 s
NETWORK_SCHEMES = ("http", "https", "ftp")
SCHEMES = (*NETWORK_SCHEMES, "file")

log = logging.getLogger(__name__)

_progress: ContextVar[bool] = ContextVar("resilinet_download_progress", default=True)


@contextlib.contextmanager
def progress_bars(show: bool) -> Iterator[None]:
    """Show (or hide) the progress bar of downloads within this block (shown by default).

    Why a context variable: the CLI hides it under --quiet without this layer knowing the CLI,
    and leaving the block restores the setting, so nothing leaks into later calls.
    """
    token = _progress.set(show)
    try:
        yield
    finally:
        _progress.reset(token)


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

    `sha256`/`md5` are hex digests; None skips that check. Network downloads are retried
    `RETRIES` times. On any failure nothing is left at `dest` or in its folder and a one-line
    DataError says how to get the file by hand (`manual` replaces the default advice, "download
    it by hand and save it as <dest>").
    """
    dest = Path(dest)
    manual = manual or f"download it by hand and save it as {dest}, or pass --data-dir"
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        raise DataError(f"download of {url} failed (unsupported URL scheme {scheme!r}); {manual}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create {dest.parent} ({exc.strerror or exc}); "
            "set KERAS_HOME to a writable folder or pass --data-dir"
        ) from exc
    log.info("downloading %s to %s", url, dest)
    workdir = Path(
        tempfile.mkdtemp(prefix=f".{dest.name.lstrip('.')}.", suffix=".part", dir=dest.parent)
    )
    try:
        got = _download(url, workdir / dest.name, sha256, timeout, manual)
        if md5:
            _check_md5(got, url, md5, manual)
        os.replace(got, dest)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return dest


def _download(url: str, path: Path, sha256: str | None, timeout: float, manual: str) -> Path:
    """pooch's fetch of `url` to `path` (retries, progress bar, sha256); errors as DataError."""
    network = urllib.parse.urlsplit(url).scheme.lower() in NETWORK_SCHEMES
    files = pooch.create(
        path=path.parent,
        base_url="",
        registry={path.name: f"sha256:{sha256}" if sha256 else None},
        urls={path.name: url},
        retry_if_failed=RETRIES if network else 0,  # a local copy fails the same way again
    )
    show = _progress.get()
    try:
        with _pooch_log():
            return Path(files.fetch(path.name, downloader=_Downloader(timeout, show)))
    except ValueError as exc:  # pooch's hash check (or a malformed URL)
        found = re.search(r"but got ([0-9a-fA-F]+)", str(exc))
        if not (sha256 and found):
            raise DataError(f"download of {url} failed ({_one_line(exc)}); {manual}") from exc
        raise _wrong(url, "sha256", found.group(1), sha256, manual) from exc
    except Unreachable as exc:
        raise DataError(f"cannot download {url} ({exc}); {manual}") from exc
    except (OSError, EOFError, ftplib.Error) as exc:  # requests' errors are OSErrors too
        truncated = _incomplete_read(exc)
        if truncated is None:
            raise DataError(f"download of {url} failed ({_one_line(exc)}); {manual}") from exc
        got, expected = truncated
        raise DataError(
            f"download of {url} is truncated ({got} of {expected} bytes); try again or {manual}"
        ) from exc


@dataclass(frozen=True)
class _Downloader:
    """The downloader pooch calls (again on each retry): pooch's own for HTTP(S) and FTP, a
    plain copy for `file://` URLs (pooch has no downloader for them)."""

    timeout: float
    show: bool

    def __call__(self, url: str, output_file: str, pup: Any) -> None:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            source = urllib.request.url2pathname(parts.path)
            with open(source, "rb") as src, open(output_file, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK_BYTES)
        elif scheme == "ftp":
            ftp = pooch.FTPDownloader(timeout=self.timeout, progressbar=self.show)
            ftp(url, output_file, pup)
        else:
            # our own bar: it names the file, and is closed (ending its line) on a failure too;
            # pooch leaves a failed response open (fatiando/pooch#553): requests' response hook
            # hands each one over to be closed here
            bar = _Bar(PurePosixPath(parts.path).name) if self.show else False
            responses: list[Any] = []
            keep = {"response": lambda response, *_, **__: responses.append(response)}
            http = pooch.HTTPDownloader(progressbar=bar, timeout=self.timeout, hooks=keep)
            try:
                http(url, output_file, pup)
            except requests.exceptions.ConnectionError as exc:
                reason = _unreachable(exc)
                if reason is None:
                    raise
                raise Unreachable(reason) from exc  # pooch retries RequestExceptions only
            finally:
                for response in responses:
                    response.close()
                if bar:
                    bar.close()


class _Bar:
    """tqdm's byte counter, named after the file, drawn only once the server answers.

    pooch sets ``total`` from Content-Length after a successful response, then updates, resets
    and closes; the tqdm is made at that first ``total``, so a download that never connects
    (offline) leaves no empty bar behind. Always true, because pooch tests ``if bar:``.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: tqdm | None = None

    @property
    def total(self) -> int | None:
        return self.bar.total if self.bar is not None else None

    @total.setter
    def total(self, value: int) -> None:
        if self.bar is None:
            self.bar = tqdm(desc=self.label, unit="B", unit_scale=True, unit_divisor=1024,
                            leave=True, total=value or None)  # fmt: skip
        else:
            self.bar.total = value

    def update(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def reset(self) -> None:
        if self.bar is not None:
            self.bar.reset(total=self.bar.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __bool__(self) -> bool:
        return True


class Unreachable(OSError):
    """The host cannot be reached at all (its name does not resolve, the network or host is
    unreachable, the port refuses): trying again a second later would fail the same way."""


UNREACHABLE_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED}


def _unreachable(exc: BaseException) -> str | None:
    """Why the host of a failed connection cannot be reached, in a few words, or None when the
    failure may pass (a reset, a timeout). Walks requests' and urllib3's wrapped causes."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, socket.gaierror):
            return "the host name does not resolve: offline, or a wrong URL"
        if isinstance(err, OSError) and err.errno in UNREACHABLE_ERRNOS:
            return f"{os.strerror(err.errno).lower()}: offline, or the server is down"
        todo += [err.__cause__, err.__context__, getattr(err, "reason", None)]
        todo += [arg for arg in err.args if isinstance(arg, BaseException)]
    return None


@contextlib.contextmanager
def _pooch_log() -> Iterator[None]:
    """pooch's own lines stay off: the progress bar names the file when bytes flow, and its
    "Downloading file ... to .part" and retry notices would add lines to a one-line error."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _incomplete_read(exc: BaseException) -> tuple[int, int] | None:
    """(bytes read, bytes promised) when the body ended before its Content-Length, else None.

    requests wraps urllib3's IncompleteRead (a subclass of http.client's) in its own errors.
    """
    err: BaseException | None = exc
    while err is not None:
        if isinstance(err, http.client.IncompleteRead):
            got = err.partial if isinstance(err.partial, int) else len(err.partial)
            return got, got + (err.expected or 0)
        err = err.__cause__ or err.__context__
    return None


def _check_md5(path: Path, url: str, md5: str, manual: str) -> None:
    """pooch checks one hash (sha256); the pinned md5 is checked here."""
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            h.update(chunk)
    if h.hexdigest() != md5.lower():
        raise _wrong(url, "md5", h.hexdigest(), md5, manual)


def _wrong(url: str, name: str, got: str, expected: str, manual: str) -> DataError:
    return DataError(
        f"download of {url} has the wrong {name} ({got.lower()}, expected {expected}); "
        f"nothing was saved; try again or {manual}"
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
