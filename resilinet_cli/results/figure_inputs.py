"""Figures are drawn again only when what they show has changed.

PNG pixels differ between matplotlib and FreeType versions, so comparing a new drawing with the
file on disk would rewrite every figure after an upgrade, and a run with nothing to do would
still change files. Each figure call therefore records the digest of its inputs (the tables it
draws, its options and the plotting code) in ``figures/.inputs.json``; while the digest and the
files stay, the drawing is skipped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from resilinet_cli import atomic
from resilinet_cli.results.layout import FIGURE_DIGESTS

# this package's modules that decide what a figure looks like
PLOTTING_CODE = (
    "plots.py",
    "line_figures.py",
    "figure_style.py",
    "figure_tables.py",
    "table_columns.py",
)


def draw_once(
    folder: Path, name: str, inputs: Sequence[Any], draw: Callable[[], list[Path]]
) -> list[Path]:
    """``draw()``'s figures (PNG paths, each with a PDF beside it), or the ones already in
    ``folder`` when ``name`` was last drawn from the same ``inputs``."""
    digest = inputs_digest(inputs)
    record = _read(folder / FIGURE_DIGESTS)
    entry = record.get(name)
    if isinstance(entry, dict) and entry.get("digest") == digest:
        paths = [folder / str(file) for file in entry.get("files", [])]
        if all(p.is_file() and p.with_suffix(".pdf").is_file() for p in paths):
            return paths
    paths = draw()
    record[name] = {"digest": digest, "files": [_name(p, folder) for p in paths]}
    atomic.write_json(folder / FIGURE_DIGESTS, record)
    return paths


def forget(folder: Path, name: str) -> None:
    """Drop ``name``'s entry (its figures were removed)."""
    record = _read(folder / FIGURE_DIGESTS)
    if record.pop(name, None) is not None:
        atomic.write_json(folder / FIGURE_DIGESTS, record)


def inputs_digest(inputs: Sequence[Any]) -> str:
    digest = hashlib.sha256()
    for source in PLOTTING_CODE:
        digest.update((Path(__file__).parent / source).read_bytes())
    for item in inputs:
        digest.update(_bytes(item))
    return digest.hexdigest()


def _bytes(item: Any) -> bytes:
    if hasattr(item, "to_csv"):  # a DataFrame: its values, in order
        return item.to_csv(index=False).encode()
    return json.dumps(item, sort_keys=True, default=str).encode()


def _read(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return record if isinstance(record, dict) else {}


def _name(path: Path, folder: Path) -> str:
    return Path(path).resolve().relative_to(folder.resolve()).as_posix()
