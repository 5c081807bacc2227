"""CIFAR-10 from the official binary archive (docs/method.md §2.3), read without pickle.

Why the binary version: the python version is a pickle (running untrusted code on load); the
binary one is plain bytes. `cifar-10-batches-bin/data_batch_{1..5}.bin` and `test_batch.bin` each
hold 10000 records of 3073 bytes: the label 0..9, then 1024 red, 1024 green and 1024 blue bytes,
each plane a row-major 32x32 image. Members are read straight out of the .tar.gz (nothing is
extracted, so no member can escape anywhere); an already extracted `cifar-10-batches-bin/`
folder is read as well.

Train (50k) then test (10k) are concatenated and split 80/10/10 with the seed, as the reference
code does: 48000/6000/6000. x is float32 (n, 32, 32, 3) in [0, 1]; y is int64 0..9.

Checksums: `ARCHIVE_MD5` is the one published on the CIFAR page; `ARCHIVE_SHA256` (and the size)
are those TensorFlow Datasets pins for the same URL (url_checksums/cifar10.txt). Downloads are
verified against both; local files are validated by structure (members, sizes, labels).
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

import numpy as np

from resilinet_cli.data.download import fetch
from resilinet_cli.data.locate import cache_dir, candidate_dirs, describe
from resilinet_cli.data.splits import Splits, make_splits
from resilinet_cli.errors import DataError

NAME = "cifar10"
SUBFOLDER = "cifar-10"
NUM_CLASSES = 10
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
ARCHIVE_NAME = "cifar-10-binary.tar.gz"
ARCHIVE_MD5: str | None = "c32a1d4ab5d03f1284b67883e8d87530"
ARCHIVE_SHA256: str | None = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
BATCH_FOLDER = "cifar-10-batches-bin"
TRAIN_BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_BATCH = "test_batch.bin"
BATCHES = (*TRAIN_BATCHES, TEST_BATCH)
RECORDS_PER_BATCH = 10000
SIDE = 32
RECORD_BYTES = 1 + 3 * SIDE * SIDE

_FIX = f"delete it and download {URL} again"


def missing_batches(folder: Path) -> list[str]:
    """Names of the six batch files absent from `folder`."""
    return [name for name in BATCHES if not (folder / name).is_file()]


def parse_batch(data: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch file's bytes as (images uint8 (n, 32, 32, 3), labels uint8 (n,)).

    `where` names the file in error messages. The size must be exactly `RECORDS_PER_BATCH`
    records and every label 0..9.
    """
    expected = RECORDS_PER_BATCH * RECORD_BYTES
    if len(data) != expected:
        raise DataError(
            f"{where}: {len(data)} bytes, expected {expected} ({RECORDS_PER_BATCH} records of "
            f"{RECORD_BYTES} bytes); the file is truncated or not a CIFAR-10 batch; {_FIX}"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(RECORDS_PER_BATCH, RECORD_BYTES)
    labels = records[:, 0]
    bad = np.flatnonzero(labels >= NUM_CLASSES)
    if bad.size:
        raise DataError(
            f"{where}: record {int(bad[0])}: label {int(labels[bad[0]])} is out of range 0..9; "
            f"{_FIX}"
        )
    # channel-major planes (3, 32, 32) per record -> height, width, channel
    images = records[:, 1:].reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1)
    return images, labels


def read_folder(folder: Path) -> dict[str, bytes]:
    """The six batch files of an extracted `cifar-10-batches-bin/` folder, by name."""
    missing = missing_batches(folder)
    if missing:
        raise DataError(
            f"CIFAR-10 in {folder} is incomplete: missing {', '.join(missing)}; add them from {URL}"
        )
    out = {}
    for name in BATCHES:
        path = folder / name
        try:
            out[name] = path.read_bytes()
        except OSError as exc:
            raise DataError(
                f"{path}: cannot be read ({exc.strerror or exc}); check the file"
            ) from exc
    return out


def read_archive(archive: Path) -> dict[str, bytes]:
    """The six batch files of `cifar-10-binary.tar.gz`, read from the tar in one pass.

    Only regular-file members named `cifar-10-batches-bin/<batch>` are read; links and other
    members are ignored, and nothing is written to disk.
    """
    wanted = {f"{BATCH_FOLDER}/{name}": name for name in BATCHES}
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = wanted.get(member.name.removeprefix("./"))
                if name is None or not member.isfile() or name in out:
                    continue
                f = tar.extractfile(member)
                if f is None:  # pragma: no cover - isfile() members always have data
                    continue
                out[name] = f.read()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, FileNotFoundError | PermissionError):
            raise DataError(f"{archive}: cannot be read ({exc.strerror}); check the file") from exc
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{archive}: not a complete tar.gz archive ({reason}); {_FIX}") from exc
    missing = [f"{BATCH_FOLDER}/{name}" for name in BATCHES if name not in out]
    if missing:
        raise DataError(f"{archive}: archive lacks {', '.join(missing)}; {_FIX}")
    return out


def to_arrays(batches: dict[str, bytes], where: str) -> tuple[np.ndarray, np.ndarray]:
    """Train batches 1..5 then the test batch: x float32 (n, 32, 32, 3) in [0, 1], y int64."""
    n = RECORDS_PER_BATCH
    x = np.empty((n * len(BATCHES), SIDE, SIDE, 3), dtype=np.float32)
    y = np.empty(n * len(BATCHES), dtype=np.int64)
    for i, name in enumerate(BATCHES):
        images, labels = parse_batch(batches[name], f"{where}/{name}")
        x[i * n : (i + 1) * n] = images
        y[i * n : (i + 1) * n] = labels
    x /= np.float32(255.0)
    return x, y


def locate(data_dir: Path | None, download: bool) -> Path:
    """An extracted batch folder or the archive (lookup: docs/architecture.md §5), else download.

    In each searched folder: the batch files themselves, then a `cifar-10-batches-bin/`
    subfolder, then `cifar-10-binary.tar.gz`.
    """
    bases = candidate_dirs(SUBFOLDER, data_dir)
    partial: Path | None = None
    for base in bases:
        for folder in (base, base / BATCH_FOLDER):
            if not folder.is_dir():
                continue
            missing = missing_batches(folder)
            if not missing:
                return folder
            if len(missing) < len(BATCHES) and partial is None:
                partial = folder
        if (base / ARCHIVE_NAME).is_file():
            return base / ARCHIVE_NAME
    cache = cache_dir(SUBFOLDER)
    if partial is not None and not (download and partial.is_relative_to(cache)):
        read_folder(partial)  # raises the "incomplete: missing ..." error
    advice = f"download {URL} (md5 {ARCHIVE_MD5}) into {cache}, or pass --data-dir"
    if not download:
        raise DataError(f"CIFAR-10 not found (looked in: {describe(bases)}); {advice}")
    return fetch(
        URL,
        cache / ARCHIVE_NAME,
        sha256=ARCHIVE_SHA256,
        md5=ARCHIVE_MD5,
        manual=f"download it by hand into {cache}, or pass --data-dir",
    )


def load_arrays(source: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a batch folder or an archive found by `locate`."""
    if source.is_dir():
        return to_arrays(read_folder(source), str(source))
    return to_arrays(read_archive(source), f"{source}:{BATCH_FOLDER}")


def load(data_dir: Path | None = None, download: bool = True, split_seed: int = 42) -> Splits:
    """Find (or download) CIFAR-10, read it and split 80/10/10 (48000/6000/6000)."""
    x, y = load_arrays(locate(data_dir, download))
    return make_splits(NAME, x, y, NUM_CLASSES, split_seed)
