"""Before two folders are compared: every run's units whole, and its table what they give.

A table is a number taken from its units, never on trust: each run folder's units are checked
against their records' checksums (``runs.finished_records``) and its weighted-accuracy table is
recomputed from their combinations. A damaged unit, or a table its units no longer give
(edited, or left by an older report), is one error that names the file and what to do.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from resilinet_cli.config import load_config
from resilinet_cli.errors import RunError
from resilinet_cli.experiments.pages import finished_results, summarise
from resilinet_cli.failure_model import configured
from resilinet_cli.results import layout
from resilinet_cli.results.compare import NUMBERS, TABLE, experiments
from resilinet_cli.variants import topology_of


def check_folder(root: Path) -> None:
    """``check_table`` for every run folder at or under ``root`` that has a table."""
    for folder in experiments(root).values():
        check_table(folder)


def check_table(folder: Path) -> None:
    """RunError unless the run's units are whole and give exactly its weighted table."""
    path = folder / TABLE
    if not (folder / layout.CONFIG).is_file():
        return  # a bare table, with no units to check it against
    config = load_config(folder / layout.CONFIG)
    found = finished_results(folder, config)  # RunError for a damaged unit
    if not found:
        return
    weighted, _ = summarise(found, topology_of(config), configured(config))
    if not same_table(weighted, pd.read_csv(path, dtype=str, keep_default_na=False)):
        raise RunError(
            f"{path}: its numbers are not the ones its units give (edited, or left by an older "
            f"report); rebuild it with: resilinet report {folder}"
        )


def same_table(computed: pd.DataFrame, saved: pd.DataFrame) -> bool:
    """The same rows (in any order) with the same numbers, to float rounding; ``saved`` is read
    as text, so that a key such as a skip subset's bits keeps its leading zeros."""
    if list(computed.columns) != list(saved.columns) or len(computed) != len(saved):
        return False
    keys = [column for column in computed.columns if column not in NUMBERS]
    left = computed.astype({k: str for k in keys}).sort_values(keys).reset_index(drop=True)
    right = saved.astype({k: str for k in keys}).sort_values(keys).reset_index(drop=True)
    if not left[keys].equals(right[keys]):
        return False
    for column in NUMBERS:
        a = pd.to_numeric(left[column], errors="coerce")
        b = pd.to_numeric(right[column], errors="coerce")
        if not (a.isna() == b.isna()).all() or ((a - b).abs() > 1e-12).any():
            return False
    return True
