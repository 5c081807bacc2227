"""Line figures of a run's tables: weighted accuracy against epochs, against a ``-m`` sweep's
values, and against the failout rate. Each ``*_figure`` builds a figure without writing it
(tests inspect it); ``plots`` writes them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from resilinet_cli.errors import RunError
from resilinet_cli.results.figure_style import (
    MINUS,
    ONE_COLUMN,
    SETTING_MARKERS,
    TWO_COLUMNS,
    WEIGHTED_LABEL,
    iterations_text,
    legend_above,
    panels,
    paper_style,
    percent_axis,
    setting_colours,
    spread_note,
    variant_colour,
    variant_name,
)
from resilinet_cli.results.figure_tables import (
    VARIABLE,
    numeric_table,
    ordered,
    setting_name,
    wrap_links,
    yerr,
)


@paper_style
def epoch_lines_figure(table: pd.DataFrame) -> Figure:
    """The table of ``epoch_curves.epoch_table``: bands are the mean's 95 % t-interval."""
    table = numeric_table(table, ["mean", "ci95", "iterations"])
    # Numbers, not the text numeric_table makes of a column it takes for a factor ("10" < "2").
    table = table.assign(epoch=pd.to_numeric(table["epoch"]))
    settings = ordered(table["setting"])
    variants = ordered(table["variant"])
    fig, axes = panels(ONE_COLUMN if len(settings) <= 2 else TWO_COLUMNS, 2.6, len(settings))
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
        ax.set_title(setting_name(setting))
        ax.set_xlabel("epochs trained")
        ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
        ax.grid(alpha=0.3, lw=0.5)
    axes[0].set_ylabel("validation weighted accuracy (%)")
    n = iterations_text(table["iterations"])
    note = f"lines: mean over n = {n} iterations; bands: 95 % t-interval of the mean"
    legend_above(fig, *axes[0].get_legend_handles_labels(), title=note)
    return fig


@paper_style
def sweep_lines_figure(table: pd.DataFrame, swept: list[str]) -> Figure:
    """Values on the x axis in the sweep's order: at their numbers when a single swept key has
    numeric values, else evenly spaced and labelled ``key=value``."""
    table = numeric_table(table, ["mean", "std", "iterations"])
    labels = table[swept].astype(str).agg(",".join, axis=1)
    order = list(dict.fromkeys(labels))
    numbers = pd.to_numeric(table[swept[0]], errors="coerce") if len(swept) == 1 else None
    if numbers is not None and not numbers.isna().any():
        x = numbers.to_numpy(float)
        ticks, names = sorted(set(x)), [f"{v:g}" for v in sorted(set(x))]
    else:
        x = np.array([order.index(label) for label in labels], dtype=float)
        ticks, names = list(range(len(order))), [wrap_links(label) for label in order]
    table = table.assign(_x=x)
    settings, variants = ordered(table["setting"]), ordered(table["variant"])
    fig, axes = panels(ONE_COLUMN if len(settings) <= 2 else TWO_COLUMNS, 2.6, len(settings))
    for ax, setting in zip(axes, settings, strict=True):
        for variant in variants:
            rows = table[(table["setting"] == setting) & (table["variant"] == variant)]
            rows = rows.sort_values("_x")
            ax.errorbar(
                rows["_x"].to_numpy(float),
                100 * rows["mean"].to_numpy(float),
                yerr=yerr(rows["std"]),
                color=variant_colour(variant),
                marker="o",
                ms=3,
                capsize=2,
                elinewidth=0.8,
                label=variant_name(variant),
            )
        ax.set_xticks(ticks, names)
        ax.set_title(setting_name(setting))
        ax.set_xlabel(", ".join(swept))
        ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
        ax.grid(alpha=0.3, lw=0.5)
    axes[0].set_ylabel("weighted accuracy (%)")
    note = f"mean ± sample std over n = {iterations_text(table['iterations'])} iterations"
    legend_above(fig, *axes[0].get_legend_handles_labels(), title=note)
    return fig


@paper_style
def failout_lines_figure(table: pd.DataFrame, *, zoom: bool = False) -> Figure:
    factor = "failout_survival"
    if factor not in table.columns:
        raise RunError(f"a failout plot needs a '{factor}' column; got {', '.join(table.columns)}")
    table = numeric_table(table, ["mean", "std", "iterations"])
    level = table[factor].astype(str).str.strip()
    survival = pd.to_numeric(level, errors="coerce")
    bad = sorted(set(level[survival.isna() & (level != VARIABLE)]))
    if bad:
        raise RunError(f"unknown {factor} levels {bad}: expected numbers or '{VARIABLE}'")
    table = table.assign(_rate=1 - survival, _variable=level == VARIABLE)
    rates = sorted(set(table.loc[~table["_variable"], "_rate"].round(6)))
    has_variable = bool(table["_variable"].any())
    settings = ordered(table["setting"])
    variants = ordered(table["variant"])
    span = (max(rates) - min(rates)) if len(rates) > 1 else 0.5
    variable_x = (max(rates) if rates else 0.0) + max(0.15, 0.25 * span)
    colours = setting_colours(len(settings))

    fig, axes = panels(ONE_COLUMN if len(variants) == 1 else TWO_COLUMNS, 2.9, len(variants))
    for ax, variant in zip(axes, variants, strict=True):
        rows = table[table["variant"].astype(str) == variant]
        for i, setting in enumerate(settings):
            marker = SETTING_MARKERS[i % len(SETTING_MARKERS)]
            fixed = rows[(rows["setting"] == setting) & ~rows["_variable"]].sort_values("_rate")
            ax.errorbar(
                fixed["_rate"].to_numpy(float),
                100 * fixed["mean"].to_numpy(float),
                yerr=yerr(fixed["std"]),
                color=colours[i],
                marker=marker,
                ms=3.5,
                capsize=2,
                elinewidth=0.8,
                label=setting_name(setting),
            )
            var = rows[(rows["setting"] == setting) & rows["_variable"]]
            if len(var):
                ax.errorbar(
                    [variable_x] * len(var),
                    100 * var["mean"].to_numpy(float),
                    yerr=yerr(var["std"]),
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
    percent_axis(axes[0], WEIGHTED_LABEL, table, floor=True, zoom=zoom)
    handles, names = axes[0].get_legend_handles_labels()
    if has_variable:
        handles.append(
            Line2D([], [], color="grey", marker="D", mec="black", mew=0.5, ms=4.5, ls="none")
        )
        names.append(f"variable: each node's rate = 1 {MINUS} its reliability")
    legend_above(fig, handles, names, title=f"reliability setting\n{spread_note(table)}")
    return fig
