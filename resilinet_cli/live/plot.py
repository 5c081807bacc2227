"""A live run at a glance: each request's latency over time, chaos events marked.

``live-eval`` draws it; to redraw it from a live-eval folder (live.csv, live_events.csv):

    python -m resilinet_cli.live.plot results/live-demo [docs/live_latency.png]
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.results import layout


def plot_latency(
    live: pd.DataFrame, events: pd.DataFrame, path: Path, *, deadline_ms: float | None = None
) -> Path:
    """Write a PNG of live.csv's latency against send time, one colour per contributing set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 4), dpi=110)
    for contributed, group in live.groupby("contributed", sort=False):
        guessed = bool(group["guess"].any())
        label = f"contributed {contributed}" + (" (guess)" if guessed else "")
        axes.scatter(group["sent_at_ms"] / 1000, group["latency_ms"], s=6, label=label)
    if deadline_ms:
        axes.axhline(deadline_ms, color="grey", linestyle=":", linewidth=1)
        axes.annotate("deadline", (0, deadline_ms), fontsize=8, color="grey", va="bottom")
    for row in events.itertuples(index=False):
        axes.axvline(row.at_ms / 1000, color="black", linestyle="--", linewidth=0.8)
        axes.annotate(
            f"{row.event} {row.node}",
            (row.at_ms / 1000, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=8,
            va="top",
            ha="right",
        )
    axes.set_yscale("log")
    axes.set_xlabel("time since the stream started (s)")
    axes.set_ylabel("latency (ms)")
    axes.set_title("Live requests under chaos (failable bits: 1 = contributed)")
    axes.legend(fontsize=7, markerscale=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    atomic.write_bytes(path, buffer.getvalue())
    return path


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Plot a live-eval folder's latency.")
    parser.add_argument("folder", type=Path, help="holds live.csv and live_events.csv")
    parser.add_argument("png", type=Path, nargs="?", help="[default: FOLDER/live_latency.png]")
    parser.add_argument("--deadline-ms", type=float)
    args = parser.parse_args(argv)
    live = pd.read_csv(args.folder / layout.LIVE_CSV, dtype={"contributed": str})
    events = pd.read_csv(args.folder / layout.LIVE_EVENTS_CSV)
    plot_latency(
        live,
        events,
        args.png or args.folder / layout.LIVE_LATENCY_PNG,
        deadline_ms=args.deadline_ms,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
