"""Fashion-MNIST from real IDX gzip files (small generated ones, and Debian's real ones)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import re
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from resilinet_cli.data import fashion_mnist as fm
from resilinet_cli.data import load_dataset
from resilinet_cli.errors import DataError

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
needs_debian = pytest.mark.skipif(
    not all((DEBIAN / f.name).is_file() for f in fm.FILES),
    reason="Debian package dataset-fashion-mnist is not installed",
)
# gzip mtimes of the official files (recovered from the official md5s; see test below)
OFFICIAL_MTIME = {"train": 1504176606, "t10k": 1504176627}


@pytest.fixture(autouse=True)
def no_system_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the folders they create, not this machine's Debian copy."""
    monkeypatch.setattr(fm, "SYSTEM_DIRS", ())


def _all(s: fm.Splits) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([s.x_train, s.x_val, s.x_test]), np.concatenate(
        [s.y_train, s.y_val, s.y_test]
    )


def test_small_files_load(tmp_path: Path, make_fashion: Callable[..., Path]) -> None:
    folder = make_fashion(tmp_path / "fm")
    s = load_dataset("fashion_mnist", data_dir=folder)
    assert s.name == "fashion_mnist" and s.num_classes == 10
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (48, 6, 6)
    assert s.x_train.shape == (48, 28, 28, 1) and s.x_train.dtype == np.float32
    assert s.y_train.dtype == np.int64
    x, y = _all(s)
    # image k is filled with 4k and labelled k % 10; k = 0..49 train, 50..59 test
    k = np.rint(x[:, 0, 0, 0] * 255).astype(int) // 4
    assert sorted(k.tolist()) == list(range(60))  # train and test were concatenated
    np.testing.assert_array_equal(y, k % 10)
    np.testing.assert_allclose(x, (4 * k)[:, None, None, None] / 255.0 * np.ones_like(x))
    assert x.min() == 0.0 and x.max() == pytest.approx(236 / 255)


def test_dataset_subfolder_of_data_dir(tmp_path: Path, make_fashion: Callable[..., Path]) -> None:
    make_fashion(tmp_path / "root" / "fashion-mnist")
    s = load_dataset("fashion_mnist", data_dir=tmp_path / "root")
    assert len(s.x_train) + len(s.x_val) + len(s.x_test) == 60


def test_bad_magic_names_the_file(
    tmp_path: Path, make_fashion: Callable[..., Path], write_idx: Callable[..., Path]
) -> None:
    folder = make_fashion(tmp_path)
    bad = write_idx(folder / "train-images-idx3-ubyte.gz", np.zeros((50, 28, 28)), magic=0x0801)
    with pytest.raises(DataError) as info:
        load_dataset("fashion_mnist", data_dir=folder)
    msg = str(info.value)
    assert msg.startswith(f"{bad}: bad IDX magic number 0x00000801 (expected 0x00000803)")
    assert "\n" not in msg and "download it again" in msg


def test_truncated_gzip_names_the_file(tmp_path: Path, make_fashion: Callable[..., Path]) -> None:
    folder = make_fashion(tmp_path)
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DataError, match=f"^{re.escape(str(path))}: not a complete gzip file"):
        load_dataset("fashion_mnist", data_dir=folder)


def test_truncated_idx_data_names_the_file(
    tmp_path: Path, make_fashion: Callable[..., Path]
) -> None:
    folder = make_fashion(tmp_path)
    path = folder / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(struct.pack(">II", 0x0801, 50) + bytes(49)))
    with pytest.raises(
        DataError, match=f"^{re.escape(str(path))}: IDX data has 49 bytes, header shape"
    ):
        load_dataset("fashion_mnist", data_dir=folder)


def test_label_count_mismatch(
    tmp_path: Path, make_fashion: Callable[..., Path], write_idx: Callable[..., Path]
) -> None:
    folder = make_fashion(tmp_path)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(9))
    with pytest.raises(DataError, match="9 labels for 10 images"):
        load_dataset("fashion_mnist", data_dir=folder)


def test_label_out_of_range(
    tmp_path: Path, make_fashion: Callable[..., Path], write_idx: Callable[..., Path]
) -> None:
    folder = make_fashion(tmp_path)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.full(10, 10))
    with pytest.raises(DataError, match=r"label 10 is out of range 0\.\.9"):
        load_dataset("fashion_mnist", data_dir=folder)


def test_env_var_lookup(
    tmp_path: Path, make_fashion: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_fashion(tmp_path / "env" / "fashion-mnist", n_train=40, n_test=10)
    monkeypatch.setenv("RESILINET_DATA", str(tmp_path / "env"))
    s = load_dataset("fashion_mnist", download=False)
    assert len(s.x_train) + len(s.x_val) + len(s.x_test) == 50
    # --data-dir comes first
    make_fashion(tmp_path / "arg", n_train=50, n_test=10)
    s = load_dataset("fashion_mnist", data_dir=tmp_path / "arg", download=False)
    assert len(s.x_train) + len(s.x_val) + len(s.x_test) == 60


def test_keras_cache_lookup(keras_home: Path, make_fashion: Callable[..., Path]) -> None:
    make_fashion(keras_home / "datasets" / "fashion-mnist", n_train=30, n_test=10)
    s = load_dataset("fashion_mnist", download=False)
    assert len(s.x_train) == 32


def test_system_dir_lookup(
    tmp_path: Path, make_fashion: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fm, "SYSTEM_DIRS", (make_fashion(tmp_path / "sys", 20, 10),))
    assert len(load_dataset("fashion_mnist", download=False).x_test) == 3


def test_missing_offline_is_one_line(keras_home: Path) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("fashion_mnist", download=False)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("Fashion-MNIST not found (looked in: ")
    assert fm.BASE_URL in msg and str(keras_home / "datasets" / "fashion-mnist") in msg


def _pin_to(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the checksums of the small generated files, as if they were the official ones."""
    files = []
    for f in fm.FILES:
        data = (folder / f.name).read_bytes()
        sha, md5 = hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()
        files.append(dataclasses.replace(f, sha256=sha, md5=md5))
    monkeypatch.setattr(fm, "FILES", tuple(files))


def test_download_from_file_mirror(
    tmp_path: Path,
    keras_home: Path,
    make_fashion: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mirror = make_fashion(tmp_path / "mirror")
    _pin_to(mirror, monkeypatch)
    monkeypatch.setattr(fm, "BASE_URL", mirror.as_uri() + "/")
    s = load_dataset("fashion_mnist")
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (48, 6, 6)
    cache = keras_home / "datasets" / "fashion-mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(f.name for f in fm.FILES)


def test_download_with_wrong_checksum_leaves_nothing(
    tmp_path: Path,
    keras_home: Path,
    make_fashion: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mirror = make_fashion(tmp_path / "mirror")  # not the official bytes: pins must reject them
    monkeypatch.setattr(fm, "BASE_URL", mirror.as_uri() + "/")
    with pytest.raises(DataError, match="has the wrong sha256") as info:
        load_dataset("fashion_mnist")
    assert "\n" not in str(info.value)
    assert list((keras_home / "datasets" / "fashion-mnist").iterdir()) == []


def test_download_failure_says_where_to_put_files(
    tmp_path: Path, keras_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fm, "BASE_URL", (tmp_path / "empty").as_uri() + "/")
    with pytest.raises(DataError) as info:
        load_dataset("fashion_mnist")
    msg = str(info.value)
    assert msg.startswith("download of file://") and "failed" in msg
    assert str(keras_home / "datasets" / "fashion-mnist") in msg and "\n" not in msg


@needs_debian
def test_debian_files_match_pinned_checksums() -> None:
    for f in fm.FILES:
        data = (DEBIAN / f.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f.debian_sha256
        assert hashlib.sha256(gzip.decompress(data)).hexdigest() == f.content_sha256


def _official_bytes(f: fm.IdxFile) -> bytes:
    """Debian's file with the original gzip header restored (file name + original mtime)."""
    data = (DEBIAN / f.name).read_bytes()
    stem = f.name.removesuffix(".gz")
    mtime = OFFICIAL_MTIME[stem.split("-")[0]]
    header = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + b"\x00\x03" + stem.encode() + b"\0"
    return header + data[10:]


@needs_debian
def test_real_files_download_verify_and_load(
    tmp_path: Path, keras_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Serve the official bytes from a file:// mirror: pinned sha256 and README md5 must match."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for f in fm.FILES:
        official = _official_bytes(f)
        assert hashlib.md5(official).hexdigest() == f.md5  # the README's md5
        (mirror / f.name).write_bytes(official)
    monkeypatch.setattr(fm, "BASE_URL", mirror.as_uri() + "/")
    s = load_dataset("fashion_mnist")
    for f in fm.FILES:
        cached = (keras_home / "datasets" / "fashion-mnist" / f.name).read_bytes()
        assert hashlib.sha256(cached).hexdigest() == f.sha256
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (56000, 7000, 7000)
    assert s.x_train.shape == (56000, 28, 28, 1) and s.x_train.dtype == np.float32
    y = np.concatenate([s.y_train, s.y_val, s.y_test])
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 7000))
    assert s.x_val.min() == 0.0 and s.x_val.max() == 1.0


@needs_debian
def test_real_files_load_from_system_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fm, "SYSTEM_DIRS", (DEBIAN,))
    x, y = fm.load_arrays(fm.locate(None, download=False))
    assert x.shape == (70000, 28, 28, 1) and y.shape == (70000,)
    assert y[:5].tolist() == [9, 0, 0, 3, 0]  # first training labels of Fashion-MNIST
    assert y[60000:60005].tolist() == [9, 2, 1, 1, 6]  # first test labels
