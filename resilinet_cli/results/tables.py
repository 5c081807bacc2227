"""Result tables of a run folder (docs/architecture.md §4): CSV, Markdown and LaTeX.

Each unit's per-combination accuracies are computed once and reused for every reliability
setting; weighted accuracies are averaged over iterations (mean, sample std with ddof=1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.errors import RunError
from resilinet_cli.failure_model import FailureModel
from resilinet_cli.results import layout
from resilinet_cli.results.report_page import table_formats
from resilinet_cli.results.runs import Unit
from resilinet_cli.results.table_columns import NOTE
from resilinet_cli.sweeps.sweep import ACCURACY, weighted_accuracy
from resilinet_cli.topology import Topology, probability

WEIGHTED_COLUMNS = ["variant", "setting", "mean", "std", "iterations"]
COMBINATION_COLUMNS = ["variant", "combination", "mean", "std"]


def unit_weighted(
    combinations: pd.DataFrame, topology: Topology, models: Sequence[FailureModel] = ()
) -> dict[str, float]:
    """Weighted accuracy of one trained model under every named reliability setting, then
    under each failure model whose flags its combinations table has (failure_model.py).

    A table with standby replicas' columns is scored over them too (a replica takes its
    primary's survival where nothing says otherwise).
    """
    topology = topology.for_table(combinations.columns)
    weighted = {}
    for setting, reliability in topology.reliability.items():
        check_probabilities(combinations, topology.columns, topology.survival(reliability), setting)
        weighted[setting] = weighted_accuracy(combinations, topology, reliability)
    primary = dict(topology.replicas)
    for model in models:
        model = model.for_nodes(topology.alive_columns, primary)
        if set(model.columns) <= set(combinations.columns):
            weighted[model.name] = model.weighted(combinations)
    return weighted


TOLERANCE = 1e-9  # how far a setting's probabilities over a table may sum from 1


def check_probabilities(
    combinations: pd.DataFrame, columns: Sequence[str], survival: Sequence[float], setting: str
) -> None:
    """A table's invariant before any number leaves it: the probabilities of its combinations
    under ``setting`` sum to 1, so no combination is missing or counted twice."""
    flags = combinations[list(columns)].to_numpy(dtype=int).tolist()
    total = math.fsum(probability(tuple(row), survival) for row in flags)
    if abs(total - 1) > TOLERANCE:
        raise RunError(
            f"the combinations of a unit cover {total:.12f} of the probability under "
            f"{setting}, not 1: some are missing or repeated (table not written)"
        )


def summarise(
    results: dict[Unit, pd.DataFrame],
    topology: Topology,
    levels: dict[Unit, dict[str, str]] | None = None,
    models: Sequence[FailureModel] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(weighted_accuracy table, combinations table) from each unit's combinations.

    ``levels`` gives each unit's factor columns (an ablation's level, placed after ``variant``;
    a skip subset: its links by name, then its bits); a plain run has none. A model trained for
    one reliability setting (weight schemes 2 and 3, variable failout) is scored on that one
    only. ``topology`` is the run's, with every skip.
    """
    levels = {unit: (levels or {}).get(unit, {}) for unit in results}
    factors = list(dict.fromkeys(column for level in levels.values() for column in level))
    weighted, combos = [], []
    for unit, frame in results.items():
        keys = {"variant": unit.variant, **levels[unit]}
        for setting, value in unit_weighted(frame, topology, models).items():
            if unit.trained_for in (None, setting):
                weighted.append({**keys, "setting": setting, "value": value})
        if unit.trained_for is not None:
            continue  # its combinations belong to a per-setting model; not comparable
        flags = frame[list(topology.for_table(frame.columns).columns)].to_numpy(dtype=int)
        for row, value in zip(flags.tolist(), frame[ACCURACY], strict=True):
            bits = "".join(str(bit) for bit in row)
            combos.append({**keys, "combination": bits, "value": value})
    keys = ["variant", *factors]
    return (
        mean_std(pd.DataFrame(weighted), [*keys, "setting"], [*keys, *WEIGHTED_COLUMNS[1:]]),
        mean_std(pd.DataFrame(combos), [*keys, "combination"], [*keys, *COMBINATION_COLUMNS[1:]]),
    )


def mean_std(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """``frame``'s values by ``keys``: mean, sample std (ddof=1) and count (``iterations``)."""
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby(keys, sort=False)["value"]
    table = grouped.agg(mean="mean", std=lambda v: v.std(ddof=1), iterations="count")
    return table.reset_index()[columns]


def weighted_markdown(table: pd.DataFrame) -> str:
    """The weighted table as Markdown, with the line that says how to read it."""
    return table_formats(table)["markdown"] + "\n\n" + NOTE + "\n"


def write_tables(out: Path, weighted: pd.DataFrame, combinations: pd.DataFrame) -> Path:
    """The CSV tables, and the Markdown and LaTeX ones when there is something to show."""
    tables = out / layout.TABLES
    atomic.write_csv(tables / layout.WEIGHTED_CSV, weighted)
    atomic.write_csv(tables / layout.COMBINATIONS, combinations)
    if weighted.empty:
        return tables
    formats = table_formats(weighted)
    atomic.write_text(tables / layout.WEIGHTED_MD, formats["markdown"] + "\n\n" + NOTE + "\n")
    atomic.write_text(tables / layout.WEIGHTED_TEX, formats["latex"] + "\n")
    return tables
