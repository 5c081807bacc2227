"""CSV and Parquet files of the user's own: one row per example, a label column, numeric features.

Why pyarrow: it reads a million-row CSV on every core in about a second and Parquet natively;
each feature column is copied straight into one float32 matrix, so memory peaks near twice the
features' float32 size (bench/own_data.py measures both).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import numpy as np

from resilinet_cli.errors import DataError, unknown_choice

DEFAULT_LABEL = "label"


def column_names(path: Path, fmt: str) -> list[str]:
    """The file's column names, read from its header (CSV) or schema (Parquet) alone."""
    import pyarrow as pa

    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        import pyarrow.csv as pv

        with pv.open_csv(path) as reader:
            return list(reader.schema.names)
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"{path}: cannot be read as {fmt.upper()} ({_first_line(error)})") from None


def choose_features(
    names: list[str], label: str, features: list[str] | None, where: str
) -> list[str]:
    """The feature columns: those named or matching a pattern (``acc_*``), in file order;
    by default every column but the label."""
    if label not in names:
        raise DataError(f"{where}: label: {unknown_choice('column', label, names)}")
    if features is None:
        return [name for name in names if name != label]
    chosen: set[str] = set()
    for entry in features:
        if any(char in entry for char in "*?["):
            matched = fnmatch.filter(names, entry)
            if not matched:
                raise DataError(f"{where}: features: pattern '{entry}' matches no column")
            chosen.update(matched)
        elif entry in names:
            chosen.add(entry)
        else:
            raise DataError(f"{where}: features: {unknown_choice('column', entry, names)}")
    chosen.discard(label)
    if not chosen:
        raise DataError(f"{where}: features: no feature column is left besides the label")
    return [name for name in names if name in chosen]


def read_table(
    path: Path, fmt: str, label: str | None, features: list[str] | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features (float32, one row per example), raw labels and the feature names."""
    label = label or DEFAULT_LABEL
    where = str(path)
    names = column_names(path, fmt)
    chosen = choose_features(names, label, features, where)
    table = _read(path, fmt, [*chosen, label])
    x = np.empty((table.num_rows, len(chosen)), dtype=np.float32)
    for i, name in enumerate(chosen):
        x[:, i] = _numeric(table.column(name), name, where, fmt)
    y = _labels(table.column(label), label, where, fmt)
    return x, y, chosen


def row_word(fmt: str) -> tuple[str, int]:
    """How a table names its rows in errors: CSV by line (the header is line 1)."""
    return ("line", 2) if fmt == "csv" else ("row", 1)


def _read(path: Path, fmt: str, columns: list[str]) -> Any:
    import pyarrow as pa

    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path, columns=columns)
        import pyarrow.csv as pv

        return pv.read_csv(path, convert_options=pv.ConvertOptions(include_columns=columns))
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"{path}: cannot be read as {fmt.upper()} ({_first_line(error)})") from None


def _numeric(column: Any, name: str, where: str, fmt: str) -> np.ndarray:
    """A feature column as numbers; text is an error naming the first value that is not one."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return column.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    if pa.types.is_null(kind):
        return np.full(len(column), np.nan, dtype=np.float32)
    text = column.cast(pa.string())
    values = text.to_pylist()
    for i, value in enumerate(values):
        if value is not None and not _is_number(value):
            word, first = row_word(fmt)
            raise DataError(
                f"{where}: feature column '{name}' is not numeric ({word} {i + first}: "
                f"{value!r}); choose the feature columns with features:"
            )
    return np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float32)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _labels(column: Any, name: str, where: str, fmt: str) -> np.ndarray:
    if column.null_count:
        word, first = row_word(fmt)
        missing = np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))
        raise DataError(
            f"{where}: label column '{name}' has {column.null_count:,} empty value(s), the "
            f"first at {word} {missing[0] + first}"
        )
    values = column.to_numpy(zero_copy_only=False)
    return values.astype(str) if values.dtype.kind == "O" else values


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
