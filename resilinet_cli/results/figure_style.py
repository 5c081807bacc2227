"""The house figure style: every figure of the package is drawn to go into a paper.

- **Files.** Each figure is written twice under one stem: a PDF (vector, for a paper) and a PNG
  (for REPORT.md), each atomically (``save_figure``). The PDF carries no creation date, so that
  rebuilding a report leaves it byte-identical.
- **Size.** A figure is one column (3.5 in) or two columns (7 in) wide, by how much it holds,
  with 7 to 8 pt text (``paper_style``); it is saved at exactly that size.
- **Names.** No run name and no title: a paper's caption says what a figure shows. Variants
  are named as in the paper (``VARIANT_NAMES``); panels of one figure are titled by variant or
  reliability setting.
- **Colours.** Each variant has one colour in every figure, from the Okabe-Ito palette, and the
  four have no red/green pair (``VARIANT_COLOURS``). Reliability settings are ordered, so they
  are greys from light (no failure) to black (the harshest). Factor levels of one variant are
  hatched, not recoloured. Heatmaps use viridis.
- **Spread.** Every legend says what its error bars or bands show and over how many iterations
  (``spread_note``).
- **Zoom.** ``zoom=True`` fits the accuracy axis to the data, so that close values can be told
  apart; the axis label then says it does not start at 0 (``percent_axis``). By default bars
  start at 0.

Every figure is a ``matplotlib.figure.Figure`` drawn on the Agg canvas directly
(``new_figure``, ``panels``), never through ``pyplot``: nothing is registered in pyplot's figure
manager, so nothing leaks between calls and the global backend is left alone.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from resilinet_cli import atomic

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
    # early exits (docs/variants.md): the two other colours of the palette
    "vanilla+exits": "#009E73",
    "resilinet+exits": "#D55E00",
}
LEVEL_HATCHES = ("", "////", "....", "xxxx", "\\\\\\\\", "oooo")  # a variant's factor levels
SETTING_MARKERS = ("o", "s", "^", "v", "P", "X")
ACCURACY_LABEL = "accuracy (%)"
WEIGHTED_LABEL = "weighted accuracy (%)"
_Args = ParamSpec("_Args")


def variant_name(variant: str) -> str:
    """The paper's name of a variant ('resilinet_plus' -> 'ResiliNet+'), also as the base of
    a defined one ('vanilla+exits' -> 'Vanilla + exits'); others unchanged."""
    base, plus, rest = variant.partition("+")
    if plus and base in VARIANT_NAMES:
        return f"{VARIANT_NAMES[base]} + {rest}"
    return VARIANT_NAMES.get(variant, variant)


def variant_colour(variant: str) -> str:
    """A variant's colour, the same in every figure (black for a variant of other code)."""
    return VARIANT_COLOURS.get(variant, "#000000")


def setting_colours(count: int) -> list[str]:
    """Greys from light to black for ``count`` ordered reliability settings (the last harshest)."""
    levels = np.linspace(0.72, 0.0, count) if count > 1 else [0.0]
    return [to_hex((level, level, level)).upper() for level in levels]


def paper_style(build: Callable[_Args, Figure]) -> Callable[_Args, Figure]:
    """Build a figure with the paper's font sizes (rcParams are read as artists are made)."""

    @functools.wraps(build)
    def styled(*args: _Args.args, **kwargs: _Args.kwargs) -> Figure:
        with rc_context(STYLE):
            fig = build(*args, **kwargs)
        for ax in fig.axes:  # tick labels are made lazily, maybe outside this context
            ax.tick_params(labelsize=SMALL_FONT_SIZE)
        return fig

    return styled


def save_figure(fig: Figure, path: Path) -> Path:
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


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def panels(
    width: float, height: float, count: int, width_ratios: list[int] | None = None
) -> tuple[Figure, list[Axes]]:
    """A figure of ``count`` panels side by side, sharing their accuracy axis."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, count, sharey=True, squeeze=False, width_ratios=width_ratios)
    return fig, list(axes[0])


def legend_above(fig: Figure, handles: list[Artist], labels: list[str], title: str) -> None:
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


def percent_axis(
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


def iterations_text(iterations: pd.Series) -> str:
    """'10', or '1-3' where rows differ: the n behind each mean."""
    counts = pd.to_numeric(iterations, errors="coerce").dropna().astype(int)
    if counts.empty:
        return "?"
    low, high = counts.min(), counts.max()
    return str(low) if low == high else f"{low}-{high}"


def spread_note(table: pd.DataFrame) -> str:
    """What the error bars show, and over how many iterations (n, as in the table)."""
    n = iterations_text(table["iterations"])
    if n == "1":
        return "n = 1 iteration: no error bars"
    return f"error bars: ±1 sample std over n = {n} iterations"
