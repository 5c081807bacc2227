"""CSV and Parquet files of the user's own: one row per example, a label column, numeric features.

Why pyarrow: it reads CSV fast and Parquet natively. Each feature column (Parquet) or block of
rows (CSV) is copied straight into one float32 matrix already in the order of the 80/10/10
split, so memory peaks well under twice the features' float32 size (bench/own_data.py).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from resilinet_cli.data.splits import SplitOrder, split_order
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
    path: Path, fmt: str, label: str | None, features: list[str] | None, split_seed: int
) -> tuple[np.ndarray, np.ndarray, list[str], SplitOrder | None]:
    """Features (float32, one row per example), raw labels, the feature names and the split.

    Rows come in the order of the seeded 80/10/10 split (``split_order``: train, then val, then
    test), so the splits are slices of one matrix and the split copies nothing. The matrix is
    filled column by column (Parquet) or block by block (CSV): beside it, memory holds one
    column or one block of the file, not the whole table. Too few rows to split: file order,
    and ``None`` for the split (``split_80_10_10`` then says what is wrong).
    """
    label = label or DEFAULT_LABEL
    where = str(path)
    names = column_names(path, fmt)
    chosen = choose_features(names, label, features, where)
    streamed = _csv_stream(path, chosen, label, split_seed) if fmt == "csv" else None
    if streamed is not None:
        x, labels, split = streamed
    else:
        read = _read(path, fmt, chosen).column if fmt == "csv" else _parquet_columns(path)
        labels = read(label) if fmt == "parquet" else _read(path, fmt, [label]).column(label)
        split, rows = _order(len(labels), split_seed)
        x = np.empty((len(labels), len(chosen)), dtype=np.float32)
        for i, name in enumerate(chosen):  # Parquet: one column in memory at a time
            x[:, i] = _numeric(read(name), name, where, fmt)[rows]
        del read
    rows = split.rows if split is not None else slice(None)
    y = _labels(labels, label, where, fmt)[rows]
    return x, y, chosen, split


def _parquet_columns(path: Path) -> Callable[[str], Any]:
    """Read a Parquet file's columns one by one (one thread, no pre-buffering: a column at a
    time needs neither, and each adds tens of MB of buffers)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path, pre_buffer=False)
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"{path}: cannot be read as PARQUET ({_first_line(error)})") from None

    def column(name: str) -> Any:
        try:
            return file.read(columns=[name], use_threads=False).column(name)
        except (pa.ArrowInvalid, OSError) as error:
            raise DataError(f"{path}: cannot be read as PARQUET ({_first_line(error)})") from None

    return column


def _order(n: int, seed: int) -> tuple[SplitOrder | None, np.ndarray]:
    """The split of ``n`` rows and its row order; too few rows to split: None, file order."""
    try:
        split = split_order(n, seed)
    except ValueError:
        return None, np.arange(n)
    return split, split.rows


def _csv_stream(
    path: Path, chosen: list[str], label: str, seed: int
) -> tuple[np.ndarray, Any, SplitOrder | None] | None:
    """Features in split order and the raw label column, read in one streaming pass of blocks
    of rows with every feature column read as float64; the split is that of the file's line
    count (a second pass if blank lines or line breaks in quotes make the rows fewer).

    None when that read fails: the caller then reads the whole table as before, with pyarrow's
    type inference over the whole file and its messages (text in a feature column, a file that
    cannot be read); a streaming read infers the label's type from the first block alone.
    """
    import pyarrow as pa
    import pyarrow.csv as pv

    convert = pv.ConvertOptions(
        include_columns=[*chosen, label], column_types={name: pa.float64() for name in chosen}
    )
    # Blocks of 256 kB, not 1 MB: the reader keeps blocks ahead, ~30 MB less at peak, as fast.
    read = pv.ReadOptions(block_size=1 << 18)
    guess = _data_lines(path)
    for _ in range(2):
        split, rows = _order(guess, seed)
        position = np.empty(guess, dtype=np.int64)  # the row of x for each row of the file
        position[rows] = np.arange(guess)
        x = np.empty((guess, len(chosen)), dtype=np.float32)
        labels = []
        start = 0
        try:
            with pv.open_csv(path, read_options=read, convert_options=convert) as reader:
                kind = reader.schema.field(label).type
                for batch in reader:
                    end = start + batch.num_rows
                    if end <= guess:
                        block = np.empty((batch.num_rows, len(chosen)), dtype=np.float32)
                        for i, name in enumerate(chosen):
                            block[:, i] = batch.column(name).to_numpy(zero_copy_only=False)
                        x[position[start:end]] = block
                        labels.append(batch.column(label))
                    start = end
        except (pa.ArrowInvalid, OSError):
            return None
        if start == guess:
            return x, pa.chunked_array(labels, type=kind), split
        guess = start
    return None


def _data_lines(path: Path) -> int:
    """The rows of a CSV file if every line but the header is one: its line count less one."""
    lines, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return max(lines - (last == b"\n"), 0)


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
