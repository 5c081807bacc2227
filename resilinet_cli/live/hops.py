"""Where a request's time goes: per node its queueing and compute, per link its transfer.

Each node times itself and the reply carries the figures down to the client, so no two clocks
are compared: ``compute`` is a node's sub-model (and exit head) on the request's batch;
``queue`` is the time from its last input arriving to its compute ending, less the compute
(a batch window, other requests' compute before it); ``transfer`` is, at the receiver of a
link, the time from asking its sender to holding the reply, less the sender's own time on
that call: serialising, the network (and a shaped link's hold), gRPC. live.csv has one column
per hop (``compute_ms:fog1``, ``transfer_ms:iot->edge``; empty where the hop did not run for
the request) and ``live_hops.csv`` their percentiles; ``live_hops.png`` draws them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from resilinet_cli.live.client import Answer
from resilinet_cli.results.figure_style import (
    OKABE_ITO,
    TWO_COLUMNS,
    legend_above,
    new_figure,
    paper_style,
    save_figure,
)
from resilinet_cli.topology import Topology, link_name

KINDS = ("queue", "compute", "transfer")
HOP_COLUMNS = ["hop", "kind", "requests", "p50_ms", "p99_ms", "mean_ms"]


def hop_columns(topology: Topology) -> list[str]:
    """live.csv's timing columns: per process its queue and compute, per link its transfer."""
    processes = [*topology.nodes, *(column for column, _ in topology.replicas)]
    links = [link_name(k.src, k.dst) for k in topology.links]
    return [
        *(f"{kind}_ms:{p}" for p in processes for kind in ("queue", "compute")),
        *(f"transfer_ms:{link}" for link in links),
    ]


def hop_values(answer: Answer, columns: list[str]) -> dict[str, float]:
    """One request's timings under ``hop_columns``' names (NaN: the hop did not run)."""
    found = {
        **{f"queue_ms:{n}": v for n, v in answer.queue_ms.items()},
        **{f"compute_ms:{n}": v for n, v in answer.compute_ms.items()},
        **{f"transfer_ms:{k}": v for k, v in answer.transfer_ms.items()},
    }
    return {column: round(found.get(column, np.nan), 3) for column in columns}


def hop_table(live: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per hop that ran for some request: how often, and its p50, p99 and mean time."""
    rows = []
    for column in columns:
        values = live[column].dropna().to_numpy() if column in live else np.array([])
        if not len(values):
            continue
        kind, hop = column.split("_ms:", 1)
        rows.append(
            {
                "hop": hop,
                "kind": kind,
                "requests": len(values),
                "p50_ms": round(float(np.percentile(values, 50)), 3),
                "p99_ms": round(float(np.percentile(values, 99)), 3),
                "mean_ms": round(float(values.mean()), 3),
            }
        )
    return pd.DataFrame(rows, columns=HOP_COLUMNS)


def plot_hops(table: pd.DataFrame, path: Path) -> Path:
    """Write a PNG (and a PDF beside it) of each hop's p50 and p99 time."""
    return save_figure(hops_figure(table), path)


@paper_style
def hops_figure(table: pd.DataFrame) -> Figure:
    """One bar pair per hop (p50 solid, p99 light), coloured by kind, in request order."""
    fig, ax = new_figure(TWO_COLUMNS, 0.6 + 0.22 * max(1, len(table)))
    colours = dict(zip(KINDS, OKABE_ITO, strict=False))
    labels = [f"{row.kind} {row.hop}" for row in table.itertuples()]
    y = np.arange(len(table))[::-1]
    for kind in KINDS:
        mine = (table["kind"] == kind).to_numpy()
        ax.barh(y[mine], table["p99_ms"][mine], color=colours[kind], alpha=0.35, height=0.8)
        ax.barh(y[mine], table["p50_ms"][mine], color=colours[kind], height=0.8, label=kind)
    ax.set_yticks(y, labels)
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlabel("time per request (ms): p50 solid, p99 light")
    ax.grid(axis="x", alpha=0.3, lw=0.5)
    ax.set_axisbelow(True)
    handles, names = ax.get_legend_handles_labels()
    if handles:
        legend_above(fig, handles, names, "where a request's time goes")
    return fig
