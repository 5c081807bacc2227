"""Checksums of a unit's files, and the check every reader makes before it trusts a unit.

A unit's record (``run.json``, written last) lists the SHA-256 and size of every file the unit
wrote. Every reader recomputes them: a missing, truncated, edited or unparsable file is one
error that names it, never a number (docs/architecture.md §7). A committed reference keeps no
model and no TensorBoard logs; its records list those under ``not_committed``, which is not
"missing". A record written before checksums existed is read as it is, and gets them the next
time its run folder is written.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resilinet_cli import atomic
from resilinet_cli.results import layout

FILES = "files"  # the record's key: {relative path: {"sha256": ..., "bytes": ...}}
NOT_COMMITTED = "not_committed"  # the record's key in a committed reference: paths left out
LEFT_OUT_OF_REFERENCES = (layout.MODEL, layout.TENSORBOARD)
# Written next to a unit by later commands, not by the unit itself.
NOT_THE_UNITS = frozenset({layout.RECORD, layout.EVALUATION, layout.EVALUATION_WEIGHTED})


@dataclass(frozen=True)
class Damage:
    """What is wrong with one file of a unit."""

    path: Path
    problem: str

    def message(self, fix: str) -> str:
        return f"{self.path}: {self.problem}; {fix}"


def sha256(path: Path) -> str:
    """The file's SHA-256; within one process, a file unchanged since it was last hashed (same
    size and modification time) is not read again: a profile's page reads each unit often."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHED:
        digest = hashlib.sha256()
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        _HASHED[key] = digest.hexdigest()
    return _HASHED[key]


_HASHED: dict[tuple[str, int, int], str] = {}


def unit_files(folder: Path) -> list[Path]:
    """The files a unit wrote: everything in its folder but its record, an interrupted
    training's checkpoint, temporary files and what ``evaluate`` adds next to the model."""
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or relative.parts[0] == layout.RESUME:
            continue
        if relative.as_posix() in NOT_THE_UNITS or atomic.TEMPORARY.fullmatch(path.name):
            continue
        found.append(path)
    return found


def file_entries(folder: Path) -> dict[str, dict[str, Any]]:
    """{relative path: {sha256, bytes}} of every file of the unit in ``folder``."""
    return {
        path.relative_to(folder).as_posix(): {"sha256": sha256(path), "bytes": path.stat().st_size}
        for path in unit_files(folder)
    }


def read_unit_record(folder: Path) -> tuple[dict[str, Any] | None, Damage | None]:
    """(record, None), (None, None) when the unit never started, or (None, damage)."""
    path = folder / layout.RECORD
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as error:
        return None, Damage(path, f"cannot be read ({error})")
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None, Damage(path, "is not valid JSON (truncated or edited)")
    if not isinstance(record, dict) or not isinstance(record.get("status"), str):
        return None, Damage(path, "is not a unit record (no status)")
    if record["status"] == "done" and not _complete(record):
        return None, Damage(path, "is not a complete unit record (its unit, config hash or files)")
    return record, None


def _complete(record: dict[str, Any]) -> bool:
    unit, files = record.get("unit"), record.get(FILES, {})
    return (
        isinstance(unit, dict)
        and {"variant", "iteration", "seed"} <= set(unit)
        and isinstance(record.get("config_hash"), str)
        and isinstance(files, dict)
        and all(_entry(entry) for entry in files.values())
    )


def _entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("sha256"), str)
        and isinstance(entry.get("bytes"), int)
    )


def check_files(folder: Path, record: dict[str, Any]) -> Damage | None:
    """The first recorded file that is missing, of another size or edited; None if all hold.

    A record without checksums (written by an older resilinet) passes: it has nothing to check.
    """
    left_out = not_committed(record)
    for name, entry in record.get(FILES, {}).items():
        if _left_out(name, left_out):
            continue
        path = folder / name
        if not path.is_file():
            return Damage(path, "is missing")
        size, recorded = path.stat().st_size, entry["bytes"]
        if size < recorded:
            return Damage(path, f"is truncated ({size:,} of {recorded:,} bytes)")
        if size != recorded:
            return Damage(path, f"has changed ({size:,} bytes, {recorded:,} recorded)")
        if sha256(path) != entry["sha256"]:
            return Damage(path, "has been edited (its SHA-256 differs from the record)")
    return None


def not_committed(record: dict[str, Any]) -> list[str]:
    """The files and folders a committed reference leaves out (its model, its logs)."""
    left = record.get(NOT_COMMITTED, [])
    return [str(name) for name in left] if isinstance(left, list) else []


def is_committed(record: dict[str, Any], name: str) -> bool:
    """False for a file a committed reference leaves out, such as its ``model.keras``."""
    return not _left_out(name, not_committed(record))


def _left_out(name: str, left_out: Iterable[str]) -> bool:
    return any(name == out or name.startswith(f"{out}/") for out in left_out)


def with_checksums(folder: Path, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with the checksums of the unit's files as they are now."""
    return {**record, FILES: file_entries(folder)}


def check_combinations(path: Path, columns: Sequence[str]) -> Damage | None:
    """A unit's combinations table as the sweep writes it: one 0/1 column per failable node
    and link, then information_flow and accuracy (and a model with exit heads' columns of
    both rules, sweeps/exits.py); exactly 2^(N+L) rows, in binary order."""
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        return Damage(path, "is missing")
    except (OSError, ValueError, pd.errors.ParserError) as error:
        return Damage(path, f"cannot be parsed ({' '.join(str(error).split())[:80]})")
    return combinations_problem(table, columns, path)


def combinations_problem(table: Any, columns: Sequence[str], path: Path) -> Damage | None:
    """What is wrong with a combinations table (``check_combinations``), or None."""
    import numpy as np

    expected = [*columns, "information_flow", "accuracy"]
    extra = list(table.columns)[len(expected) :]
    if list(table.columns)[: len(expected)] != expected or (extra and not exit_columns(extra)):
        return Damage(path, f"has columns {', '.join(map(str, table.columns))}, not "
                            f"{', '.join(expected)}")  # fmt: skip
    rows = 2 ** len(columns)
    if len(table) != rows:
        return Damage(path, f"has {len(table)} rows, not the {rows} combinations of "
                            f"{len(columns)} failable nodes and links (truncated?)")  # fmt: skip
    flags = table[list(columns)].to_numpy()
    order = np.array(list(itertools.product((0, 1), repeat=len(columns))), dtype=flags.dtype)
    if flags.shape != order.shape or not (flags == order).all():
        return Damage(path, "does not list the combinations in binary order (edited?)")
    for name in ("accuracy", THRESHOLD_ACCURACY) if extra else ("accuracy",):
        accuracy = pd_numeric(table[name])
        if accuracy is None or not ((accuracy >= 0) & (accuracy <= 1)).all():
            return Damage(path, f"has an {name} that is not a number between 0 and 1")
    if extra:
        fractions = pd_numeric(table[extra[2:]].stack())
        total = None if fractions is None else fractions.to_numpy().reshape(len(table), -1)
        if total is None or not np.allclose(total.sum(axis=1), 1.0, atol=1e-9):
            return Damage(path, "has exit fractions that do not sum to 1 (edited?)")
    return None


THRESHOLD_ACCURACY = "threshold_accuracy"


def exit_columns(extra: Sequence[str]) -> bool:
    """The columns a model with exit heads adds: answered_by, threshold_accuracy, then the
    fraction answered at each exit, the output node and the guess (sweeps/exits.py)."""
    fractions = extra[2:]
    return (
        list(extra[:2]) == ["answered_by", THRESHOLD_ACCURACY]
        and len(fractions) >= 3
        and all(str(name).startswith("threshold_exit_") for name in fractions)
        and fractions[-1] == "threshold_exit_guess"
    )


def pd_numeric(column: Any) -> Any:
    """The column as floats, or None if some value is not a number."""
    import pandas as pd

    values = pd.to_numeric(column, errors="coerce")
    return None if values.isna().any() else values
