"""Fixtures for the data tests: an isolated cache, and writers for the real file formats."""

from __future__ import annotations

import gzip
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture(autouse=True)
def keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the real ~/.keras cache or a $RESILINET_DATA of the machine."""
    home = tmp_path / "keras-home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv("RESILINET_DATA", raising=False)
    return home


def _write_idx(path: Path, array: np.ndarray, magic: int | None = None) -> Path:
    arr = np.ascontiguousarray(array, dtype=np.uint8)
    magic = 0x0800 | arr.ndim if magic is None else magic
    header = struct.pack(">I", magic) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(header + arr.tobytes()))
    return path


@pytest.fixture
def write_idx() -> Callable[..., Path]:
    """write_idx(path, uint8 array, magic=None): a gzip IDX file (magic from ndim by default)."""
    return _write_idx


def _fashion_images(start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Image k (k = start..start+n-1) is filled with the value 4k; its label is k % 10."""
    ks = np.arange(start, start + n)
    images = np.broadcast_to((4 * ks)[:, None, None], (n, 28, 28)).astype(np.uint8)
    return images, (ks % 10).astype(np.uint8)


@pytest.fixture
def make_fashion() -> Callable[..., Path]:
    """make_fashion(folder, n_train=50, n_test=10): the four IDX files with known contents."""

    def make(folder: Path, n_train: int = 50, n_test: int = 10) -> Path:
        train_x, train_y = _fashion_images(0, n_train)
        test_x, test_y = _fashion_images(n_train, n_test)
        for name, arr in zip(FASHION_FILES, (train_x, train_y, test_x, test_y), strict=True):
            _write_idx(folder / name, arr)
        return folder

    return make


MHEALTH_ROWS = 40  # per subject; labels cycle 0..12, so 4 rows per subject have label 0


def mhealth_rows(subject: int) -> np.ndarray:
    """Deterministic (40, 24) rows for one subject: float features, integer labels 0..12."""
    rng = np.random.default_rng(subject)
    features = np.round(rng.normal(0.0, 5.0, size=(MHEALTH_ROWS, 23)), 4)
    features[:, 0] = subject * 1000 + np.arange(MHEALTH_ROWS) + 0.25  # unique row id
    labels = np.arange(MHEALTH_ROWS) % 13
    return np.column_stack([features, labels])


def mhealth_text(rows: np.ndarray) -> str:
    """The real log format: tab-separated numbers, one row per line, the label an integer."""
    lines = ["\t".join([*(repr(float(v)) for v in row[:-1]), str(int(row[-1]))]) for row in rows]
    return "\n".join(lines) + "\n"


@pytest.fixture
def make_mhealth() -> Callable[..., Path]:
    """make_mhealth(folder): write mHealth_subject1..10.log; returns the folder."""

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for s in range(1, 11):
            (folder / f"mHealth_subject{s}.log").write_text(mhealth_text(mhealth_rows(s)))
        return folder

    return make


@pytest.fixture
def mhealth_expected() -> tuple[np.ndarray, np.ndarray]:
    """x float32 (360, 23) and y int64 that loading the generated logs must give (label 0 out)."""
    values = np.concatenate([mhealth_rows(s) for s in range(1, 11)])
    keep = values[:, -1] != 0
    return values[keep, :23].astype(np.float32), values[keep, -1].astype(np.int64)


@pytest.fixture
def make_mhealth_zip(make_mhealth: Callable[..., Path]) -> Callable[..., Path]:
    """make_mhealth_zip(path): a zip in the official layout MHEALTHDATASET/mHealth_subjectN.log."""

    def make(path: Path) -> Path:
        logs = make_mhealth(path.parent / "zip-src")
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("MHEALTHDATASET/README.txt", "MHEALTH dataset\n")
            for log in sorted(logs.iterdir()):
                zf.write(log, f"MHEALTHDATASET/{log.name}")
        return path

    return make
