"""Result tables of a run folder (docs/architecture.md §4): CSV, Markdown and LaTeX.

Each unit's per-combination accuracies are computed once and reused for every reliability
setting; weighted accuracies are averaged over iterations (mean, sample std with ddof=1).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from resilinet_cli import atomic, stats
from resilinet_cli.failure_model import FailureModel
from resilinet_cli.results import layout
from resilinet_cli.results.report_page import table_formats
from resilinet_cli.results.runs import Unit
from resilinet_cli.sweeps.sweep import ACCURACY, weighted_accuracy
from resilinet_cli.topology import Topology

WEIGHTED_COLUMNS = ["variant", "setting", "mean", "std", "iterations"]
COMBINATION_COLUMNS = ["variant", "combination", "mean", "std"]


def unit_weighted(
    combinations: pd.DataFrame, topology: Topology, models: Sequence[FailureModel] = ()
) -> dict[str, float]:
    """Weighted accuracy of one trained model under every named reliability setting, then
    under each failure model whose flags its combinations table has (failure_model.py)."""
    weighted = {
        setting: weighted_accuracy(combinations, topology, reliability)
        for setting, reliability in topology.reliability.items()
    }
    for model in models:
        if set(model.columns) <= set(combinations.columns):
            weighted[model.name] = model.weighted(combinations)
    return weighted


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
        flags = frame[list(topology.columns)].to_numpy(dtype=int).tolist()
        for row, value in zip(flags, frame[ACCURACY], strict=True):
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


NOTE = "Weighted accuracy in %, mean ± sample std (ddof=1) over n iterations."


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


def ordering(weighted: pd.DataFrame, setting: str = "hazardous") -> str:
    """Whether ResiliNet >= deepFogGuard >= Vanilla holds under ``setting`` (the paper's claim).

    A pair is ordered only when Welch's t-test over the iterations puts it clear of the noise
    (resilinet_cli/stats.py); otherwise the sentence says "within noise", or, with fewer than
    two iterations, that there is no noise estimate. It never claims more than the numbers do.
    """
    rows = weighted[weighted["setting"] == setting].set_index("variant")
    chain = [v for v in ("resilinet", "deepfogguard", "vanilla") if v in rows.index]
    if len(chain) < 2:
        return f"Under {setting}: not enough variants to compare."
    parts, found = [], []
    for a, b in itertools.pairwise(chain):
        diff = stats.compare(_cell(rows.loc[a]), _cell(rows.loc[b]))
        left, right = f"{a} {100 * diff.a.mean:.2f}", f"{b} {100 * diff.b.mean:.2f}"
        if diff.p is None:
            parts.append(f"{left} vs {right}: no noise estimate ({diff.counts()})")
            found.append("unknown")
        elif not diff.clear:
            parts.append(
                f"{left} vs {right}: within noise ({diff.counts()}, {stats.format_p(diff.p)})"
            )
            found.append("noise")
        else:
            sign = ">" if diff.delta > 0 else "<"
            parts.append(f"{left} {sign} {right} ({diff.counts()}, {stats.format_p(diff.p)})")
            found.append("holds" if diff.delta > 0 else "reversed")
    if "reversed" in found:
        verdict = f"the paper's ordering does NOT hold on this run ({stats.TEST})"
    elif all(state == "holds" for state in found):
        verdict = f"the paper's ordering holds ({stats.TEST})"
    elif all(state == "unknown" for state in found):
        verdict = "one iteration gives no noise estimate, so no ordering is claimed"
    else:
        verdict = f"this run does not settle the paper's ordering ({stats.TEST})"
    return f"Under {setting}: {'; '.join(parts)} — {verdict}."


def _cell(row: pd.Series) -> stats.Cell:
    """A weighted-table row as a cell; a table without counts is one iteration per cell."""
    n = int(row["iterations"]) if "iterations" in row.index else 1
    std = float(row["std"]) if "std" in row.index else float("nan")
    return stats.Cell(float(row["mean"]), std, n)
