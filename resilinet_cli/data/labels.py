"""Labels and values of a data set of the user's own: checked once, before any training.

Why one module: npz files, tables, image folders and arrays passed to ``rn.run`` must map
their labels the same way (sorted distinct values, strings and integers alike, so MHEALTH's
1..12 become 0..11 with the mapping recorded) and must refuse the same bad data with the same
one-line messages.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from resilinet_cli.errors import DataError

SPLIT_NAMES = ("train", "val", "test")
_CHECK_ROWS = 1 << 16  # rows per block of check_finite
SPLIT_WORDS = {"train": "training", "val": "validation", "test": "test"}


def encode_labels(
    labels: dict[str, np.ndarray],
    classes: Sequence[str] | None,
    where: str,
    row: str = "row",
    first_row: int = 1,
    rows: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], tuple[str, ...], dict[str, int]]:
    """Each part's labels as class indices 0..K-1, the class names and the mapping.

    ``labels`` maps a part's name ("" for a whole file, else ``y_train``, ...) to its labels.
    The classes are the sorted distinct labels of all parts together (numbers by value,
    strings by text); ``classes`` names them in that order, or, for string labels, gives the
    order itself. Floats must be whole numbers. Fewer than 2 classes is an error. ``rows``:
    each label's row in the file, when a whole file's labels come in another order.
    """
    values = {part: np.asarray(y).reshape(-1) for part, y in labels.items()}
    for part, y in values.items():
        if y.dtype.kind == "O" and all(isinstance(v, str) for v in y):
            values[part] = y.astype(str)
        if y.dtype.kind == "f":
            bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
            if bad.size:
                at = f"{part}, {row}" if part else row
                first = bad[0] if rows is None or part else bad[np.argmin(rows[bad])]
                number = first if rows is None or part else rows[first]
                raise DataError(
                    f"{where}: label {y[first].item()!r} ({at} {number + first_row}) is not a "
                    f"whole number or a string; {bad.size:,} such label(s); labels name classes"
                )
            values[part] = y.astype(np.int64)
    whole = np.concatenate(list(values.values()))
    if whole.dtype.kind not in "iubU":
        raise DataError(
            f"{where}: labels must be integers or strings, not {whole.dtype} (first: {whole[0]!r})"
        )
    distinct = np.unique(whole)
    if whole.dtype.kind == "U" and classes is not None:
        unknown = sorted(set(distinct) - set(classes))
        if unknown:
            raise DataError(
                f"{where}: label {unknown[0]!r} is not in classes: [{', '.join(classes)}]"
            )
        distinct = np.asarray(list(classes))
    names = tuple(str(v) for v in distinct)
    if classes is not None and whole.dtype.kind != "U":
        if len(classes) != len(distinct):
            raise DataError(
                f"{where}: classes lists {len(classes)} names but the labels hold "
                f"{len(distinct)} distinct values ({', '.join(names[:12])})"
            )
        names = tuple(classes)
    if len(distinct) < 2:
        raise DataError(f"{where}: the labels hold {len(distinct)} class; a classifier needs 2")
    mapping = {str(v): i for i, v in enumerate(distinct)}
    return {part: _encode(v, distinct) for part, v in values.items()}, names, mapping


def _encode(values: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """Class indices of ``values``: by search when ``distinct`` is sorted, else by lookup."""
    if distinct.dtype.kind != "U" or list(distinct) == sorted(distinct):
        return np.searchsorted(distinct, values.astype(distinct.dtype)).astype(np.int64)
    index = {v: i for i, v in enumerate(distinct.tolist())}
    return np.asarray([index[v] for v in values.astype(str).tolist()], dtype=np.int64)


def check_finite(
    x: np.ndarray,
    where: str,
    row: str = "row",
    first_row: int = 1,
    rows: np.ndarray | None = None,
) -> None:
    """NaN or infinite feature values are an error naming how many rows and the first.

    ``rows``: each row's index in the file, when ``x`` holds them in another order (a table
    read in split order). Checked in blocks of rows, so the check needs little memory.
    """
    flat = x.reshape(len(x), -1)
    finite = np.empty(len(x), dtype=bool)
    for start in range(0, len(x), _CHECK_ROWS):
        finite[start : start + _CHECK_ROWS] = np.isfinite(flat[start : start + _CHECK_ROWS]).all(
            axis=1
        )
    if not finite.all():
        bad = np.flatnonzero(~finite)
        first = bad[0] if rows is None else rows[bad].min()
        raise DataError(
            f"{where}: {bad.size:,} row(s) hold NaN or infinite values, the first at "
            f"{row} {first + first_row}; remove or fill them"
        )


def check_lengths(x: np.ndarray, y: np.ndarray, where: str) -> None:
    if len(x) != len(y):
        raise DataError(f"{where}: {len(x):,} examples but {len(y):,} labels; they must match")


def check_classes_present(splits: dict[str, np.ndarray], names: Sequence[str], where: str) -> None:
    """Every class must have an example in every split (scores and the guess need them)."""
    for split, y in splits.items():
        missing = sorted(set(range(len(names))) - set(np.unique(y).tolist()))
        if missing:
            raise DataError(
                f"{where}: class {names[missing[0]]!r} has no example in the "
                f"{SPLIT_WORDS[split]} split ({len(y):,} examples); give more examples of it "
                "or split the data yourself"
            )


def class_counts_by_name(y: np.ndarray, names: Sequence[str]) -> dict[str, int]:
    counts = np.bincount(y, minlength=len(names))
    return {name: int(n) for name, n in zip(names, counts, strict=True)}


def standardized(
    x_train: np.ndarray, others: Sequence[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Scale each feature to mean 0 and standard deviation 1 of the training split; a constant
    feature is only centred. Fitted on the training split alone, so nothing leaks from test."""
    mean = x_train.mean(axis=0, dtype=np.float64)
    std = x_train.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    scale = (1.0 / std).astype(np.float32)
    shift = mean.astype(np.float32)
    return (x_train - shift) * scale, [(x - shift) * scale for x in others]
