"""Result tables of a run folder (DESIGN.md §4): CSV and a readable Markdown table.

Each unit's per-combination accuracies are computed once and reused for every reliability
setting; weighted accuracies are averaged over iterations (mean, sample std with ddof=1).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.failures import ACCURACY, weighted_accuracy
from resilinet_cli.topology import Topology

WEIGHTED_COLUMNS = ["variant", "setting", "mean", "std", "iterations"]
COMBINATION_COLUMNS = ["variant", "combination", "mean", "std"]


def unit_weighted(combinations: pd.DataFrame, topology: Topology) -> dict[str, float]:
    """Weighted accuracy of one trained model under every named reliability setting."""
    return {
        setting: weighted_accuracy(combinations, topology, reliability)
        for setting, reliability in topology.reliability.items()
    }


def summarise(
    results: dict[tuple[str, int], pd.DataFrame], topology: Topology
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(weighted_accuracy table, combinations table) from each unit's combinations."""
    weighted, combos = [], []
    for (variant, iteration), frame in results.items():
        for setting, value in unit_weighted(frame, topology).items():
            weighted.append(
                {"variant": variant, "iteration": iteration, "setting": setting, "value": value}
            )
        for row in frame.itertuples(index=False):
            bits = "".join(str(int(getattr(row, node))) for node in topology.failable)
            combos.append(
                {
                    "variant": variant,
                    "iteration": iteration,
                    "combination": bits,
                    "value": getattr(row, ACCURACY),
                }
            )
    return (
        _mean_std(pd.DataFrame(weighted), ["variant", "setting"], WEIGHTED_COLUMNS),
        _mean_std(pd.DataFrame(combos), ["variant", "combination"], COMBINATION_COLUMNS),
    )


def _mean_std(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby(keys, sort=False)["value"]
    table = grouped.agg(mean="mean", std=lambda v: v.std(ddof=1), iterations="count")
    return table.reset_index()[columns]


def weighted_markdown(table: pd.DataFrame) -> str:
    """Variants as rows, reliability settings as columns, cells 'mean ± std' in percent."""

    def cell(row: pd.Series) -> str:
        text = f"{100 * row['mean']:.2f}"
        return text if pd.isna(row["std"]) else f"{text} ± {100 * row['std']:.2f}"

    frame = table.assign(cell=table.apply(cell, axis=1))
    wide = frame.pivot(index="variant", columns="setting", values="cell")
    wide = wide.loc[list(dict.fromkeys(table["variant"])), list(dict.fromkeys(table["setting"]))]
    runs = table.groupby("variant", sort=False)["iterations"].max()
    wide.insert(0, "iterations", runs.loc[wide.index].astype(int))
    return (
        wide.to_markdown(disable_numparse=True)
        + "\n\nWeighted accuracy in %, mean ± sample std over iterations.\n"
    )


def write_tables(out: Path, weighted: pd.DataFrame, combinations: pd.DataFrame) -> Path:
    tables = out / "tables"
    atomic.write_csv(tables / "weighted_accuracy.csv", weighted)
    atomic.write_csv(tables / "combinations.csv", combinations)
    atomic.write_text(tables / "weighted_accuracy.md", weighted_markdown(weighted))
    return tables
