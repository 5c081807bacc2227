"""Verified downloads (file:// and a local HTTP server: checksums, truncation, retries, the
progress bar and --quiet) and the safe zip extractor. No mocks: real files and real sockets."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import shutil
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from resilinet_cli.cli import main
from resilinet_cli.data import download
from resilinet_cli.data import mhealth as mh
from resilinet_cli.data.download import fetch, progress_bars, safe_extract_zip
from resilinet_cli.errors import DataError

PAYLOAD = b"resilinet test payload\n" * 1000
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "srv" / "file.bin"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def test_fetch_file_url_with_right_checksums(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "cache" / "sub" / "file.bin"
    got = fetch(source.as_uri(), dest, sha256=SHA256, md5=MD5)
    assert got == dest and dest.read_bytes() == PAYLOAD
    assert [p.name for p in dest.parent.iterdir()] == ["file.bin"]  # no temp file left


def test_fetch_without_checksum(source: Path, tmp_path: Path) -> None:
    dest = fetch(source.as_uri(), tmp_path / "c" / "f.bin", sha256=None)
    assert dest.read_bytes() == PAYLOAD


@pytest.mark.parametrize("which", ["sha256", "md5"])
def test_wrong_checksum_leaves_nothing(source: Path, tmp_path: Path, which: str) -> None:
    folder = tmp_path / "cache"
    kwargs = {"sha256": None, "md5": None, which: "0" * (64 if which == "sha256" else 32)}
    with pytest.raises(DataError) as info:
        fetch(source.as_uri(), folder / "file.bin", **kwargs)
    msg = str(info.value)
    assert "\n" not in msg and f"wrong {which}" in msg and source.as_uri() in msg
    assert str(folder / "file.bin") in msg  # says where to put a manual copy
    assert list(folder.iterdir()) == []


def test_missing_url_is_one_line_error(tmp_path: Path) -> None:
    url = (tmp_path / "nope.bin").as_uri()
    folder = tmp_path / "cache"
    with pytest.raises(DataError) as info:
        fetch(url, folder / "nope.bin", sha256=None, manual="put it in X")
    msg = str(info.value)
    assert msg.startswith(f"download of {url} failed (") and msg.endswith("; put it in X")
    assert "\n" not in msg
    assert list(folder.iterdir()) == []


def test_unknown_scheme_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="download of nosuch://x failed"):
        fetch("nosuch://x", tmp_path / "f", sha256=None)


class _Quiet(http.server.BaseHTTPRequestHandler):
    """No request log on stderr (it would mix with the progress bar the tests read)."""

    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Mirror(_Quiet, http.server.SimpleHTTPRequestHandler):
    """Serves the files of the server's folder; answers 503 to its first `failures` requests."""

    def __init__(self, request: socket.socket, address: tuple[str, int], server: _Server) -> None:
        super().__init__(request, address, server, directory=str(server.root))

    def do_GET(self) -> None:
        self.server.requests += 1
        if self.server.requests <= self.server.failures:
            self.send_error(503, "busy, try again")
        else:
            super().do_GET()


class _ShortBody(_Quiet):
    """Promises 1000 bytes, sends 10, closes: a truncated download."""

    def do_GET(self) -> None:
        self.server.requests += 1
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.wfile.flush()
        self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1 that counts the requests it gets."""

    def __init__(self, handler: Callable[..., _Quiet], root: Path, failures: int = 0) -> None:
        self.root, self.failures, self.requests = root, failures, 0
        super().__init__(("127.0.0.1", 0), handler)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"


@contextlib.contextmanager
def _serving(server: _Server) -> Iterator[_Server]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def mirror(source: Path) -> Iterator[_Server]:
    """Serves the folder of `source` (file.bin) over HTTP."""
    with _serving(_Server(_Mirror, source.parent)) as server:
        yield server


@pytest.fixture
def short_server(tmp_path: Path) -> Iterator[_Server]:
    with _serving(_Server(_ShortBody, tmp_path)) as server:
        yield server


def test_fetch_over_http_with_right_checksums(mirror: _Server, tmp_path: Path) -> None:
    dest = tmp_path / "cache" / "file.bin"
    assert fetch(mirror.url("file.bin"), dest, sha256=SHA256, md5=MD5) == dest
    assert dest.read_bytes() == PAYLOAD
    assert [p.name for p in dest.parent.iterdir()] == ["file.bin"]  # no temp folder left
    assert mirror.requests == 1


@pytest.mark.parametrize("which", ["sha256", "md5"])
def test_wrong_checksum_over_http_leaves_nothing(
    mirror: _Server, tmp_path: Path, which: str
) -> None:
    folder = tmp_path / "cache"
    right = {"sha256": SHA256, "md5": MD5}
    pins = {**right, which: "0" * len(right[which])}
    url = mirror.url("file.bin")
    with pytest.raises(DataError) as info:
        fetch(url, folder / "file.bin", **pins)
    msg = str(info.value)
    assert "\n" not in msg and url in msg and str(folder / "file.bin") in msg
    assert (
        f"has the wrong {which} ({right[which]}, expected {pins[which]}); nothing was saved" in msg
    )
    assert list(folder.iterdir()) == []


def test_truncated_download_leaves_nothing(short_server: _Server, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    url = short_server.url("file.bin")
    with pytest.raises(DataError, match=r"is truncated \(10 of 1000 bytes\)") as info:
        fetch(url, folder / "file.bin", sha256=None, manual="put it in X")
    msg = str(info.value)
    assert msg.startswith(f"download of {url} is truncated") and msg.endswith("or put it in X")
    assert "\n" not in msg
    assert short_server.requests == 1 + download.RETRIES  # retried, then given up
    assert list(folder.iterdir()) == []


def test_server_that_fails_once_is_retried(mirror: _Server, tmp_path: Path) -> None:
    mirror.failures = 1  # the first request gets a 503
    dest = tmp_path / "cache" / "file.bin"
    fetch(mirror.url("file.bin"), dest, sha256=SHA256)
    assert dest.read_bytes() == PAYLOAD and mirror.requests == 2
    assert [p.name for p in dest.parent.iterdir()] == ["file.bin"]


def test_http_error_is_one_line(mirror: _Server, tmp_path: Path) -> None:
    url = mirror.url("missing.bin")
    with pytest.raises(DataError) as info:
        fetch(url, tmp_path / "cache" / "f.bin", sha256=None, manual="put it in X")
    msg = str(info.value)
    assert msg.startswith(f"download of {url} failed (404 ") and msg.endswith("; put it in X")
    assert "\n" not in msg and list((tmp_path / "cache").iterdir()) == []


def test_progress_bar_on_stderr_unless_hidden(
    mirror: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fetch(mirror.url("file.bin"), tmp_path / "a" / "file.bin", sha256=None)
    err = capsys.readouterr().err
    assert "file.bin: 100%" in err and "22.5k/22.5k" in err  # named, with its size
    with progress_bars(False):
        fetch(mirror.url("file.bin"), tmp_path / "b" / "file.bin", sha256=None)
    assert capsys.readouterr().err == ""
    fetch(mirror.url("file.bin"), tmp_path / "c" / "file.bin", sha256=None)
    assert "file.bin: 100%" in capsys.readouterr().err  # shown again after the block


def test_resilinet_quiet_hides_the_progress_bar(
    tmp_path: Path,
    keras_home: Path,
    make_mhealth_zip: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_mhealth_zip(tmp_path / "srv" / "mhealth.zip")
    with _serving(_Server(_Mirror, tmp_path / "srv")) as server:
        monkeypatch.setattr(mh, "URLS", (server.url("mhealth.zip"),))
        quiet = CliRunner().invoke(main, ["-q", "data", "fetch", "mhealth"])
        assert quiet.exit_code == 0, quiet.stderr
        assert quiet.stdout.endswith(": ready\n") and quiet.stderr == ""
        shutil.rmtree(keras_home)  # download again, without --quiet this time
        loud = CliRunner().invoke(main, ["data", "fetch", "mhealth"])
        assert loud.exit_code == 0, loud.stderr
        assert loud.stdout == quiet.stdout and "mhealth.zip: 100%" in loud.stderr
    assert server.requests == 2


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


def test_safe_extract_zip_extracts(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "ok.zip", {"A/b.txt": b"b", "c.txt": b"c"})
    out = tmp_path / "out"
    files = safe_extract_zip(archive, out)
    assert sorted(p.relative_to(out).as_posix() for p in files) == ["A/b.txt", "c.txt"]
    assert (out / "A" / "b.txt").read_bytes() == b"b"


@pytest.mark.parametrize("evil", ["../evil", "A/../../evil", "/abs/evil", "C:/evil", "..\\evil"])
def test_safe_extract_zip_refuses_escaping_members(tmp_path: Path, evil: str) -> None:
    archive = _zip(tmp_path / "evil.zip", {"fine.txt": b"ok", evil: b"pwned"})
    out = tmp_path / "box" / "out"
    with pytest.raises(DataError, match="refusing to extract unsafe member") as info:
        safe_extract_zip(archive, out)
    assert str(archive) in str(info.value)
    assert not out.exists()  # nothing written, not even the safe member
    assert not (tmp_path / "box" / "evil").exists() and not (tmp_path / "evil").exists()


def test_safe_extract_zip_bad_archive(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"bad\.zip: not a valid zip file"):
        safe_extract_zip(bad, tmp_path / "out")
