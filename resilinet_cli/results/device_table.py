"""What one dead sensor costs: a fan-in run's accuracy with each device dead alone.

docs/sensors.md. Per variant, the accuracy with every node and device alive, then with exactly
one device dead (every other node and device alive), each as mean ± sample std over the
iterations, and its cost: the paired drop from all present, in points. DDNN reports its
devices so (each device missing beside all present); the weighted tables average it away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from resilinet_cli.topology import Topology

ALL_PRESENT = "none"  # the ``dead`` of the row with every device alive


def device_rows(results: Mapping[Any, pd.DataFrame], topology: Topology) -> pd.DataFrame:
    """One row per variant (and level) and dead device: mean, std and iterations of the
    accuracy, and of its cost against all present (``cost_mean``, ``cost_std``), in points."""
    rows = []
    columns = list(topology.columns)
    for unit, frame in results.items():
        flags = frame[columns].astype(int)
        everyone = frame.loc[flags.all(axis=1), "accuracy"].item()
        for dead in (ALL_PRESENT, *topology.devices):
            alive = flags.drop(columns=[dead]).all(axis=1) if dead != ALL_PRESENT else None
            row = flags.all(axis=1) if alive is None else alive & (flags[dead] == 0)
            accuracy = frame.loc[row, "accuracy"].item()
            rows.append({"variant": unit.variant, "dead": dead, "accuracy": accuracy,
                         "cost": 100 * (everyone - accuracy)})  # fmt: skip
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).groupby(["variant", "dead"], sort=False)
    summary = table.agg(
        mean=("accuracy", "mean"),
        std=("accuracy", lambda v: v.std(ddof=1)),
        iterations=("accuracy", "count"),
        cost_mean=("cost", "mean"),
        cost_std=("cost", lambda v: v.std(ddof=1)),
    )
    return summary.reset_index()


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
