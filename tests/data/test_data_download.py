"""Verified downloads (file:// and a local HTTP server) and the safe zip extractor."""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from resilinet_cli.data.download import fetch, safe_extract_zip
from resilinet_cli.errors import DataError

PAYLOAD = b"resilinet test payload\n" * 1000


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "srv" / "file.bin"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def test_fetch_file_url_with_right_checksums(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "cache" / "sub" / "file.bin"
    got = fetch(
        source.as_uri(),
        dest,
        sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        md5=hashlib.md5(PAYLOAD).hexdigest(),
    )
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


class _ShortBody(http.server.BaseHTTPRequestHandler):
    """Promises 1000 bytes, sends 10, closes: a truncated download."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def short_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ShortBody)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/file.bin"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_truncated_download_leaves_nothing(short_server: str, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    with pytest.raises(DataError, match=r"is truncated \(10 of 1000 bytes\)"):
        fetch(short_server, folder / "file.bin", sha256=None)
    assert list(folder.iterdir()) == []


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
