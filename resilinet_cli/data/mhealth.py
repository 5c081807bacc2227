"""The UCI MHEALTH dataset (docs/method.md §2.2): ten subject logs, 23 features, 12 activities.

Why: Experiment A (Health). Each line of `mHealth_subject{1..10}.log` holds 24 whitespace
separated numbers: 23 features, then the activity label 0..12. Rows with label 0 (no activity)
are dropped; labels stay 1..12 unshifted and `num_classes` is 13 as in the reference code
(output 0 is never a target). No normalisation: raw values are fed to the network.

Documented deviations from the reference code:
- we read the real logs as floats; the reference built its combined file with `%d`, which
  truncated every sensor value to an integer;
- the reference dropped the first line of its file as a "header"; the real logs have no header,
  so every row is kept.

The logs are read with pandas' C parser (about 1.2M rows); when anything is wrong a slow line by
line scan finds the first bad line so the error names `<file>:<line>`.

Download: the official UCI archive. Its checksum is not published and could not be computed
here (no network), so `ARCHIVE_SHA256` is None and the extracted structure is verified instead
(all ten logs present and parseable) before the logs are moved into the cache.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import NoReturn

import numpy as np

from resilinet_cli.data.download import fetch, safe_extract_zip
from resilinet_cli.data.locate import cache_dir, candidate_dirs, describe, find_first
from resilinet_cli.data.splits import Splits, make_splits
from resilinet_cli.errors import DataError

NAME = "mhealth"
SUBFOLDER = "mhealth"
ARCHIVE_FOLDER = "MHEALTHDATASET"  # the folder the official zip unpacks to
URLS: tuple[str, ...] = (
    "https://archive.ics.uci.edu/static/public/319/mhealth+dataset.zip",
    "https://archive.ics.uci.edu/ml/machine-learning-databases/00319/MHEALTHDATASET.zip",
)
ARCHIVE_SHA256: str | None = None  # not published by UCI; structure is verified instead
SYSTEM_DIRS: tuple[Path, ...] = ()
SUBJECTS = tuple(range(1, 11))
NUM_COLUMNS = 24
NUM_FEATURES = 23
NUM_CLASSES = 13
# The 23 feature columns by sensor, in file order (the dataset's README): the chest sensor's
# acceleration and two ECG leads, then the left ankle's and the right lower arm's (worn at the
# wrist) acceleration, gyroscope and magnetometer. Fan-in topologies give each sensor to a
# device by these names (docs/sensors.md).
FEATURE_NAMES: tuple[str, ...] = (
    *(f"chest_acc_{axis}" for axis in "xyz"),
    "chest_ecg_1",
    "chest_ecg_2",
    *(f"{part}_{kind}_{axis}" for part in ("ankle", "wrist")
      for kind in ("acc", "gyro", "mag") for axis in "xyz"),
)  # fmt: skip
assert len(FEATURE_NAMES) == NUM_FEATURES

log = logging.getLogger(__name__)


def log_name(subject: int) -> str:
    return f"mHealth_subject{subject}.log"


def missing_logs(folder: Path) -> list[str]:
    """Names of the subject logs absent from `folder`."""
    return [log_name(s) for s in SUBJECTS if not (folder / log_name(s)).is_file()]


def _fix() -> str:
    return f"replace it with the original from {URLS[0]}"


def read_log(path: Path) -> np.ndarray:
    """One subject log as a float64 (rows, 24) array; DataError names the first bad line."""
    values = _fast_parse(path)
    if values is None:
        _scan(path)
    return values


def _fast_parse(path: Path) -> np.ndarray | None:
    """pandas' C parser: tabs first (the real format, twice as fast), then any whitespace.

    Returns None when neither gives 24 finite columns and labels 0..12; pandas fills short rows
    with NaN silently, so the result is validated here and the slow scan finds the bad line.
    """
    import pandas as pd  # slow import; only when MHEALTH is used

    for sep in ("\t", r"\s+"):
        try:
            frame = pd.read_csv(path, sep=sep, header=None, dtype=np.float64, engine="c")
        except FileNotFoundError as exc:
            raise DataError(f"{path}: file not found; {_fix()}") from exc
        except OSError as exc:
            raise DataError(
                f"{path}: cannot be read ({exc.strerror or exc}); check the file"
            ) from exc
        except ValueError:  # ParserError, EmptyDataError, a field that is not a number
            continue
        values = frame.to_numpy()
        if values.shape[1] != NUM_COLUMNS or not np.isfinite(values).all():
            continue
        labels = values[:, -1]
        if ((labels >= 0) & (labels < NUM_CLASSES) & (labels == np.round(labels))).all():
            return values
        return None  # numbers are fine, a label is not: let the scan name it
    return None


def _scan(path: Path) -> NoReturn:
    """Find the first bad line of `path` and raise a DataError naming it."""
    rows = 0
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            fields = raw.decode("utf-8", errors="replace").split()
            if not fields:
                continue  # blank lines are skipped, as pandas does
            rows += 1
            where = f"{path}:{number}"
            if len(fields) != NUM_COLUMNS:
                raise DataError(
                    f"{where}: expected {NUM_COLUMNS} numeric columns, got {len(fields)}; {_fix()}"
                )
            for field in fields:
                try:
                    value = float(field) if "_" not in field else math.nan
                except ValueError:
                    value = math.nan
                if math.isnan(value) and field.lower().lstrip("+-") != "nan":
                    raise DataError(f"{where}: non-numeric field {field!r}; {_fix()}")
                if not math.isfinite(value):
                    raise DataError(f"{where}: non-finite value {field!r}; {_fix()}")
            label = float(fields[-1])
            if not (0 <= label < NUM_CLASSES and label == int(label)):
                raise DataError(
                    f"{where}: activity label {fields[-1]!r} is not an integer in 0..12; {_fix()}"
                )
    if rows == 0:
        raise DataError(f"{path}: file is empty, expected rows of {NUM_COLUMNS} numbers; {_fix()}")
    raise DataError(f"{path}: cannot be parsed as {NUM_COLUMNS} numeric columns; {_fix()}")


def read_logs(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """All ten logs in subject order, label-0 rows dropped: x float32 (n, 23), y int64 1..12."""
    missing = missing_logs(folder)
    if missing:
        raise DataError(
            f"MHEALTH in {folder} is incomplete: missing {', '.join(missing)}; "
            f"add them from {URLS[0]}"
        )
    values = np.concatenate([read_log(folder / log_name(s)) for s in SUBJECTS])
    keep = values[:, -1] != 0
    x = values[keep, :NUM_FEATURES].astype(np.float32)
    y = values[keep, -1].astype(np.int64)
    return x, y


def _expand(dirs: list[Path]) -> list[Path]:
    """Each folder, then its MHEALTHDATASET/ subfolder (how the official zip unpacks)."""
    return [p for d in dirs for p in (d, d / ARCHIVE_FOLDER)]


def locate(data_dir: Path | None, download: bool) -> Path | None:
    """The folder of all ten logs (lookup order of docs/architecture.md §5); None when they are
    to be downloaded; DataError when they are incomplete or absent and ``download`` is off."""
    candidates = _expand(candidate_dirs(SUBFOLDER, data_dir, SYSTEM_DIRS))
    found = find_first(candidates, lambda d: not missing_logs(d))
    if found is not None:
        return found
    cache = cache_dir(SUBFOLDER)
    partial = find_first(candidates, lambda d: len(missing_logs(d)) < len(SUBJECTS))
    if partial is not None and not (download and partial.is_relative_to(cache)):
        read_logs(partial)  # raises the "incomplete: missing ..." error
    if not download:
        raise DataError(
            f"MHEALTH not found (looked in: {describe(candidates)}); download {URLS[0]} and "
            f"unzip it into {cache}, or pass --data-dir"
        )
    return None


def load_arrays(data_dir: Path | None, download: bool) -> tuple[np.ndarray, np.ndarray]:
    """Find the logs or download them, and read them."""
    found = locate(data_dir, download)
    return read_logs(found) if found is not None else download_into(cache_dir(SUBFOLDER))


def download_into(cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Download the archive, extract it safely, verify the logs, move them into `cache`.

    The logs end up in `<cache>/MHEALTHDATASET/`; the archive and the extraction folder are
    removed whatever happens.
    """
    manual = f"download {URLS[0]} by hand and unzip it into {cache}, or pass --data-dir"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create {cache} ({exc.strerror or exc}); "
            "set KERAS_HOME to a writable folder or pass --data-dir"
        ) from exc
    archive = cache / ".mhealth-download.zip"
    workdir = Path(tempfile.mkdtemp(prefix=".extract-", dir=cache))
    try:
        url = _fetch_any(archive, manual)
        folder = _extract_logs(archive, workdir, url, manual)
        try:
            x, y = read_logs(folder)
        except DataError as exc:
            raise DataError(f"the archive from {url} has a bad log ({exc}); {manual}") from exc
        target = cache / ARCHIVE_FOLDER
        target.mkdir(exist_ok=True)
        for s in SUBJECTS:
            os.replace(folder / log_name(s), target / log_name(s))
        return x, y
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            archive.unlink()


def _fetch_any(archive: Path, manual: str) -> str:
    """Try each URL in turn; return the one that worked or raise the first error."""
    first: DataError | None = None
    for url in URLS:
        try:
            fetch(url, archive, sha256=ARCHIVE_SHA256, manual=manual)
            return url
        except DataError as exc:
            log.warning("%s", exc)
            first = first or exc
    assert first is not None
    raise first


def _extract_logs(archive: Path, workdir: Path, url: str, manual: str) -> Path:
    """Extract the archive (and a zip nested in it, if any) and return the folder of logs."""
    safe_extract_zip(archive, workdir)
    folder = _find_logs(workdir)
    if folder is None:
        for i, nested in enumerate(sorted(workdir.rglob("*.zip"))):
            safe_extract_zip(nested, workdir / f".nested-{i}")
        folder = _find_logs(workdir)
    if folder is None:
        raise DataError(f"the archive from {url} holds no {log_name(1)}; {manual}")
    return folder


def _find_logs(root: Path) -> Path | None:
    first = sorted(root.rglob(log_name(1)), key=lambda p: len(p.parts))
    return first[0].parent if first else None


def load(data_dir: Path | None = None, download: bool = True, split_seed: int = 42) -> Splits:
    """Find (or download) the logs, read them and split 80/10/10."""
    x, y = load_arrays(data_dir, download)
    return make_splits(NAME, x, y, NUM_CLASSES, split_seed)
