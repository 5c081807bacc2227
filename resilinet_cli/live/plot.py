"""A live run at a glance: each request's latency over time, chaos events marked.

``live-eval`` draws it in the house figure style (results/figure_style.py: two columns wide,
the paper's font sizes, Okabe-Ito colours, a PNG and a PDF beside it, no title). To redraw it
from a live-eval folder (live.csv, live_events.csv):

    python -m resilinet_cli.live.plot results/live-demo [docs/live_latency.png]
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from resilinet_cli.results import layout
from resilinet_cli.results.figure_style import (
    OKABE_ITO,
    SMALL_FONT_SIZE,
    TWO_COLUMNS,
    legend_above,
    new_figure,
    paper_style,
    save_figure,
)


def plot_latency(
    live: pd.DataFrame, events: pd.DataFrame, path: Path, *, deadline_ms: float | None = None
) -> Path:
    """Write a PNG (and a PDF beside it) of live.csv's latency against send time."""
    return save_figure(latency_figure(live, events, deadline_ms), path)


@paper_style
def latency_figure(
    live: pd.DataFrame, events: pd.DataFrame, deadline_ms: float | None = None
) -> Figure:
    """Latency against send time, one colour per contributing set; events as dashed lines."""
    fig, ax = new_figure(TWO_COLUMNS, 3.2)
    handles, labels = [], []
    for index, (contributed, group) in enumerate(live.groupby("contributed", sort=False)):
        colour = OKABE_ITO[index % len(OKABE_ITO)]
        points = ax.scatter(group["sent_at_ms"] / 1000, group["latency_ms"], s=4, color=colour)
        handles.append(points)
        labels.append(f"{contributed}" + (" (guess)" if bool(group["guess"].any()) else ""))
    if deadline_ms:
        ax.axhline(deadline_ms, color="grey", linestyle=":", linewidth=0.8)
        ax.annotate("deadline", (0, deadline_ms), color="grey", va="bottom", size=SMALL_FONT_SIZE)
    for row in events.itertuples(index=False):
        ax.axvline(row.at_ms / 1000, color="black", linestyle="--", linewidth=0.6)
        ax.annotate(
            f"{row.event} {row.node}",
            (row.at_ms / 1000, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            size=SMALL_FONT_SIZE,
            va="top",
            ha="right",
        )
    ax.set_yscale("log")
    ax.set_xlabel("time since the stream started (s)")
    ax.set_ylabel("latency (ms)")
    ax.grid(axis="y", alpha=0.3, lw=0.5)
    ax.set_axisbelow(True)
    if handles:
        legend_above(fig, handles, labels, "nodes that contributed (failable bits: 1 = alive)")
    return fig


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Plot a live-eval folder's latency.")
    parser.add_argument("folder", type=Path, help="holds live.csv and live_events.csv")
    parser.add_argument("png", type=Path, nargs="?", help="[default: FOLDER/live_latency.png]")
    parser.add_argument("--deadline-ms", type=float)
    args = parser.parse_args(argv)
    live = pd.read_csv(args.folder / layout.LIVE_CSV, dtype={"contributed": str})
    events = pd.read_csv(args.folder / layout.LIVE_EVENTS_CSV)
    png = args.png or args.folder / layout.LIVE_LATENCY_PNG
    plot_latency(live, events, png, deadline_ms=args.deadline_ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
