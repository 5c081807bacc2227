"""What one dead sensor costs: a fan-in run's accuracy with each device dead alone.

docs/sensors.md. Per variant, the accuracy with every node and device alive, then with exactly
one device dead (every other node and device alive), each as mean ± sample std over the
iterations, and its cost: the paired drop from all present, in points. DDNN reports its
devices so (each device missing beside all present); the weighted tables average it away.
Each variant's costs are tested against the reference variant's, paired by seed, with p
adjusted over the page's family of such tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from resilinet_cli import stats
from resilinet_cli.topology import Topology

ALL_PRESENT = "none"  # the ``dead`` of the row with every device alive


def device_costs(results: Mapping[Any, pd.DataFrame], topology: Topology) -> pd.DataFrame:
    """Per unit (variant, iteration) and ``dead`` device (or ``none``): its accuracy, and its
    cost, the drop from the same unit with every device present, in points."""
    rows = []
    columns = list(topology.columns)
    for unit, frame in results.items():
        flags = frame[columns].astype(int)
        everyone = flags.all(axis=1)
        present = frame.loc[everyone, "accuracy"].item()
        for dead in (ALL_PRESENT, *topology.devices):
            row = everyone
            if dead != ALL_PRESENT:
                row = flags.drop(columns=[dead]).all(axis=1) & (flags[dead] == 0)
            accuracy = frame.loc[row, "accuracy"].item()
            rows.append({"variant": unit.variant, "iteration": unit.iteration, "dead": dead,
                         "accuracy": accuracy, "cost": 100 * (present - accuracy)})  # fmt: skip
    return pd.DataFrame(rows)


def device_rows(results: Mapping[Any, pd.DataFrame], topology: Topology) -> pd.DataFrame:
    """One row per variant and dead device: mean, std and iterations of the accuracy, and of
    its cost against all present (``cost_mean``, ``cost_std``), in points."""
    costs = device_costs(results, topology)
    if costs.empty:
        return pd.DataFrame()
    summary = costs.groupby(["variant", "dead"], sort=False).agg(
        mean=("accuracy", "mean"),
        std=("accuracy", lambda v: v.std(ddof=1)),
        iterations=("accuracy", "count"),
        cost_mean=("cost", "mean"),
        cost_std=("cost", lambda v: v.std(ddof=1)),
    )
    return summary.reset_index()


def paired_costs(
    results: Mapping[Any, pd.DataFrame], topology: Topology, reference: str, correction: str
) -> pd.DataFrame:
    """Each variant's cost of each dead device against ``reference``'s, paired by iteration:
    the mean difference in points (positive: the device costs the variant more), the paired
    t-test's p, and p adjusted by ``correction`` over the whole table (one family)."""
    costs = device_costs(results, topology)
    if costs.empty or reference not in set(costs["variant"]):
        return pd.DataFrame()
    costs = costs[costs["dead"] != ALL_PRESENT]
    by = costs.set_index(["variant", "dead", "iteration"])["cost"].sort_index()
    rows = []
    for variant in dict.fromkeys(costs["variant"]):
        if variant == reference:
            continue
        for dead in topology.devices:
            mine, theirs = by.loc[(variant, dead)], by.loc[(reference, dead)]
            shared = sorted(set(mine.index) & set(theirs.index))
            test = stats.paired([mine[i] for i in shared], [theirs[i] for i in shared])
            rows.append({"variant": variant, "reference": reference, "dead": dead,
                         "pairs": test.n, "difference": test.mean, "p": test.p})  # fmt: skip
    if not rows:  # the reference alone: nothing to compare
        return pd.DataFrame()
    table = pd.DataFrame(rows)
    tested = table["p"].notna()
    table["p_adjusted"] = None
    if tested.any():
        table.loc[tested, "p_adjusted"] = stats.adjust(list(table.loc[tested, "p"]), correction)
    return table


def paired_markdown(table: pd.DataFrame, correction: str) -> str:
    """One line per variant: each device's cost difference against the reference, with p."""
    if table.empty:
        return ""
    reference = table["reference"].iloc[0]
    tests = int(table["p"].notna().sum())
    lines = [f"Cost of one dead sensor against {reference}'s, paired by seed (points; p "
             f"{stats.CORRECTION_NAMES[correction]}-adjusted over {tests} "
             f"test{'' if tests == 1 else 's'}):", ""]  # fmt: skip
    for variant, group in table.groupby("variant", sort=False):
        cells = []
        for _, row in group.iterrows():
            p = "n/a" if pd.isna(row["p_adjusted"]) else stats.p_text(float(row["p_adjusted"]))
            cells.append(f"{row['dead']} {row['difference']:+.2f} (p {p})")
        lines.append(f"- {variant}: " + ", ".join(cells))
    return "\n".join(lines)


def device_markdown(table: pd.DataFrame) -> str:
    """The table as Markdown: a row per variant, a column per dead device, in %; the cost in
    points under each accuracy."""
    if table.empty:
        return ""
    lines = []
    deads = list(dict.fromkeys(table["dead"]))
    header = [
        "variant",
        "n",
        *(("all present" if d == ALL_PRESENT else f"{d} dead") for d in deads),
    ]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join([":---", "---:", *("---:" for _ in deads)]) + "|")
    for variant, group in table.groupby("variant", sort=False):
        cells = [variant, str(int(group["iterations"].iloc[0]))]
        for dead in deads:
            row = group[group["dead"] == dead].iloc[0]
            cell = _pct(row["mean"], row["std"])
            if dead != ALL_PRESENT:
                cell += f" ({-row['cost_mean']:+.2f})".replace("-", "\u2212")
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        "_Accuracy in %, mean ± sample std over n iterations, with every node alive and the one "
        "device named dead; in brackets, the mean change from all present, in points._"
    )
    return "\n".join(lines) + "\n\n" + note


def _pct(mean: float, std: float) -> str:
    return f"{100 * mean:.2f}" + ("" if pd.isna(std) else f" ± {100 * std:.2f}")
