"""Figures of a run's result tables (docs/architecture.md §4): PNG files under stable names.

Every figure is a ``matplotlib.figure.Figure`` drawn on the Agg canvas directly, never through
``pyplot``: nothing is registered in pyplot's figure manager, so nothing leaks between calls and
the global backend is left alone. Each public function builds its figure with a private
``_*_figure`` helper (which tests inspect) and writes it atomically with ``_save``.

Input tables are the CSVs of ``report.write_tables``, possibly read with ``dtype=str``:
numbers are coerced here. Any column between ``variant`` and ``setting`` (or ``combination``) is
an experiment's factor (the first) and its details (such as a skip subset's bits): the factor
splits the variants. Figures name it by ``factor_label``, which the experiment kind supplies.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from resilinet_cli import atomic
from resilinet_cli.errors import RunError

# The columns every table has; any other column names a factor level.
STANDARD_COLUMNS = ("variant", "setting", "combination", "mean", "std", "iterations")
VARIABLE = "variable"
MINUS = "\u2212"  # typographic minus for labels
DPI = 150

# One labelled column per combination is readable up to about this many (2^6); a generated
# topology with many failable nodes has thousands, which no figure can show (combinations.csv).
HEATMAP_MAX_COMBINATIONS = 64

_PALETTE = [to_hex(c) for c in colormaps["tab10"].colors]
_ACCURACY_LABEL = "accuracy (%)"
_WEIGHTED_LABEL = "weighted accuracy (%)"


# --------------------------------------------------------------------------------------------
# Public API: one function per figure, each returning the path it wrote.
# --------------------------------------------------------------------------------------------


def weighted_bars(
    table: pd.DataFrame, path: Path, title: str, factor_label: str | None = None
) -> Path:
    """Grouped bars: weighted accuracy per reliability setting (groups) and variant (bars)."""
    return _save(_weighted_bars_figure(table, title, factor_label), path)


def combination_heatmap(
    table: pd.DataFrame,
    path: Path,
    title: str,
    nodes: Sequence[str],
    factor_label: str | None = None,
) -> Path:
    """Heatmap: accuracy per failure combination (columns) and variant (rows), annotated."""
    return _save(_combination_heatmap_figure(table, title, nodes, factor_label), path)


def failout_lines(table: pd.DataFrame, path: Path, title: str) -> Path:
    """Weighted accuracy against failout rate, one line per setting; 'variable' as markers."""
    return _save(_failout_lines_figure(table, title), path)


def factor_bars(
    table: pd.DataFrame,
    factor: str,
    path: Path,
    title: str,
    labels: dict[str, str] | None = None,
    factor_label: str | None = None,
) -> Path:
    """Bars per factor level (groups) and reliability setting (bars); ``labels`` renames levels."""
    return _save(_factor_bars_figure(table, factor, title, labels, factor_label), path)


def epoch_lines(table: pd.DataFrame, path: Path, title: str) -> Path:
    """Weighted accuracy against epochs, a panel per setting, a line and 95 % band per variant."""
    return _save(_epoch_lines_figure(table, title), path)


def dead_label(bits: str, nodes: Sequence[str]) -> str:
    """'none dead', 'edge dead', 'fog1, edge dead': the nodes whose bit is 0 (1 = alive)."""
    bits = str(bits)
    if len(bits) != len(nodes) or set(bits) - {"0", "1"}:
        raise RunError(
            f"failure combination '{bits}' does not match the failable nodes "
            f"{', '.join(nodes)} (one bit per node, 1 = alive)"
        )
    dead = [node for node, bit in zip(nodes, bits, strict=True) if bit == "0"]
    return f"{', '.join(dead)} dead" if dead else "none dead"


# --------------------------------------------------------------------------------------------
# Figure builders (no file I/O; tests inspect the returned figures).
# --------------------------------------------------------------------------------------------


def _weighted_bars_figure(
    table: pd.DataFrame, title: str, factor_label: str | None = None
) -> Figure:
    table = _numeric(table, ["mean", "std"])
    factor = factor_column(table)
    settings = _ordered(table["setting"])
    series = _series_keys(table, factor)
    width = 0.8 / len(series)
    fig, ax = _figure(max(6.0, 1.0 + len(settings) * (0.35 * len(series) + 0.6)), 4.2)
    x = np.arange(len(settings))
    for i, (key, label, colour) in enumerate(_series_styles(series)):
        rows = _select(table, factor, key).set_index("setting").reindex(settings)
        means, stds = 100 * rows["mean"].to_numpy(float), 100 * rows["std"].to_numpy(float)
        offset = (i - (len(series) - 1) / 2) * width
        bars = ax.bar(x + offset, means, width, label=label, color=colour, edgecolor="white")
        _error_bars(ax, x + offset, means, stds)
        if len(series) <= 6:
            _value_labels(ax, bars, means)
    ax.set_xticks(x, [s.replace("_", " ") for s in settings])
    ax.set_xlabel("reliability setting")
    _percent_axis(ax, _WEIGHTED_LABEL, table)
    ax.set_title(title)
    legend_title = f"variant, {_factor_name(factor, factor_label)}" if factor else "variant"
    _legend_outside(ax, title=legend_title)
    return fig


def _combination_heatmap_figure(
    table: pd.DataFrame, title: str, nodes: Sequence[str], factor_label: str | None = None
) -> Figure:
    table = _numeric(table, ["mean", "std"])
    factor = factor_column(table)
    combos = _ordered(table["combination"].astype(str))
    series = _series_keys(table, factor)
    grid = np.full((len(series), len(combos)), np.nan)
    for r, key in enumerate(series):
        rows = _select(table, factor, key)
        values = rows.set_index(rows["combination"].astype(str))["mean"].reindex(combos)
        grid[r] = 100 * values.to_numpy(float)
    columns = [dead_label(c, nodes) for c in combos]
    fig, ax = _figure(max(6.0, 2.2 + 0.95 * len(combos)), max(2.6, 1.6 + 0.45 * len(series)))
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    for r, c in np.ndindex(grid.shape):
        if not math.isnan(grid[r, c]):
            colour = "black" if grid[r, c] > 60 else "white"
            ax.text(c, r, f"{grid[r, c]:.1f}", ha="center", va="center", color=colour, size=9)
    for r in range(1, len(series)):
        if series[r][0] != series[r - 1][0]:  # a white rule between variants' factor levels
            ax.axhline(r - 0.5, color="white", lw=2.5)
    ax.set_xticks(range(len(combos)), columns, rotation=35, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(series)), [_series_label(key) for key in series])
    ax.set_xlabel("failure combination (nodes that are dead)")
    ax.set_ylabel(f"variant, {_factor_name(factor, factor_label)}" if factor else "variant")
    ax.tick_params(length=0)
    ax.set_title(title)
    bar = fig.colorbar(image, ax=ax, format=PercentFormatter(100, decimals=0), pad=0.02)
    bar.set_label(_ACCURACY_LABEL)
    return fig


def _epoch_lines_figure(table: pd.DataFrame, title: str) -> Figure:
    """The table of ``epoch_curves.epoch_table``: bands are the mean's 95 % t-interval."""
    table = _numeric(table, ["epoch", "mean", "ci95", "iterations"])
    settings = _ordered(table["setting"])
    variants = _ordered(table["variant"])
    fig = Figure(figsize=(3.2 * len(settings) + 1.6, 3.4), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(settings), sharey=True, squeeze=False)[0]
    for ax, setting in zip(axes, settings, strict=True):
        for index, variant in enumerate(variants):
            rows = table[(table["setting"] == setting) & (table["variant"] == variant)]
            rows = rows.sort_values("epoch")
            epochs = rows["epoch"].to_numpy(float)
            means = 100 * rows["mean"].to_numpy(float)
            half = 100 * rows["ci95"].fillna(0).to_numpy(float)
            colour = _PALETTE[index % len(_PALETTE)]
            ax.plot(epochs, means, color=colour, marker="o", markersize=3, label=variant)
            low, high = np.clip(means - half, 0, 100), np.clip(means + half, 0, 100)
            ax.fill_between(epochs, low, high, color=colour, alpha=0.2, lw=0)
        ax.set_title(setting.replace("_", " "), size=10)
        ax.set_xlabel("epochs trained")
        ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation weighted accuracy (%)")
    counts = table["iterations"].astype(int)
    n = str(counts.min()) if counts.min() == counts.max() else f"{counts.min()}-{counts.max()}"
    fig.suptitle(f"{title}\nline: mean of n = {n} iterations; band: its 95 % t-interval")
    _legend_outside(axes[-1], title="variant")
    return fig


def _failout_lines_figure(table: pd.DataFrame, title: str) -> Figure:
    factor = "failout_survival"
    if factor not in table.columns:
        raise RunError(f"a failout plot needs a '{factor}' column; got {', '.join(table.columns)}")
    table = _numeric(table, ["mean", "std"])
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

    fig = Figure(figsize=(4.8 * len(variants) + 2.6, 4.2), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(variants), sharey=True, squeeze=False)[0]
    for ax, variant in zip(axes, variants, strict=True):
        rows = table[table["variant"].astype(str) == variant]
        for i, setting in enumerate(settings):
            colour = _PALETTE[i % len(_PALETTE)]
            fixed = rows[(rows["setting"] == setting) & ~rows["_variable"]].sort_values("_rate")
            ax.errorbar(
                fixed["_rate"].to_numpy(float),
                100 * fixed["mean"].to_numpy(float),
                yerr=_yerr(fixed["std"]),
                color=colour,
                marker="o",
                ms=5,
                capsize=3,
                label=setting.replace("_", " "),
            )
            var = rows[(rows["setting"] == setting) & rows["_variable"]]
            if len(var):
                ax.errorbar(
                    [variable_x] * len(var),
                    100 * var["mean"].to_numpy(float),
                    yerr=_yerr(var["std"]),
                    color=colour,
                    marker="D",
                    ms=7,
                    mec="black",
                    mew=0.6,
                    capsize=3,
                    ls="none",
                )
        ticks = [*rates, variable_x] if has_variable else rates
        names = [f"{r:g}" for r in rates]
        if has_variable:
            names.append(f"variable\n= 1 {MINUS} reliability")
        ax.set_xticks(ticks, names)
        if has_variable and rates:
            ax.axvline((max(rates) + variable_x) / 2, color="grey", ls=":", lw=1)
        ax.set_xlabel(f"failout rate (1 {MINUS} survival probability in training)")
        ax.set_title(variant if len(variants) > 1 else title)
        ax.grid(axis="y", alpha=0.3)
    _percent_axis(axes[0], _WEIGHTED_LABEL, table, floor=True)
    if len(variants) > 1:
        fig.suptitle(title)
    handles, names = axes[0].get_legend_handles_labels()
    if has_variable:
        handles.append(
            Line2D([], [], color="grey", marker="D", mec="black", mew=0.6, ms=7, ls="none")
        )
        names.append(f"variable failout:\neach node's rate\n= 1 {MINUS} its reliability")
    axes[-1].legend(
        handles,
        names,
        title="reliability setting",
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
    )
    return fig


def _factor_bars_figure(
    table: pd.DataFrame,
    factor: str,
    title: str,
    labels: dict[str, str] | None = None,
    factor_label: str | None = None,
) -> Figure:
    if factor not in table.columns:
        raise RunError(f"no '{factor}' column in the table; got {', '.join(table.columns)}")
    table = _numeric(table, ["mean", "std"]).assign(**{factor: table[factor].astype(str)})
    labels = labels or {}
    settings = _ordered(table["setting"])
    variants = _ordered(table["variant"])
    levels = {v: _ordered(_select_variant(table, v)[factor]) for v in variants}
    widths = [len(levels[v]) * (0.3 * len(settings) + 0.5) + 0.6 for v in variants]
    fig = Figure(figsize=(max(6.0, sum(widths) + 2.2), 4.2), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(variants), sharey=True, squeeze=False, width_ratios=widths)[0]
    width = 0.8 / len(settings)
    for ax, variant in zip(axes, variants, strict=True):
        rows = _select_variant(table, variant)
        x = np.arange(len(levels[variant]))
        for i, setting in enumerate(settings):
            cells = rows[rows["setting"] == setting].set_index(factor).reindex(levels[variant])
            means = 100 * cells["mean"].to_numpy(float)
            stds = 100 * cells["std"].to_numpy(float)
            offset = (i - (len(settings) - 1) / 2) * width
            colour = _PALETTE[i % len(_PALETTE)]
            bars = ax.bar(x + offset, means, width, label=setting.replace("_", " "), color=colour)
            _error_bars(ax, x + offset, means, stds)
            if len(settings) <= 6:
                _value_labels(ax, bars, means)
        names = [_wrap(labels.get(level, level)) for level in levels[variant]]
        long = max(len(line) for n in names for line in n.splitlines()) > 12
        ax.set_xticks(x, names, rotation=25 if long else 0, ha="right" if long else "center")
        ax.set_xlabel(_factor_name(factor, factor_label))
        _percent_axis(ax, _WEIGHTED_LABEL if ax is axes[0] else "", table)
        ax.set_title(variant if len(variants) > 1 else title)
    if len(variants) > 1:
        fig.suptitle(title)
    _legend_outside(axes[-1], title="reliability setting")
    return fig


# --------------------------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------------------------


def _wrap(name: str) -> str:
    """'iot→fog2 + fog2→cloud' on two lines, so that link names need no rotated ticks."""
    return name.replace(" + ", "\n+ ")


def label_columns(table: pd.DataFrame) -> list[str]:
    """The columns that name a table row: variant, then the factor and its details, if any."""
    return ["variant", *(c for c in table.columns if c not in STANDARD_COLUMNS)]


def factor_column(table: pd.DataFrame) -> str | None:
    """The table's factor column (the first column no table always has), or None."""
    return next((c for c in table.columns if c not in STANDARD_COLUMNS), None)


def _factor_name(factor: str, label: str | None) -> str:
    """How a figure names a factor: the kind's label, else the column name in words."""
    return label or factor.replace("_", " ")


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return path


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


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
    return ", ".join(key)


def _series_styles(
    series: list[tuple[str, ...]],
) -> Iterator[tuple[tuple[str, ...], str, tuple[float, ...]]]:
    """(key, label, colour): a hue per variant, lighter shades for its later factor levels."""
    variants = list(dict.fromkeys(key[0] for key in series))
    for key in series:
        base = np.array(to_rgb(_PALETTE[variants.index(key[0]) % len(_PALETTE)]))
        siblings = [k for k in series if k[0] == key[0]]
        shade = siblings.index(key) / max(len(siblings), 2) * 0.75 if len(siblings) > 1 else 0.0
        yield key, _series_label(key), tuple(base + (1 - base) * shade)


def _select(table: pd.DataFrame, factor: str | None, key: tuple[str, ...]) -> pd.DataFrame:
    mask = table["variant"] == key[0]
    if factor:
        mask &= table[factor] == key[1]
    return table[mask]


def _select_variant(table: pd.DataFrame, variant: str) -> pd.DataFrame:
    return table[table["variant"] == variant]


def _error_bars(ax: Axes, x: np.ndarray, means: np.ndarray, stds: np.ndarray) -> None:
    keep = ~np.isnan(stds) & ~np.isnan(means)
    if keep.any():
        ax.errorbar(x[keep], means[keep], yerr=stds[keep], fmt="none", ecolor="black", capsize=2)


def _value_labels(ax: Axes, bars: BarContainer, means: np.ndarray) -> None:
    """The value in the middle of each bar tall enough to hold it (error bars sit on top)."""
    labels = [f"{m:.1f}" if m >= 15 else "" for m in np.nan_to_num(means)]
    texts = ax.bar_label(bars, labels=labels, label_type="center", rotation=90, size=7)
    for text, bar in zip(texts, bars, strict=True):
        red, green, blue, _ = bar.get_facecolor()
        text.set_color("black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.6 else "white")


def _yerr(std: pd.Series) -> np.ndarray:
    return np.nan_to_num(100 * std.to_numpy(float), nan=0.0)


def _percent_axis(ax: Axes, label: str, table: pd.DataFrame, floor: bool = False) -> None:
    """Percent ticks; bars start at 0, lines zoom to the data (``floor``)."""
    top = 100 * float((table["mean"] + table["std"].fillna(0)).max())
    bottom = 100 * float((table["mean"] - table["std"].fillna(0)).min())
    ax.set_ylim(max(0.0, math.floor(bottom / 5) * 5 - 5) if floor else 0, max(100.0, top + 1))
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.set_ylabel(label)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _legend_outside(ax: Axes, title: str) -> None:
    ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
