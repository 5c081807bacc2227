"""CIFAR-10 from small archives in the real binary format, and its verified download."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from resilinet_cli.data import cifar10 as cf
from resilinet_cli.data import load_dataset
from resilinet_cli.data.splits import split_80_10_10
from resilinet_cli.errors import DataError

CIFAR_RECORDS = 20  # per batch file in the generated archives (the real ones hold 10000)
CIFAR_BATCHES = (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin")
N = 6 * CIFAR_RECORDS  # 120 images: k = 0..99 train, 100..119 test


def cifar_images(start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Images k = start..start+n-1 as HWC uint8 with pixel (row, col, ch) =
    (k + 2 row + 5 col + 80 ch) mod 256, so pixel (0, 0, 0) is k; label k % 10."""
    k = np.arange(start, start + n)[:, None, None, None]
    row = np.arange(32)[None, :, None, None]
    col = np.arange(32)[None, None, :, None]
    ch = np.arange(3)[None, None, None, :]
    images = ((k + 2 * row + 5 * col + 80 * ch) % 256).astype(np.uint8)
    return images, (np.arange(start, start + n) % 10).astype(np.uint8)


def cifar_batch_bytes(batch: int, n: int = CIFAR_RECORDS) -> bytes:
    """Batch file number `batch` (0..4 train, 5 test) in the real record format: the label
    byte, then 1024 R, 1024 G and 1024 B bytes, each plane row-major."""
    images, labels = cifar_images(batch * n, n)
    planes = images.transpose(0, 3, 1, 2).reshape(n, 3 * 32 * 32)
    return np.column_stack([labels, planes]).astype(np.uint8).tobytes()


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def make_cifar_archive() -> Callable[..., Path]:
    """make_cifar_archive(path, replace={}, drop=()): cifar-10-binary.tar.gz in the real layout
    (`cifar-10-batches-bin/<batch>.bin`, plus batches.meta.txt and readme.html); `replace`
    maps a batch name to other bytes, `drop` leaves batches out."""

    def make(path: Path, replace: dict[str, bytes] | None = None, drop: tuple = ()) -> Path:
        replace = replace or {}
        path.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(path, "w:gz") as tar:
            _tar_add(tar, "cifar-10-batches-bin/batches.meta.txt", b"airplane\nautomobile\n")
            for i, name in enumerate(CIFAR_BATCHES):
                if name not in drop:
                    data = replace.get(name, cifar_batch_bytes(i))
                    _tar_add(tar, f"cifar-10-batches-bin/{name}", data)
            _tar_add(tar, "cifar-10-batches-bin/readme.html", b"<html></html>")
        return path

    return make


@pytest.fixture
def make_cifar_folder() -> Callable[..., Path]:
    """make_cifar_folder(folder): the six batch files, as the archive unpacks them."""

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(CIFAR_BATCHES):
            (folder / name).write_bytes(cifar_batch_bytes(i))
        return folder

    return make


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generated batch files hold 20 records, not 10000."""
    monkeypatch.setattr(cf, "RECORDS_PER_BATCH", CIFAR_RECORDS)


def _k(x: np.ndarray) -> np.ndarray:
    """Recover the image number k from pixel (0, 0, red) (see conftest.cifar_images)."""
    return np.rint(x[:, 0, 0, 0] * 255).astype(int)


def test_archive_parses_to_hwc_in_order(
    tmp_path: Path, make_cifar_archive: Callable[..., Path]
) -> None:
    archive = make_cifar_archive(tmp_path / "cifar-10-binary.tar.gz")
    x, y = cf.load_arrays(archive)
    assert x.shape == (N, 32, 32, 3) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() == 1.0
    # data_batch_1..5 then test_batch, records in file order
    np.testing.assert_array_equal(_k(x), np.arange(N))
    np.testing.assert_array_equal(y, np.arange(N) % 10)
    # the byte of (row, col, channel) in a record is 1 + channel*1024 + row*32 + col
    raw = np.frombuffer(cifar_batch_bytes(2), np.uint8).reshape(CIFAR_RECORDS, 3073)
    for rec, row, col, ch in [(0, 0, 0, 0), (3, 5, 17, 1), (7, 31, 2, 2), (19, 12, 31, 0)]:
        k = 2 * CIFAR_RECORDS + rec
        assert x[k, row, col, ch] * 255 == pytest.approx(raw[rec, 1 + ch * 1024 + row * 32 + col])
        assert y[k] == raw[rec, 0]
    expected, _ = cifar_images(0, N)
    np.testing.assert_array_equal(np.rint(x * 255).astype(np.uint8), expected)


def test_load_dataset_splits_80_10_10(
    tmp_path: Path, make_cifar_archive: Callable[..., Path]
) -> None:
    make_cifar_archive(tmp_path / "cifar-10-binary.tar.gz")
    s = load_dataset("CIFAR-10", data_dir=tmp_path, download=False)
    assert s.name == "cifar10" and s.num_classes == 10
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (96, 12, 12)
    assert s.x_train.shape[1:] == (32, 32, 3) and s.x_train.dtype == np.float32
    x = np.concatenate([s.x_train, s.x_val, s.x_test])
    y = np.concatenate([s.y_train, s.y_val, s.y_test])
    assert sorted(_k(x).tolist()) == list(range(N))
    np.testing.assert_array_equal(y, _k(x) % 10)  # labels travel with their images
    # the same as the reference protocol on the concatenated arrays
    full_x, full_y = cf.load_arrays(tmp_path / "cifar-10-binary.tar.gz")
    x_tr, y_tr, *_ = split_80_10_10(full_x, full_y, 42)
    np.testing.assert_array_equal(s.x_train, x_tr)
    np.testing.assert_array_equal(s.y_train, y_tr)


def test_full_size_split_is_48000_6000_6000() -> None:
    ids = np.arange(60000)
    x_tr, _, x_va, _, x_te, _ = split_80_10_10(ids, ids, 42)
    assert (len(x_tr), len(x_va), len(x_te)) == (48000, 6000, 6000)


@pytest.mark.parametrize("where", ["", "cifar-10-batches-bin", "cifar-10/cifar-10-batches-bin"])
def test_extracted_folder_equals_archive(
    tmp_path: Path,
    make_cifar_archive: Callable[..., Path],
    make_cifar_folder: Callable[..., Path],
    where: str,
) -> None:
    root = tmp_path / "root"
    make_cifar_folder(root / where if where else root)
    a = load_dataset("cifar10", data_dir=root, download=False)
    b = load_dataset(
        "cifar10", data_dir=make_cifar_archive(tmp_path / "a" / cf.ARCHIVE_NAME).parent
    )
    np.testing.assert_array_equal(a.x_test, b.x_test)
    np.testing.assert_array_equal(a.y_train, b.y_train)


def test_env_var_and_cache_lookup(
    tmp_path: Path,
    keras_home: Path,
    make_cifar_archive: Callable[..., Path],
    make_cifar_folder: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_cifar_archive(keras_home / "datasets" / "cifar-10" / cf.ARCHIVE_NAME)
    assert cf.locate(None, download=False) == keras_home / "datasets" / "cifar-10" / cf.ARCHIVE_NAME
    folder = make_cifar_folder(tmp_path / "env" / "cifar-10" / "cifar-10-batches-bin")
    monkeypatch.setenv("RESILINET_DATA", str(tmp_path / "env"))
    assert cf.locate(None, download=False) == folder  # $RESILINET_DATA comes before the cache
    assert len(load_dataset("cifar10", download=False).y_val) == 12


def test_truncated_archive_names_the_file(
    tmp_path: Path, make_cifar_archive: Callable[..., Path]
) -> None:
    archive = make_cifar_archive(tmp_path / cf.ARCHIVE_NAME)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataError) as info:
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    msg = str(info.value)
    assert msg.startswith(f"{archive}: not a complete tar.gz archive (") and "\n" not in msg
    assert cf.URL in msg


def test_not_an_archive(tmp_path: Path) -> None:
    (tmp_path / cf.ARCHIVE_NAME).write_bytes(b"<html>error page</html>")
    with pytest.raises(DataError, match=r"not a complete tar\.gz archive"):
        load_dataset("cifar10", data_dir=tmp_path)


def test_truncated_batch_in_archive_names_the_member(
    tmp_path: Path, make_cifar_archive: Callable[..., Path]
) -> None:
    archive = make_cifar_archive(
        tmp_path / cf.ARCHIVE_NAME, replace={"data_batch_3.bin": cifar_batch_bytes(2)[:-5]}
    )
    where = f"{archive}:cifar-10-batches-bin/data_batch_3.bin"
    with pytest.raises(DataError, match=f"^{re.escape(where)}: 61455 bytes, expected 61460 "):
        load_dataset("cifar10", data_dir=tmp_path)


def test_truncated_batch_in_folder_names_the_file(
    tmp_path: Path, make_cifar_folder: Callable[..., Path]
) -> None:
    folder = make_cifar_folder(tmp_path / "cifar-10-batches-bin")
    path = folder / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:3073])
    with pytest.raises(DataError, match=f"^{re.escape(str(path))}: 3073 bytes, expected 61460"):
        load_dataset("cifar10", data_dir=folder)


def test_label_out_of_range_names_file_and_record(
    tmp_path: Path, make_cifar_archive: Callable[..., Path]
) -> None:
    data = bytearray(cifar_batch_bytes(5))
    data[7 * 3073] = 10
    archive = make_cifar_archive(tmp_path / cf.ARCHIVE_NAME, replace={"test_batch.bin": data})
    where = f"{archive}:cifar-10-batches-bin/test_batch.bin"
    with pytest.raises(
        DataError, match=f"^{re.escape(where)}: record 7: label 10 is out of range 0..9"
    ):
        load_dataset("cifar10", data_dir=tmp_path)


def test_archive_without_a_batch(tmp_path: Path, make_cifar_archive: Callable[..., Path]) -> None:
    make_cifar_archive(tmp_path / cf.ARCHIVE_NAME, drop=("data_batch_4.bin", "test_batch.bin"))
    with pytest.raises(
        DataError,
        match=r"archive lacks cifar-10-batches-bin/data_batch_4\.bin, cifar-10-batches-bin/test_",
    ):
        load_dataset("cifar10", data_dir=tmp_path)


def test_links_and_escaping_members_are_never_read(tmp_path: Path) -> None:
    """Only regular members at cifar-10-batches-bin/<batch> count; nothing is extracted."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(cifar_batch_bytes(0))
    archive = tmp_path / "box" / cf.ARCHIVE_NAME
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        for i, name in enumerate(CIFAR_BATCHES[1:], start=1):
            _tar_add(tar, f"cifar-10-batches-bin/{name}", cifar_batch_bytes(i))
        link = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
        link.type, link.linkname = tarfile.SYMTYPE, str(secret)
        tar.addfile(link)
        evil = tarfile.TarInfo("../cifar-10-batches-bin/data_batch_1.bin")
        evil.size = 3
        tar.addfile(evil, io.BytesIO(b"bad"))
    with pytest.raises(DataError, match=r"lacks cifar-10-batches-bin/data_batch_1\.bin"):
        load_dataset("cifar10", data_dir=archive.parent)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["box", "secret.bin"]
    assert [p.name for p in archive.parent.iterdir()] == [cf.ARCHIVE_NAME]


def test_incomplete_folder_is_named(tmp_path: Path, make_cifar_folder: Callable[..., Path]) -> None:
    folder = make_cifar_folder(tmp_path / "cifar-10-batches-bin")
    (folder / "data_batch_2.bin").unlink()
    with pytest.raises(DataError) as info:
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    msg = str(info.value)
    assert msg.startswith(f"CIFAR-10 in {folder} is incomplete: missing data_batch_2.bin")
    assert "\n" not in msg


def test_missing_offline_is_one_line(keras_home: Path) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("cifar10", download=False)
    msg = str(info.value)
    cache = keras_home / "datasets" / "cifar-10"
    assert msg.startswith("CIFAR-10 not found (looked in: ") and "\n" not in msg
    assert msg.endswith(
        f"download {cf.URL} (md5 {cf.ARCHIVE_MD5}) into {cache}, or pass --data-dir"
    )


def test_pinned_official_checksums() -> None:
    assert cf.URL.endswith("/" + cf.ARCHIVE_NAME)
    assert cf.ARCHIVE_MD5 == "c32a1d4ab5d03f1284b67883e8d87530"  # the CIFAR page
    assert cf.ARCHIVE_SHA256 is not None and re.fullmatch("[0-9a-f]{64}", cf.ARCHIVE_SHA256)


def _serve(
    tmp_path: Path, make_cifar_archive: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> bytes:
    """A generated archive behind a file:// URL; returns its bytes."""
    archive = make_cifar_archive(tmp_path / "mirror" / cf.ARCHIVE_NAME)
    monkeypatch.setattr(cf, "URL", archive.as_uri())
    return archive.read_bytes()


@pytest.mark.parametrize("pins", ["md5", "both"])
def test_download_from_file_url(
    tmp_path: Path,
    keras_home: Path,
    make_cifar_archive: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    pins: str,
) -> None:
    data = _serve(tmp_path, make_cifar_archive, monkeypatch)
    monkeypatch.setattr(cf, "ARCHIVE_MD5", hashlib.md5(data).hexdigest())
    sha = hashlib.sha256(data).hexdigest() if pins == "both" else None
    monkeypatch.setattr(cf, "ARCHIVE_SHA256", sha)
    s = load_dataset("cifar10")
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (96, 12, 12)
    cache = keras_home / "datasets" / "cifar-10"
    assert [p.name for p in cache.iterdir()] == [cf.ARCHIVE_NAME]  # no temp file, no extraction
    assert (cache / cf.ARCHIVE_NAME).read_bytes() == data
    monkeypatch.setattr(cf, "URL", (tmp_path / "gone").as_uri())  # offline now: from the cache
    np.testing.assert_array_equal(load_dataset("cifar10", download=False).x_val, s.x_val)


def test_download_with_wrong_checksum_leaves_nothing(
    tmp_path: Path,
    keras_home: Path,
    make_cifar_archive: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _serve(tmp_path, make_cifar_archive, monkeypatch)  # not the official bytes: pins reject them
    with pytest.raises(DataError, match="has the wrong sha256") as info:
        load_dataset("cifar10")
    msg = str(info.value)
    cache = keras_home / "datasets" / "cifar-10"
    assert "\n" not in msg and "nothing was saved" in msg and str(cache) in msg
    assert list(cache.iterdir()) == []


def test_truncated_download_leaves_nothing(
    tmp_path: Path,
    keras_home: Path,
    make_cifar_archive: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _serve(tmp_path, make_cifar_archive, monkeypatch)
    monkeypatch.setattr(cf, "ARCHIVE_MD5", hashlib.md5(data).hexdigest())
    monkeypatch.setattr(cf, "ARCHIVE_SHA256", None)
    Path(cf.URL.removeprefix("file://")).write_bytes(data[:-100])  # the mirror serves less
    with pytest.raises(DataError, match="has the wrong md5"):
        load_dataset("cifar10")
    assert list((keras_home / "datasets" / "cifar-10").iterdir()) == []


def test_download_failure_says_where_to_put_the_archive(
    tmp_path: Path, keras_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cf, "URL", (tmp_path / "nope.tar.gz").as_uri())
    with pytest.raises(DataError) as info:
        load_dataset("cifar10")
    msg = str(info.value)
    assert msg.startswith(f"download of {cf.URL} failed (") and "\n" not in msg
    assert str(keras_home / "datasets" / "cifar-10") in msg


def test_all_six_batch_names() -> None:
    assert cf.BATCHES == CIFAR_BATCHES
