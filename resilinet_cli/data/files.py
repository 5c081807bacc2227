"""A data set of the user's own: ``dataset: {name: files, path: ...}`` or arrays passed to
``rn.run(config, data=...)`` (docs/own-data.md).

Why one more loader and nothing else: everything after ``load_splits`` (training, the sweep,
reports, the live runtime) reads the same ``Splits`` (or, for an image folder, the same lists
of files) as for the built-in data sets. This module adds what a user's data needs on top:
formats, label mapping, checks with one-line errors, the data's SHA-256 (in the config hash and
the training key, so no unit trained on other data is ever resumed or copied) and the
provenance each run records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from resilinet_cli import atomic
from resilinet_cli.data.image_folder import EXTENSIONS, image_files, load_image_folder
from resilinet_cli.data.labels import (
    SPLIT_NAMES,
    check_classes_present,
    check_finite,
    check_lengths,
    class_counts_by_name,
    encode_labels,
    standardized,
)
from resilinet_cli.data.locate import cache_dir
from resilinet_cli.data.splits import (
    ImageFiles,
    SplitOrder,
    Splits,
    cut_missing_splits,
    split_80_10_10,
)
from resilinet_cli.data.tables import read_table, row_word
from resilinet_cli.errors import DataError

ARRAYS_FOLDER = "arrays"  # the data cache's folder of arrays passed to rn.run, by digest
SPLIT_KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
_CHUNK = 1 << 20


class OwnData(Protocol):
    """What this module reads of a ``dataset:`` section (config/schema.py)."""

    name: str
    path: Path | None
    label: str | None
    features: list[str] | None
    standardize: bool
    classes: list[str] | None
    digest: str | None
    split_seed: int
    image_size: int | None
    channels: int | None

    @property
    def data_format(self) -> str | None: ...


# ---------------------------------------------------------------- digests


_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered while its size and modification time stay the same."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FILE_HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        _FILE_HASHES[key] = digest.hexdigest()
    return _FILE_HASHES[key]


def data_files(path: Path) -> list[Path]:
    """The files a files data set consists of: the file itself, or a folder's images."""
    return image_files(path) if path.is_dir() else [path]


def files_digest(path: Path) -> str:
    """The data's SHA-256: a file's own (what ``sha256sum`` prints), or for a folder that of its
    manifest, one ``relative/path<TAB>sha256`` line per image in sorted order."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()  # line by line: no manifest in memory, the same digest
    images = data_files(path)
    for image in images:
        digest.update(f"{image.relative_to(path).as_posix()}\t{file_sha256(image)}\n".encode())
    if not images:
        raise DataError(f"{path}: the folder holds no image ({', '.join(EXTENSIONS)})")
    return digest.hexdigest()


def arrays_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of named arrays: each name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\t{array.dtype.str}\t{array.shape}\n".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- arrays passed to rn.run


def as_named_arrays(data: Any) -> dict[str, np.ndarray]:
    """``(x, y)``, ``((x, y), (x_val, y_val), (x_test, y_test))`` or a mapping of those names,
    as named arrays; anything else is one DataError saying what is accepted."""
    accepted = "data= takes (x, y), ((x_train, y_train), (x_val, y_val), (x_test, y_test))"
    if isinstance(data, Mapping):
        return {str(k): np.asarray(v) for k, v in data.items()}
    if isinstance(data, Sequence) and len(data) == 2 and not _is_pair(data[0]):
        return {"x": np.asarray(data[0]), "y": np.asarray(data[1])}
    if isinstance(data, Sequence) and len(data) == 3 and all(_is_pair(p) for p in data):
        return {
            key: np.asarray(part[i])
            for (split, part) in zip(SPLIT_NAMES, data, strict=True)
            for i, key in enumerate((f"x_{split}", f"y_{split}"))
        }
    raise DataError(f"{accepted} or a mapping of those names, not {type(data).__name__}")


def _is_pair(value: Any) -> bool:
    return isinstance(value, tuple | list) and len(value) == 2


def arrays_path(digest: str) -> Path:
    return cache_dir(ARRAYS_FOLDER) / f"{digest}.npz"


def keep_arrays(arrays: Mapping[str, np.ndarray]) -> str:
    """Save arrays into the data cache under their digest (once; atomically) and return it, so
    that worker processes, ``evaluate`` and ``deploy`` read the same data later."""
    digest = arrays_digest(arrays)
    target = arrays_path(digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic.atomic_path(target) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return digest


# ---------------------------------------------------------------- loading


def load(dataset: OwnData) -> Splits | ImageFiles:
    """Load, check and split a data set of the user's own; its digest must match the config's."""
    fmt = dataset.data_format
    if dataset.name == "arrays":
        assert dataset.digest is not None
        digest = dataset.digest
        path = arrays_path(digest)
        if not path.is_file():
            raise DataError(
                f"the arrays of this run (digest {dataset.digest[:12]}) are not in the data "
                f"cache {path.parent}; pass them again: rn.run(config, data=...)"
            )
    else:
        assert dataset.path is not None
        path = Path(dataset.path)
        digest = files_digest(path)
        if dataset.digest is not None and digest != dataset.digest:
            raise DataError(
                f"{path}: the data changed: its SHA-256 is {digest[:12]}, the run's config "
                f"says {dataset.digest[:12]} (dataset.digest); restore it or start a new run"
            )
    if fmt == "images":
        splits: Splits | ImageFiles = load_image_folder(
            path,
            classes=dataset.classes,
            image_size=dataset.image_size,
            channels=dataset.channels,
            split_seed=dataset.split_seed,
        )
    elif fmt in ("csv", "parquet"):
        x, y, _, order = read_table(path, fmt, dataset.label, dataset.features, dataset.split_seed)
        word, first = row_word(fmt)
        splits = _array_splits(
            path, {"x": x, "y": y}, dataset, row=word, first_row=first, order=order
        )
    elif path.is_file() and path.suffix.lower() == ".npz":
        splits = _array_splits(path, read_npz(path), dataset)
    else:
        raise DataError(
            f"{path}: not a .npz, .csv or .parquet file, nor an image folder; name its format "
            "with dataset.format"
        )
    check_classes_present(
        {s: getattr(splits, f"y_{s}") for s in SPLIT_NAMES}, splits.class_names or (), str(path)
    )
    return replace(splits, source=provenance(dataset, path, fmt or "npz", digest, splits))


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file; it must hold x and y, or x_train and y_train (and maybe the
    other splits' pairs). Objects are never unpickled."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            wanted = [n for n in names if n in ("x", "y", *SPLIT_KEYS)]
            arrays = {name: npz[name] for name in wanted}
    except ValueError as error:
        raise DataError(
            f"{path}: holds an array of Python objects, which is never unpickled; save strings "
            f"as a unicode array (np.array(labels, dtype=str)) ({error})"
        ) from None
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot be read as .npz ({error})") from None
    if {"x_train", "y_train"} <= set(arrays):
        for split in ("val", "test"):
            if (f"x_{split}" in arrays) != (f"y_{split}" in arrays):
                raise DataError(f"{path}: has x_{split} or y_{split} but not both")
        return arrays
    if {"x", "y"} <= set(arrays):
        return {"x": arrays["x"], "y": arrays["y"]}
    raise DataError(
        f"{path}: holds {', '.join(names) or 'no arrays'}; expected x and y, or x_train and "
        "y_train (with x_val, y_val, x_test, y_test if you split it yourself)"
    )


def _array_splits(
    path: Path,
    arrays: dict[str, np.ndarray],
    dataset: OwnData,
    *,
    row: str = "example",
    first_row: int = 1,
    order: SplitOrder | None = None,
) -> Splits:
    """Check values and map labels (rows numbered as in the file), then split (unless split
    already) and standardise if asked.

    ``order``: ``x`` and ``y`` are already in split order (a table, ``read_table``); the splits
    are slices of them, and errors name rows by their place in the file.
    """
    where = f"arrays {str(dataset.digest)[:12]}" if dataset.name == "arrays" else str(path)
    rows = order.rows if order is not None else None
    pairs = [("x", "y")] if "x" in arrays else [(f"x_{s}", f"y_{s}") for s in SPLIT_NAMES]
    for x_name, y_name in [(x, y) for x, y in pairs if x in arrays]:
        x = arrays[x_name]
        named = where if x_name == "x" else f"{where} ({x_name})"
        check_lengths(x, arrays[y_name], named)
        if x.dtype.kind not in "iufb":
            raise DataError(f"{named}: holds {x.dtype} values; features must be numbers")
        arrays[x_name] = np.asarray(x, dtype=np.float32)  # no copy when float32 already
        check_finite(arrays[x_name], named, row, first_row, rows)
    labels = {("" if y == "y" else y): arrays[y] for _, y in pairs if y in arrays}
    encoded, names, mapping = encode_labels(labels, dataset.classes, where, row, first_row, rows)
    for part, y in encoded.items():
        arrays[part or "y"] = y
    parts = _splits_of(arrays, dataset.split_seed, where, order)
    xs = [parts[f"x_{s}"] for s in SPLIT_NAMES]
    if dataset.standardize:
        first, rest = standardized(xs[0], xs[1:])
        xs = [first, *rest]
    ys = [parts[f"y_{s}"] for s in SPLIT_NAMES]
    name = "arrays" if dataset.name == "arrays" else path.stem
    return Splits(name, xs[0], ys[0], xs[1], ys[1], xs[2], ys[2], len(names),
                  class_names=names, source={"labels": mapping})  # fmt: skip


def _splits_of(
    arrays: dict[str, np.ndarray], seed: int, where: str, order: SplitOrder | None = None
) -> dict[str, np.ndarray]:
    """The six split arrays: given, or cut with the built-in data sets' seeded 80/10/10 split
    (slices when ``x`` and ``y`` are in its order already); a split a file leaves out is cut
    from the training split (10 %, seeded)."""
    if "x" in arrays:
        if order is not None:
            cuts = (slice(None, order.val), slice(order.val, order.test), slice(order.test, None))
            return {
                f"{xy}_{split}": arrays[xy][cut]
                for split, cut in zip(SPLIT_NAMES, cuts, strict=True)
                for xy in ("x", "y")
            }
        return dict(zip(SPLIT_KEYS, split_80_10_10(arrays["x"], arrays["y"], seed), strict=True))
    return cut_missing_splits(arrays, seed)


def provenance(
    dataset: OwnData, path: Path, fmt: str, digest: str, splits: Splits | ImageFiles
) -> dict[str, Any]:
    """What a run records about its data: where, which format, its SHA-256 and that of each
    file (an image folder: the number of images), rows and class counts per split and how
    labels were mapped."""
    names = splits.class_names or ()
    rows = {s: len(getattr(splits, f"y_{s}")) for s in SPLIT_NAMES}
    record: dict[str, Any] = {"source": dataset.name, "format": fmt, "digest": digest}
    if isinstance(splits, ImageFiles):
        record |= {"path": str(path), "files": {"images": sum(rows.values())}}
    elif dataset.name != "arrays":
        record |= {"path": str(path), "files": {path.name: file_sha256(path)}}
    record["rows"] = rows
    record["classes"] = list(names)
    record["class_counts"] = {
        s: class_counts_by_name(getattr(splits, f"y_{s}"), names) for s in SPLIT_NAMES
    }
    if isinstance(splits, Splits) and splits.source:
        record["labels"] = splits.source.get("labels")
    return record
