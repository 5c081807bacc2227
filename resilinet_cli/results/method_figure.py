"""The methods run's figure: weighted accuracy under one setting against extra cost, one point
per variant and inference rule, with the std over iterations as error bars."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from resilinet_cli.results.figure_style import (
    new_figure,
    paper_style,
    save_figure,
    variant_colour,
)

MARKERS = {"threshold": "s"}  # a threshold rule's square beside its fallback's circle
COST_LABELS = {
    "params": "extra parameters (all devices)",
    "flops": "extra FLOPs per example (all devices)",
    "bytes": "extra bytes per example (all links)",
}


def cost_figure(
    table: pd.DataFrame, setting: str, cost: str, path: Path, *, zoom: bool = False
) -> Path:
    """Write ``path`` (PNG and PDF) from the methods table (variant_comparison.table)."""
    fig = _draw(table, setting, cost, zoom)
    return save_figure(fig, path)


@paper_style
def _draw(table: pd.DataFrame, setting: str, cost: str, zoom: bool):  # type: ignore[no-untyped-def]
    from matplotlib.ticker import PercentFormatter

    fig, ax = new_figure(7, 3.5)
    means, spreads = table[f"{setting}_mean"] * 100, table[f"{setting}_std"].fillna(0) * 100
    extra = table[f"extra_{cost}"]
    placed: dict[float, int] = {}  # rows of one variant share their cost: stack their labels
    rows = zip(extra, means, spreads, table["row"], table["rule"], table["variant"], strict=True)
    for x, y, s, name, rule, variant in rows:
        marker, colour = MARKERS.get(rule, "o"), variant_colour(variant)
        ax.errorbar([x], [y], yerr=[s], fmt=marker, color=colour, capsize=3)
        above = placed.get(float(x), 0)
        placed[float(x)] = above + 1
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4 + 10 * above),
                    fontsize=7)  # fmt: skip
    if not zoom:
        ax.set_ylim(0, max(100.0, float((means + spreads).max()) + 1))
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.set_ylabel(f"weighted accuracy, {setting}")
    ax.set_xlabel(COST_LABELS[cost])
    ax.grid(alpha=0.3, lw=0.5)
    return fig
