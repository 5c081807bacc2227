"""A ``-m`` sweep's combined table: every value's weighted accuracy side by side.

Each value runs into its own folder with its own tables; ``<sweep>/tables/sweep.csv`` (and
``.md``) puts one column per swept key in front of the rows of each value's
``weighted_accuracy.csv``, so the values can be compared without opening every folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.results import layout
from resilinet_cli.results.report_page import table_formats
from resilinet_cli.results.tables import NOTE

SWEEP_CSV = "sweep.csv"
SWEEP_MD = "sweep.md"


def write_sweep_table(root: Path, runs: Sequence[tuple[dict[str, str], Path]]) -> Path | None:
    """Write ``root/tables/sweep.csv`` and ``.md`` from each (swept values, run folder).

    A value whose run has no table yet (not run, failed, or --no-sweep) is left out; with none,
    nothing is written and None returned.
    """
    frames = []
    for values, folder in runs:
        path = folder / layout.TABLES / layout.WEIGHTED_CSV
        if path.is_file():
            table = pd.read_csv(path)
            frames.append(pd.concat([pd.DataFrame([values] * len(table)), table], axis=1))
    if not frames:
        return None
    combined = pd.concat(frames, ignore_index=True)
    tables = root / layout.TABLES
    atomic.write_csv(tables / SWEEP_CSV, combined)
    if not combined.empty:
        markdown = table_formats(combined)["markdown"]
        atomic.write_text(tables / SWEEP_MD, f"{markdown}\n\n{NOTE}\n")
    return tables / SWEEP_CSV
