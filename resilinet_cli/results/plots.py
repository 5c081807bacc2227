"""Figures of a run's result tables (docs/architecture.md §4), drawn to go into a paper.

- **Files.** Each figure is written twice under one stem: a PDF (vector, for a paper) and a PNG
  (for REPORT.md), each atomically. The PDF carries no creation date, so that rebuilding a
  report leaves it byte-identical.
- **Size.** A figure is one column (3.5 in) or two columns (7 in) wide, by how much it holds,
  with 7 to 8 pt text; it is saved at exactly that size.
- **Names.** No run name and no title: a paper's caption says what a figure shows. Variants
  are named as in the paper (``VARIANT_NAMES``); panels of one figure are titled by variant or
  reliability setting.
- **Colours.** Each variant has one colour in every figure, from the Okabe-Ito palette, and the
  four have no red/green pair (``VARIANT_COLOURS``). Reliability settings are ordered, so they
  are greys from light (no failure) to black (the harshest). Factor levels of one variant are
  hatched, not recoloured. Heatmaps use viridis.
- **Spread.** Every legend says what its error bars or bands show and over how many iterations.
- **Zoom.** ``zoom=True`` fits the accuracy axis to the data, so that close values can be told
  apart; the axis label then says it does not start at 0. By default bars start at 0.

Every figure is a ``matplotlib.figure.Figure`` drawn on the Agg canvas directly, never through
``pyplot``: nothing is registered in pyplot's figure manager, so nothing leaks between calls and
the global backend is left alone. Each public function builds its figure with a private
``_*_figure`` helper (which tests inspect) and writes it with ``_save``.

Input tables are the CSVs of ``report.write_tables``, possibly read with ``dtype=str``:
numbers are coerced here. Any column between ``variant`` and ``setting`` (or ``combination``) is
an experiment's factor (the first) and its details (such as a skip subset's bits): the factor
splits the variants. Figures name it by ``factor_label``, which the experiment kind supplies.
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import ParamSpec

import numpy as np
import pandas as pd
from matplotlib import colormaps, rc_context
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import PercentFormatter

from resilinet_cli import atomic
from resilinet_cli.errors import RunError
from resilinet_cli.results.table_columns import factor_column

VARIABLE = "variable"
MINUS = "\u2212"  # typographic minus for labels
DPI = 150  # of the PNG; the PDF is vector

ONE_COLUMN = 3.5  # inches: the width of one column of a two-column paper
TWO_COLUMNS = 7.0  # inches: the full text width
FONT_SIZE = 8
SMALL_FONT_SIZE = 7
STYLE = {
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE,
    "axes.labelsize": FONT_SIZE,
    "figure.titlesize": FONT_SIZE,
    "legend.fontsize": SMALL_FONT_SIZE,
    "legend.title_fontsize": SMALL_FONT_SIZE,
    "xtick.labelsize": SMALL_FONT_SIZE,
    "ytick.labelsize": SMALL_FONT_SIZE,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.2,
    "hatch.linewidth": 0.6,
    "pdf.fonttype": 42,  # TrueType text in the PDF: editable and accepted by publishers
}

# One labelled column per combination is readable up to about this many (2^6); a generated
# topology with many failable nodes has thousands, which no figure can show (combinations.csv).
HEATMAP_MAX_COMBINATIONS = 64
# Up to this many (three failable nodes) cells hold their numbers and columns name the dead
# nodes; more columns are too narrow, so they are named by their bits.
HEATMAP_NAMED_COMBINATIONS = 8
HEATMAP_COLOURMAP = "viridis"  # perceptually uniform and readable with colour blindness

# The paper's names of the variants (docs/architecture.md §1 has the code names).
VARIANT_NAMES = {
    "vanilla": "Vanilla",
    "deepfogguard": "deepFogGuard",
    "resilinet": "ResiliNet",
    "resilinet_plus": "ResiliNet+",
}
# Okabe & Ito's colour-blind-safe palette. The variants take four of its colours with no
# red/green pair among them (no bluish green, no vermillion); ResiliNet and deepFogGuard,
# which the paper's claim compares, take blue and orange.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
VARIANT_COLOURS = {
    "vanilla": "#56B4E9",
    "deepfogguard": "#E69F00",
    "resilinet": "#0072B2",
    "resilinet_plus": "#CC79A7",
}
LEVEL_HATCHES = ("", "////", "....", "xxxx", "\\\\\\\\", "oooo")  # a variant's factor levels
GUESS_HATCH = "////"
SETTING_MARKERS = ("o", "s", "^", "v", "P", "X")

_ACCURACY_LABEL = "accuracy (%)"
_WEIGHTED_LABEL = "weighted accuracy (%)"
_GUESS_TEXT = (
    "guess: no information flow (no path of alive nodes), so the model cannot run; "
    "its prediction is drawn from the training class frequencies"
)

_Args = ParamSpec("_Args")


# --------------------------------------------------------------------------------------------
# Public API: one function per figure, each returning the PNG path it wrote (the PDF is beside).
# --------------------------------------------------------------------------------------------


def weighted_bars(
    table: pd.DataFrame, path: Path, factor_label: str | None = None, *, zoom: bool = False
) -> Path:
    """Grouped bars: weighted accuracy per reliability setting (groups) and variant (bars)."""
    return _save(_weighted_bars_figure(table, factor_label, zoom=zoom), path)


def combination_heatmap(
    table: pd.DataFrame, path: Path, nodes: Sequence[str], factor_label: str | None = None
) -> Path:
    """Heatmap: accuracy per failure combination (columns) and variant (rows), annotated.

    Cells whose ``information_flow`` column is False are hatched and labelled as guesses. The
    colour scale is always 0 to 100 %: the cells print their values, so it needs no zoom.
    """
    return _save(_combination_heatmap_figure(table, nodes, factor_label), path)


def failout_lines(table: pd.DataFrame, path: Path, *, zoom: bool = False) -> Path:
    """Weighted accuracy against failout rate, one line per setting; 'variable' as markers."""
    return _save(_failout_lines_figure(table, zoom=zoom), path)


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
    return _save(_factor_bars_figure(table, factor, labels, factor_label, zoom=zoom), path)


def epoch_lines(table: pd.DataFrame, path: Path) -> Path:
    """Weighted accuracy against epochs, a panel per setting, a line and 95 % band per variant.

    Its axis always fits the data (lines, not bars), so it needs no zoom.
    """
    return _save(_epoch_lines_figure(table), path)


def sweep_lines(table: pd.DataFrame, swept: Sequence[str], path: Path) -> Path:
    """Weighted accuracy against a ``-m`` sweep's values: a panel per setting, a line with
    std error bars per variant (``swept``: the table's columns of swept keys)."""
    return _save(_sweep_lines_figure(table, list(swept)), path)


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


def variant_name(variant: str) -> str:
    """The paper's name of a variant ('resilinet_plus' -> 'ResiliNet+'); others unchanged."""
    return VARIANT_NAMES.get(variant, variant)


def variant_colour(variant: str) -> str:
    """A variant's colour, the same in every figure (black for a variant of other code)."""
    return VARIANT_COLOURS.get(variant, "#000000")


def setting_colours(count: int) -> list[str]:
    """Greys from light to black for ``count`` ordered reliability settings (the last harshest)."""
    levels = np.linspace(0.72, 0.0, count) if count > 1 else [0.0]
    return [to_hex((level, level, level)).upper() for level in levels]


# --------------------------------------------------------------------------------------------
# Figure builders (no file I/O; tests inspect the returned figures).
# --------------------------------------------------------------------------------------------


def _paper_style(build: Callable[_Args, Figure]) -> Callable[_Args, Figure]:
    """Build a figure with the paper's font sizes (rcParams are read as artists are made)."""

    @functools.wraps(build)
    def styled(*args: _Args.args, **kwargs: _Args.kwargs) -> Figure:
        with rc_context(STYLE):
            fig = build(*args, **kwargs)
        for ax in fig.axes:  # tick labels are made lazily, maybe outside this context
            ax.tick_params(labelsize=SMALL_FONT_SIZE)
        return fig

    return styled


@_paper_style
def _weighted_bars_figure(
    table: pd.DataFrame, factor_label: str | None = None, *, zoom: bool = False
) -> Figure:
    table = _numeric(table, ["mean", "std", "iterations"])
    factor = factor_column(table)
    settings = _ordered(table["setting"])
    series = _series_keys(table, factor)
    count = len(settings) * len(series)
    fig, ax = _figure(_width_for(count), 2.8)
    x = np.arange(len(settings))
    step = 0.8 / len(series)
    labelled = not zoom and _bars_fit_labels(fig.get_figwidth(), count)
    for i, (key, label, colour, hatch) in enumerate(_series_styles(series)):
        rows = _select(table, factor, key).set_index("setting").reindex(settings)
        means, stds = 100 * rows["mean"].to_numpy(float), 100 * rows["std"].to_numpy(float)
        offset = (i - (len(series) - 1) / 2) * step
        bars = _bars(ax, x + offset, means, step, label, colour, hatch)
        _error_bars(ax, x + offset, means, stds)
        if labelled:
            _value_labels(ax, bars, means)
    ax.set_xticks(x, [_setting_name(s) for s in settings])
    ax.set_xlabel("reliability setting")
    _percent_axis(ax, _WEIGHTED_LABEL, table, zoom=zoom)
    heading = f"variant, {_factor_name(factor, factor_label)}\n" if factor else ""
    _legend(fig, *ax.get_legend_handles_labels(), title=heading + _spread_note(table))
    return fig


@_paper_style
def _combination_heatmap_figure(
    table: pd.DataFrame, nodes: Sequence[str], factor_label: str | None = None
) -> Figure:
    table = _numeric(table, ["mean", "std"])
    factor = factor_column(table)
    combos = _ordered(table["combination"].astype(str))
    series = _series_keys(table, factor)
    grid = 100 * _cells(table, factor, series, combos, table["mean"])
    guesses = _cells(table, factor, series, combos, _guesses(table)) == 1
    width = ONE_COLUMN if len(combos) <= 4 else TWO_COLUMNS
    fig, ax = _figure(width, 1.6 + 0.3 * len(series) + (0.5 if guesses.any() else 0.0))
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
    ax.set_yticks(range(len(series)), [_series_label(key) for key in series])
    ax.set_ylabel(f"variant, {_factor_name(factor, factor_label)}" if factor else "variant")
    ax.tick_params(length=0)
    bar = fig.colorbar(image, ax=ax, format=PercentFormatter(100, decimals=0), pad=0.02)
    bar.set_label(_ACCURACY_LABEL)
    if guesses.any():
        sample = Patch(facecolor=colours(0.1), edgecolor="white", hatch=GUESS_HATCH, lw=0)
        note = textwrap.fill(_GUESS_TEXT, 16 * round(width))  # about 16 characters an inch
        fig.legend([sample], [note], loc="outside lower center", frameon=False)
    return fig


@_paper_style
def _epoch_lines_figure(table: pd.DataFrame) -> Figure:
    """The table of ``epoch_curves.epoch_table``: bands are the mean's 95 % t-interval."""
    table = _numeric(table, ["mean", "ci95", "iterations"])
    # Numbers, not the text _numeric makes of a column it takes for a factor ("10" < "2").
    table = table.assign(epoch=pd.to_numeric(table["epoch"]))
    settings = _ordered(table["setting"])
    variants = _ordered(table["variant"])
    fig, axes = _panels(ONE_COLUMN if len(settings) <= 2 else TWO_COLUMNS, 2.6, len(settings))
    for ax, setting in zip(axes, settings, strict=True):
        for variant in variants:
            rows = table[(table["setting"] == setting) & (table["variant"] == variant)]
            rows = rows.sort_values("epoch")
            epochs = rows["epoch"].to_numpy(float)
            means = 100 * rows["mean"].to_numpy(float)
            half = 100 * rows["ci95"].fillna(0).to_numpy(float)
            colour = variant_colour(variant)
            label = variant_name(variant)
            ax.plot(epochs, means, color=colour, marker="o", markersize=2.5, label=label)
            low, high = np.clip(means - half, 0, 100), np.clip(means + half, 0, 100)
            ax.fill_between(epochs, low, high, color=colour, alpha=0.2, lw=0)
        ax.set_title(_setting_name(setting))
        ax.set_xlabel("epochs trained")
        ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
        ax.grid(alpha=0.3, lw=0.5)
    axes[0].set_ylabel("validation weighted accuracy (%)")
    n = _iterations_text(table["iterations"])
    note = f"lines: mean over n = {n} iterations; bands: 95 % t-interval of the mean"
    _legend(fig, *axes[0].get_legend_handles_labels(), title=note)
    return fig


@_paper_style
def _sweep_lines_figure(table: pd.DataFrame, swept: list[str]) -> Figure:
    """Values on the x axis in the sweep's order: at their numbers when a single swept key has
    numeric values, else evenly spaced and labelled ``key=value``."""
    table = _numeric(table, ["mean", "std", "iterations"])
    labels = table[swept].astype(str).agg(",".join, axis=1)
    order = list(dict.fromkeys(labels))
    numbers = pd.to_numeric(table[swept[0]], errors="coerce") if len(swept) == 1 else None
    if numbers is not None and not numbers.isna().any():
        x = numbers.to_numpy(float)
        ticks, names = sorted(set(x)), [f"{v:g}" for v in sorted(set(x))]
    else:
        x = np.array([order.index(label) for label in labels], dtype=float)
        ticks, names = list(range(len(order))), [_wrap(label) for label in order]
    table = table.assign(_x=x)
    settings, variants = _ordered(table["setting"]), _ordered(table["variant"])
    fig, axes = _panels(ONE_COLUMN if len(settings) <= 2 else TWO_COLUMNS, 2.6, len(settings))
    for ax, setting in zip(axes, settings, strict=True):
        for variant in variants:
            rows = table[(table["setting"] == setting) & (table["variant"] == variant)]
            rows = rows.sort_values("_x")
            ax.errorbar(
                rows["_x"].to_numpy(float),
                100 * rows["mean"].to_numpy(float),
                yerr=_yerr(rows["std"]),
                color=variant_colour(variant),
                marker="o",
                ms=3,
                capsize=2,
                elinewidth=0.8,
                label=variant_name(variant),
            )
        ax.set_xticks(ticks, names)
        ax.set_title(_setting_name(setting))
        ax.set_xlabel(", ".join(swept))
        ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
        ax.grid(alpha=0.3, lw=0.5)
    axes[0].set_ylabel("weighted accuracy (%)")
    note = f"mean ± sample std over n = {_iterations_text(table['iterations'])} iterations"
    _legend(fig, *axes[0].get_legend_handles_labels(), title=note)
    return fig


@_paper_style
def _failout_lines_figure(table: pd.DataFrame, *, zoom: bool = False) -> Figure:
    factor = "failout_survival"
    if factor not in table.columns:
        raise RunError(f"a failout plot needs a '{factor}' column; got {', '.join(table.columns)}")
    table = _numeric(table, ["mean", "std", "iterations"])
    level = table[factor].astype(str).str.strip()
    survival = pd.to_numeric(level, errors="coerce")
    bad = sorted(set(level[survival.isna() & (level != VARIABLE)]))
    if bad:
        raise RunError(f"unknown {factor} levels {bad}: expected numbers or '{VARIABLE}'")
    table = table.assign(_rate=1 - survival, _variable=level == VARIABLE)
    rates = sorted(set(table.loc[~table["_variable"], "_rate"].round(6)))
    has_variable = bool(table["_variable"].any())
    settings = _ordered(table["setting"])
    variants = _ordered(table["variant"])
    span = (max(rates) - min(rates)) if len(rates) > 1 else 0.5
    variable_x = (max(rates) if rates else 0.0) + max(0.15, 0.25 * span)
    colours = setting_colours(len(settings))

    fig, axes = _panels(ONE_COLUMN if len(variants) == 1 else TWO_COLUMNS, 2.9, len(variants))
    for ax, variant in zip(axes, variants, strict=True):
        rows = table[table["variant"].astype(str) == variant]
        for i, setting in enumerate(settings):
            marker = SETTING_MARKERS[i % len(SETTING_MARKERS)]
            fixed = rows[(rows["setting"] == setting) & ~rows["_variable"]].sort_values("_rate")
            ax.errorbar(
                fixed["_rate"].to_numpy(float),
                100 * fixed["mean"].to_numpy(float),
                yerr=_yerr(fixed["std"]),
                color=colours[i],
                marker=marker,
                ms=3.5,
                capsize=2,
                elinewidth=0.8,
                label=_setting_name(setting),
            )
            var = rows[(rows["setting"] == setting) & rows["_variable"]]
            if len(var):
                ax.errorbar(
                    [variable_x] * len(var),
                    100 * var["mean"].to_numpy(float),
                    yerr=_yerr(var["std"]),
                    color=colours[i],
                    marker="D",
                    ms=4.5,
                    mec="black",
                    mew=0.5,
                    capsize=2,
                    elinewidth=0.8,
                    ls="none",
                )
        ticks = [*rates, variable_x] if has_variable else rates
        names = [f"{100 * r:g}" for r in rates]  # in %: '5' fits beside '10' in one column
        if has_variable:
            names.append(f"variable\n= 1 {MINUS} reliability")
        ax.set_xticks(ticks, names)
        if has_variable and rates:
            ax.axvline((max(rates) + variable_x) / 2, color="grey", ls=":", lw=0.8)
        ax.set_xlabel(f"failout rate (%): 1 {MINUS} survival probability in training")
        ax.set_title(variant_name(variant))
        ax.grid(axis="y", alpha=0.3, lw=0.5)
    _percent_axis(axes[0], _WEIGHTED_LABEL, table, floor=True, zoom=zoom)
    handles, names = axes[0].get_legend_handles_labels()
    if has_variable:
        handles.append(
            Line2D([], [], color="grey", marker="D", mec="black", mew=0.5, ms=4.5, ls="none")
        )
        names.append(f"variable: each node's rate = 1 {MINUS} its reliability")
    _legend(fig, handles, names, title=f"reliability setting\n{_spread_note(table)}")
    return fig


@_paper_style
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
    table = _numeric(table, ["mean", "std", "iterations"])
    table = table.assign(**{factor: table[factor].astype(str)})
    labels = labels or {}
    settings = _ordered(table["setting"])
    variants = _ordered(table["variant"])
    levels = {v: _ordered(_select_variant(table, v)[factor]) for v in variants}
    count = sum(len(levels[v]) for v in variants) * len(settings)
    width = _width_for(count) if len(variants) == 1 else TWO_COLUMNS
    ratios = [len(levels[v]) for v in variants]
    fig, axes = _panels(width, 2.9, len(variants), width_ratios=ratios)
    labelled = not zoom and _bars_fit_labels(width, count)
    colours = setting_colours(len(settings))
    step = 0.8 / len(settings)
    for ax, variant in zip(axes, variants, strict=True):
        rows = _select_variant(table, variant)
        x = np.arange(len(levels[variant]))
        for i, setting in enumerate(settings):
            cells = rows[rows["setting"] == setting].set_index(factor).reindex(levels[variant])
            means = 100 * cells["mean"].to_numpy(float)
            stds = 100 * cells["std"].to_numpy(float)
            offset = (i - (len(settings) - 1) / 2) * step
            bars = _bars(ax, x + offset, means, step, _setting_name(setting), colours[i], "")
            _error_bars(ax, x + offset, means, stds)
            if labelled:
                _value_labels(ax, bars, means)
        names = [_wrap(labels.get(level, level)) for level in levels[variant]]
        long = max(len(line) for n in names for line in n.splitlines()) > 12
        ax.set_xticks(x, names, rotation=25 if long else 0, ha="right" if long else "center")
        ax.set_xlabel(_factor_name(factor, factor_label))
        _percent_axis(ax, _WEIGHTED_LABEL if ax is axes[0] else "", table, zoom=zoom)
        ax.set_title(variant_name(variant))
    title = f"reliability setting\n{_spread_note(table)}"
    _legend(fig, *axes[0].get_legend_handles_labels(), title=title)
    return fig


# --------------------------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------------------------


def _wrap(name: str) -> str:
    """'iot→fog2 + fog2→cloud' on two lines, so that link names need no rotated ticks."""
    return name.replace(" + ", "\n+ ")


def _factor_name(factor: str, label: str | None) -> str:
    """How a figure names a factor: the kind's label, else the column name in words."""
    return label or factor.replace("_", " ")


def _setting_name(setting: str) -> str:
    return setting.replace("_", " ")


def _save(fig: Figure, path: Path) -> Path:
    """Write ``path`` (PNG) and the same stem as PDF, each atomically; return ``path``.

    The size is the figure's own (no tight bounding box), so widths stay 3.5 or 7 in. Neither
    file names its date or the software that made it, so that an unchanged figure drawn with
    the same matplotlib is rewritten byte for byte.
    """
    path = Path(path)
    with rc_context(STYLE):
        with atomic.atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI, facecolor="white", metadata=PNG_METADATA)
        with atomic.atomic_path(path.with_suffix(".pdf")) as tmp:
            fig.savefig(tmp, format="pdf", facecolor="white", metadata=PDF_METADATA)
    return path


PNG_METADATA = {"Software": None}
PDF_METADATA = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}


def _width_for(bars: int) -> float:
    """One column holds up to 16 bars (four settings of four variants); more need two."""
    return ONE_COLUMN if bars <= 16 else TWO_COLUMNS


def _bars_fit_labels(width: float, bars: int) -> bool:
    """Whether each bar is wide enough (about 0.12 in) to hold its value, rotated, at 7 pt."""
    return (width - 0.8) * 0.8 / bars >= 0.12


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _panels(
    width: float, height: float, count: int, width_ratios: list[int] | None = None
) -> tuple[Figure, list[Axes]]:
    """A figure of ``count`` panels side by side, sharing their accuracy axis."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, count, sharey=True, squeeze=False, width_ratios=width_ratios)
    return fig, list(axes[0])


def _numeric(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    missing = [c for c in ["variant", *columns] if c not in table.columns]
    if missing:
        raise RunError(f"result table lacks columns {', '.join(missing)}")
    table = table.assign(**{c: pd.to_numeric(table[c], errors="coerce") for c in columns})
    table = table.assign(variant=table["variant"].astype(str))
    if "setting" in table.columns:
        table = table.assign(setting=table["setting"].astype(str))
    factor = factor_column(table)
    if factor:
        table = table.assign(**{factor: table[factor].astype(str)})
    return table


def _ordered(values: pd.Series) -> list[str]:
    """Distinct values in order of first appearance (config order, sweep order)."""
    return list(dict.fromkeys(values.astype(str)))


def _series_keys(table: pd.DataFrame, factor: str | None) -> list[tuple[str, ...]]:
    """(variant,) or (variant, level) for every row group, in order of appearance."""
    columns = ["variant", factor] if factor else ["variant"]
    return list(dict.fromkeys(table[columns].itertuples(index=False, name=None)))


def _series_label(key: tuple[str, ...]) -> str:
    return ", ".join([variant_name(key[0]), *key[1:]])


def _series_styles(
    series: list[tuple[str, ...]],
) -> Iterator[tuple[tuple[str, ...], str, str, str]]:
    """(key, label, colour, hatch): the variant's colour, a hatch per later factor level."""
    for key in series:
        siblings = [k for k in series if k[0] == key[0]]
        hatch = LEVEL_HATCHES[siblings.index(key) % len(LEVEL_HATCHES)]
        yield key, _series_label(key), variant_colour(key[0]), hatch


def _select(table: pd.DataFrame, factor: str | None, key: tuple[str, ...]) -> pd.DataFrame:
    mask = table["variant"] == key[0]
    if factor:
        mask &= table[factor] == key[1]
    return table[mask]


def _select_variant(table: pd.DataFrame, variant: str) -> pd.DataFrame:
    return table[table["variant"] == variant]


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
        rows = _select(table, factor, key)
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


def _yerr(std: pd.Series) -> np.ndarray:
    return np.nan_to_num(100 * std.to_numpy(float), nan=0.0)


def _iterations_text(iterations: pd.Series) -> str:
    """'10', or '1-3' where rows differ: the n behind each mean."""
    counts = pd.to_numeric(iterations, errors="coerce").dropna().astype(int)
    if counts.empty:
        return "?"
    low, high = counts.min(), counts.max()
    return str(low) if low == high else f"{low}-{high}"


def _spread_note(table: pd.DataFrame) -> str:
    """What the error bars show, and over how many iterations (n, as in the table)."""
    n = _iterations_text(table["iterations"])
    if n == "1":
        return "n = 1 iteration: no error bars"
    return f"error bars: ±1 sample std over n = {n} iterations"


def _percent_axis(
    ax: Axes, label: str, table: pd.DataFrame, *, floor: bool = False, zoom: bool = False
) -> None:
    """Percent ticks. Bars start at 0 and lines (``floor``) at a round number below the data;
    ``zoom`` fits the axis to the data, and the label then says that it does not start at 0.
    """
    spread = table["std"].fillna(0)
    top = 100 * float((table["mean"] + spread).max())
    bottom = 100 * float((table["mean"] - spread).min())
    if zoom:
        pad = max(0.5, 0.1 * (top - bottom))
        low, high = max(0.0, bottom - pad), top + pad
    elif floor:
        low, high = max(0.0, math.floor(bottom / 5) * 5 - 5), max(100.0, top + 1)
    else:
        low, high = 0.0, max(100.0, top + 1)
    ax.set_ylim(low, high)
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=None if zoom else 0))
    if label and zoom and low > 0:
        label = f"{label}\nzoomed: axis does not start at 0"
    ax.set_ylabel(label)
    ax.grid(axis="y", alpha=0.3, lw=0.5)
    ax.set_axisbelow(True)


def _legend(fig: Figure, handles: list[Artist], labels: list[str], title: str) -> None:
    """One legend above the panels, in as many columns as the figure's width holds."""
    renderer = fig.canvas.get_renderer()
    for columns in range(len(handles), 0, -1):
        legend = fig.legend(
            handles,
            labels,
            title=title,
            loc="outside upper center",
            ncols=columns,
            frameon=False,
            handlelength=1.5,
            columnspacing=1.2,
        )
        if columns == 1 or legend.get_window_extent(renderer).width <= 0.98 * fig.bbox.width:
            return
        legend.remove()
