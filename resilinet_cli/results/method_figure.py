"""The methods run's figure: weighted accuracy under one setting against extra cost, one point
per variant and inference rule, with the std over iterations as error bars, named in a legend
beside the axes (labels on the points overlap where rows share a cost)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from resilinet_cli.results.figure_style import (
    VARIANT_COLOURS,
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

    fig, ax = new_figure(8, 3.8)
    means, spreads = table[f"{setting}_mean"] * 100, table[f"{setting}_std"].fillna(0) * 100
    extra = table[f"extra_{cost}"]
    styles = row_styles(list(table["variant"]))
    rows = zip(extra, means, spreads, table["row"], table["rule"], table["variant"], strict=True)
    for x, y, s, name, rule, variant in rows:
        colour, marker = styles[variant]
        ax.errorbar([x], [y], yerr=[s], fmt=MARKERS.get(rule, marker), color=colour, capsize=3,
                    label=name)  # fmt: skip
    if not zoom:
        ax.set_ylim(0, max(100.0, float((means + spreads).max()) + 1))
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.set_ylabel(f"weighted accuracy, {setting}")
    ax.set_xlabel(COST_LABELS[cost])
    ax.grid(alpha=0.3, lw=0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    return fig


# markers of the variants a config defines beyond those with a colour of their own, in order
DEFINED_MARKERS = ("^", "v", "D", "P", "X", "*", "h", "<", ">", "p")


def row_styles(variants: list[str]) -> dict[str, tuple[str, str]]:
    """(colour, marker) per variant: a variant with a colour of its own (the paper's four, the
    exits variants) is a circle of that colour; another one defined in the config takes its
    base's colour and a marker of its own (``vanilla+standby``: Vanilla's blue, a triangle)."""
    styles: dict[str, tuple[str, str]] = {}
    others = 0
    for variant in dict.fromkeys(variants):
        if variant in VARIANT_COLOURS:
            styles[variant] = (VARIANT_COLOURS[variant], "o")
            continue
        styles[variant] = (variant_colour(variant.partition("+")[0]), DEFINED_MARKERS[others % 10])
        others += 1
    return styles
