"""Figures of a run's result tables (docs/architecture.md §4), in the house style of
``figure_style``: one public function per figure, each writing a PNG and a PDF beside it.

The bar charts and the heatmap are built here by private ``_*_figure`` helpers, the line
figures by ``line_figures``; tests inspect the figures those return. Tables are read as
``figure_tables`` says.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import PercentFormatter

from resilinet_cli.errors import RunError
from resilinet_cli.results.figure_style import (
    ACCURACY_LABEL,
    ONE_COLUMN,
    SMALL_FONT_SIZE,
    TWO_COLUMNS,
    WEIGHTED_LABEL,
    legend_above,
    new_figure,
    panels,
    paper_style,
    percent_axis,
    save_figure,
    setting_colours,
    spread_note,
    variant_name,
)
from resilinet_cli.results.figure_tables import (
    factor_name,
    numeric_table,
    ordered,
    select_series,
    select_variant,
    series_keys,
    series_label,
    series_styles,
    setting_name,
    wrap_links,
)
from resilinet_cli.results.line_figures import (
    epoch_lines_figure,
    failout_lines_figure,
    sweep_lines_figure,
)
from resilinet_cli.results.table_columns import factor_column

# One labelled column per combination is readable up to about this many (2^6); a generated
# topology with many failable nodes has thousands, which no figure can show (combinations.csv).
HEATMAP_MAX_COMBINATIONS = 64
# Up to this many (three failable nodes) cells hold their numbers and columns name the dead
# nodes; more columns are too narrow, so they are named by their bits.
HEATMAP_NAMED_COMBINATIONS = 8
HEATMAP_COLOURMAP = "viridis"  # perceptually uniform and readable with colour blindness

GUESS_HATCH = "////"

_GUESS_TEXT = (
    "guess: no information flow (no path of alive nodes), so the model cannot run; "
    "its prediction is drawn from the training class frequencies"
)


# --------------------------------------------------------------------------------------------
# Public API: one function per figure, each returning the PNG path it wrote (the PDF is beside).
# --------------------------------------------------------------------------------------------


def weighted_bars(
    table: pd.DataFrame, path: Path, factor_label: str | None = None, *, zoom: bool = False
) -> Path:
    """Grouped bars: weighted accuracy per reliability setting (groups) and variant (bars)."""
    return save_figure(_weighted_bars_figure(table, factor_label, zoom=zoom), path)


def combination_heatmap(
    table: pd.DataFrame, path: Path, nodes: Sequence[str], factor_label: str | None = None
) -> Path:
    """Heatmap: accuracy per failure combination (columns) and variant (rows), annotated.

    Cells whose ``information_flow`` column is False are hatched and labelled as guesses. The
    colour scale is always 0 to 100 %: the cells print their values, so it needs no zoom.
    """
    return save_figure(_combination_heatmap_figure(table, nodes, factor_label), path)


def failout_lines(table: pd.DataFrame, path: Path, *, zoom: bool = False) -> Path:
    """Weighted accuracy against failout rate, one line per setting; 'variable' as markers."""
    return save_figure(failout_lines_figure(table, zoom=zoom), path)


def factor_bars(
    table: pd.DataFrame,
    factor: str,
    path: Path,
    labels: dict[str, str] | None = None,
    factor_label: str | None = None,
    *,
    zoom: bool = False,
) -> Path:
    """Bars per factor level (groups) and reliability setting (bars); ``labels`` renames levels."""
    return save_figure(_factor_bars_figure(table, factor, labels, factor_label, zoom=zoom), path)


def epoch_lines(table: pd.DataFrame, path: Path) -> Path:
    """Weighted accuracy against epochs, a panel per setting, a line and 95 % band per variant.

    Its axis always fits the data (lines, not bars), so it needs no zoom.
    """
    return save_figure(epoch_lines_figure(table), path)


def sweep_lines(table: pd.DataFrame, swept: Sequence[str], path: Path) -> Path:
    """Weighted accuracy against a ``-m`` sweep's values: a panel per setting, a line with
    std error bars per variant (``swept``: the table's columns of swept keys)."""
    return save_figure(sweep_lines_figure(table, list(swept)), path)


def dead_label(bits: str, nodes: Sequence[str]) -> str:
    """'none dead', 'edge dead', 'fog1, edge dead': the nodes whose bit is 0 (1 = alive)."""
    bits = str(bits)
    if len(bits) != len(nodes) or set(bits) - {"0", "1"}:
        raise RunError(
            f"failure combination '{bits}' does not match the failable nodes (and links) "
            f"{', '.join(nodes)} (one bit each, 1 = alive)"
        )
    dead = [node for node, bit in zip(nodes, bits, strict=True) if bit == "0"]
    return f"{', '.join(dead)} dead" if dead else "none dead"


# --------------------------------------------------------------------------------------------
# Figure builders (no file I/O; tests inspect the returned figures).
# --------------------------------------------------------------------------------------------


@paper_style
def _weighted_bars_figure(
    table: pd.DataFrame, factor_label: str | None = None, *, zoom: bool = False
) -> Figure:
    table = numeric_table(table, ["mean", "std", "iterations"])
    factor = factor_column(table)
    settings = ordered(table["setting"])
    series = series_keys(table, factor)
    count = len(settings) * len(series)
    fig, ax = new_figure(_width_for(count), 2.8)
    x = np.arange(len(settings))
    step = 0.8 / len(series)
    labelled = not zoom and _bars_fit_labels(fig.get_figwidth(), count)
    for i, (key, label, colour, hatch) in enumerate(series_styles(series)):
        rows = select_series(table, factor, key).set_index("setting").reindex(settings)
        means, stds = 100 * rows["mean"].to_numpy(float), 100 * rows["std"].to_numpy(float)
        offset = (i - (len(series) - 1) / 2) * step
        bars = _bars(ax, x + offset, means, step, label, colour, hatch)
        _error_bars(ax, x + offset, means, stds)
        if labelled:
            _value_labels(ax, bars, means)
    ax.set_xticks(x, [setting_name(s) for s in settings])
    ax.set_xlabel("reliability setting")
    percent_axis(ax, WEIGHTED_LABEL, table, zoom=zoom)
    heading = f"variant, {factor_name(factor, factor_label)}\n" if factor else ""
    legend_above(fig, *ax.get_legend_handles_labels(), title=heading + spread_note(table))
    return fig


@paper_style
def _combination_heatmap_figure(
    table: pd.DataFrame, nodes: Sequence[str], factor_label: str | None = None
) -> Figure:
    table = numeric_table(table, ["mean", "std"])
    factor = factor_column(table)
    combos = ordered(table["combination"].astype(str))
    series = series_keys(table, factor)
    grid = 100 * _cells(table, factor, series, combos, table["mean"])
    guesses = _cells(table, factor, series, combos, _guesses(table)) == 1
    width = ONE_COLUMN if len(combos) <= 4 else TWO_COLUMNS
    fig, ax = new_figure(width, 1.6 + 0.3 * len(series) + (0.5 if guesses.any() else 0.0))
    colours = colormaps[HEATMAP_COLOURMAP]
    image = ax.imshow(grid, cmap=colours, vmin=0, vmax=100, aspect="auto")
    annotated = len(combos) <= HEATMAP_NAMED_COMBINATIONS
    for r, c in np.ndindex(grid.shape):
        if math.isnan(grid[r, c]):
            continue
        ink = "black" if grid[r, c] > 60 else "white"
        if guesses[r, c]:
            ax.add_patch(_guess_patch(c, r, ink))
        if annotated:
            text = f"{grid[r, c]:.1f}\nguess" if guesses[r, c] else f"{grid[r, c]:.1f}"
            ax.text(c, r, text, ha="center", va="center", color=ink, size=SMALL_FONT_SIZE)
    for r in range(1, len(series)):
        if series[r][0] != series[r - 1][0]:  # a white rule between variants' factor levels
            ax.axhline(r - 0.5, color="white", lw=2)
    if annotated:
        columns = [dead_label(c, nodes) for c in combos]
        ax.set_xticks(range(len(combos)), columns, rotation=35, ha="right", rotation_mode="anchor")
        ax.set_xlabel("failure combination (nodes that are dead)")
    else:  # too narrow for node names: the bit strings of combinations.csv
        ax.set_xticks(range(len(combos)), combos, rotation=90, family="monospace")
        ax.set_xlabel(f"failure combination (1 = alive: {' '.join(nodes)})")
    ax.set_yticks(range(len(series)), [series_label(key) for key in series])
    ax.set_ylabel(f"variant, {factor_name(factor, factor_label)}" if factor else "variant")
    ax.tick_params(length=0)
    bar = fig.colorbar(image, ax=ax, format=PercentFormatter(100, decimals=0), pad=0.02)
    bar.set_label(ACCURACY_LABEL)
    if guesses.any():
        sample = Patch(facecolor=colours(0.1), edgecolor="white", hatch=GUESS_HATCH, lw=0)
        note = textwrap.fill(_GUESS_TEXT, 16 * round(width))  # about 16 characters an inch
        fig.legend([sample], [note], loc="outside lower center", frameon=False)
    return fig


@paper_style
def _factor_bars_figure(
    table: pd.DataFrame,
    factor: str,
    labels: dict[str, str] | None = None,
    factor_label: str | None = None,
    *,
    zoom: bool = False,
) -> Figure:
    if factor not in table.columns:
        raise RunError(f"no '{factor}' column in the table; got {', '.join(table.columns)}")
    table = numeric_table(table, ["mean", "std", "iterations"])
    table = table.assign(**{factor: table[factor].astype(str)})
    labels = labels or {}
    settings = ordered(table["setting"])
    variants = ordered(table["variant"])
    levels = {v: ordered(select_variant(table, v)[factor]) for v in variants}
    count = sum(len(levels[v]) for v in variants) * len(settings)
    width = _width_for(count) if len(variants) == 1 else TWO_COLUMNS
    ratios = [len(levels[v]) for v in variants]
    fig, axes = panels(width, 2.9, len(variants), width_ratios=ratios)
    labelled = not zoom and _bars_fit_labels(width, count)
    colours = setting_colours(len(settings))
    step = 0.8 / len(settings)
    for ax, variant in zip(axes, variants, strict=True):
        rows = select_variant(table, variant)
        x = np.arange(len(levels[variant]))
        for i, setting in enumerate(settings):
            cells = rows[rows["setting"] == setting].set_index(factor).reindex(levels[variant])
            means = 100 * cells["mean"].to_numpy(float)
            stds = 100 * cells["std"].to_numpy(float)
            offset = (i - (len(settings) - 1) / 2) * step
            bars = _bars(ax, x + offset, means, step, setting_name(setting), colours[i], "")
            _error_bars(ax, x + offset, means, stds)
            if labelled:
                _value_labels(ax, bars, means)
        names = [wrap_links(labels.get(level, level)) for level in levels[variant]]
        long = max(len(line) for n in names for line in n.splitlines()) > 12
        ax.set_xticks(x, names, rotation=25 if long else 0, ha="right" if long else "center")
        ax.set_xlabel(factor_name(factor, factor_label))
        percent_axis(ax, WEIGHTED_LABEL if ax is axes[0] else "", table, zoom=zoom)
        ax.set_title(variant_name(variant))
    title = f"reliability setting\n{spread_note(table)}"
    legend_above(fig, *axes[0].get_legend_handles_labels(), title=title)
    return fig


# --------------------------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------------------------


def _width_for(bars: int) -> float:
    """One column holds up to 16 bars (four settings of four variants); more need two."""
    return ONE_COLUMN if bars <= 16 else TWO_COLUMNS


def _bars_fit_labels(width: float, bars: int) -> bool:
    """Whether each bar is wide enough (about 0.12 in) to hold its value, rotated, at 7 pt."""
    return (width - 0.8) * 0.8 / bars >= 0.12


def _cells(
    table: pd.DataFrame,
    factor: str | None,
    series: list[tuple[str, ...]],
    combos: list[str],
    values: pd.Series,
) -> np.ndarray:
    """A (series x combination) grid of ``values`` (one per table row); NaN where none."""
    grid = np.full((len(series), len(combos)), np.nan)
    table = table.assign(_value=np.asarray(values, float))
    for r, key in enumerate(series):
        rows = select_series(table, factor, key)
        cells = rows.set_index(rows["combination"].astype(str))["_value"].reindex(combos)
        grid[r] = cells.to_numpy(float)
    return grid


def _guesses(table: pd.DataFrame) -> pd.Series:
    """1 where a row's ``information_flow`` is False (the accuracy of a guess), else 0."""
    if "information_flow" not in table.columns:
        return pd.Series(0, index=table.index)
    flow = table["information_flow"].astype(str).str.strip().str.lower()
    return flow.isin(["false", "0"]).astype(int)


def _guess_patch(column: int, row: int, ink: str) -> Rectangle:
    """A hatched cell: its accuracy is the class-prior guess of a model that cannot run."""
    return Rectangle(
        (column - 0.5, row - 0.5),
        1,
        1,
        fill=False,
        hatch=GUESS_HATCH,
        edgecolor=ink,
        lw=0,
        alpha=0.35,
        label="guess",
    )


def _bars(
    ax: Axes, x: np.ndarray, means: np.ndarray, width: float, label: str, colour: str, hatch: str
) -> BarContainer:
    return ax.bar(
        x,
        means,
        width,
        label=label,
        color=colour,
        hatch=hatch or None,
        edgecolor="white",
        lw=0.4,
    )


def _error_bars(ax: Axes, x: np.ndarray, means: np.ndarray, stds: np.ndarray) -> None:
    keep = ~np.isnan(stds) & ~np.isnan(means)
    if keep.any():
        ax.errorbar(
            x[keep],
            means[keep],
            yerr=stds[keep],
            fmt="none",
            ecolor="black",
            elinewidth=0.7,
            capsize=1.5,
            capthick=0.7,
        )


def _value_labels(ax: Axes, bars: BarContainer, means: np.ndarray) -> None:
    """The value in the middle of each bar tall enough to hold it (error bars sit on top).

    On a hatched bar the text sits on a patch of the bar's colour, so that it stays readable.
    """
    labels = [f"{m:.1f}" if m >= 15 else "" for m in np.nan_to_num(means)]
    texts = ax.bar_label(
        bars, labels=labels, label_type="center", rotation=90, size=SMALL_FONT_SIZE
    )
    for text, bar in zip(texts, bars, strict=True):
        red, green, blue, _ = bar.get_facecolor()
        text.set_color("black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.6 else "white")
        if bar.get_hatch():
            text.set_bbox({"facecolor": bar.get_facecolor(), "edgecolor": "none", "pad": 0.5})
