"""Throughput and latency against offered load, healthy and with a node dead (``live-load``).

One deployment serves a series of steps; each step sends for ``seconds`` from ``clients``
clients, open loop at one offered rate (load.py: latency counts from each request's due time,
so a saturated deployment shows as latency that grows, not as a rate that quietly drops;
``answered_rps`` counts the answers over the time until the last one came), or
closed loop (no rate: what the deployment serves at that concurrency, its saturation
throughput). Each step also records the clients' share of the CPU: on a small machine the
clients compete with the nodes they measure. The healthy steps come first; then the node
named dead is killed (and found dead by the receivers) and the steps run again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from resilinet_cli.live.client import LiveClient
from resilinet_cli.live.deployment import Deployment
from resilinet_cli.live.load import Load, warm_up
from resilinet_cli.live.resources import ResourceSampler, cpu_share
from resilinet_cli.live.spec import DeploymentSpec
from resilinet_cli.results.figure_style import (
    OKABE_ITO,
    TWO_COLUMNS,
    legend_above,
    new_figure,
    paper_style,
    save_figure,
)

LOAD_COLUMNS = [
    "condition", "clients", "batch_window_ms", "offered_rps", "answered_rps", "unanswered",
    "latency_p50_ms", "latency_p99_ms", "client_cpu_share",
]  # fmt: skip
SETTLE_S = 10.0  # at most this long for the receivers to find a killed node dead


def step(
    deployment: Deployment,
    x: np.ndarray,
    clients: int,
    rate: float | None,
    seconds: float,
    condition: str,
) -> dict[str, Any]:
    """One step of load: its row of ``LOAD_COLUMNS``."""
    spec = deployment.spec
    with Load(spec, x, clients, rate) as load:
        sampler = ResourceSampler(deployment.pids, interval_s=max(0.5, seconds / 4))
        started = time.perf_counter()
        sampler.start(started)
        outcomes = load.run(lambda elapsed, _: elapsed >= seconds, started)
        samples = sampler.stop()
    answered = [o.answer.latency_ms for o in outcomes if o.answer is not None]
    # from the start to the last answer: past saturation answers come later than they are due
    ends = [o.due_ms + o.answer.latency_ms for o in outcomes if o.answer is not None]
    span = max(seconds, max(ends, default=0.0) / 1000)
    return {
        "condition": condition,
        "clients": clients,
        "batch_window_ms": 1000 * spec.batch_window_s,
        "offered_rps": rate if rate else float("nan"),
        "answered_rps": len(answered) / span,
        "unanswered": len(outcomes) - len(answered),
        "latency_p50_ms": float(np.percentile(answered, 50)) if answered else float("nan"),
        "latency_p99_ms": float(np.percentile(answered, 99)) if answered else float("nan"),
        "client_cpu_share": cpu_share(samples),
    }


def load_curve(
    deployment: Deployment,
    x: np.ndarray,
    steps: Sequence[tuple[int, float | None]],
    seconds: float,
    dead: str | None = None,
    tell: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Each (clients, rate) step healthy, then (with ``dead``) again with that node killed."""
    conditions = ["healthy"] + ([f"{dead} dead"] if dead else [])
    with LiveClient(deployment.spec) as client:
        warm_up(client, x[:1])
    rows = []
    for condition in conditions:
        if condition != "healthy":
            assert dead is not None
            deployment.kill(dead)
            settle(deployment.spec, x, dead)
        for clients, rate in steps:
            rows.append(step(deployment, x, clients, rate, seconds, condition))
            if tell is not None:
                tell(rows[-1])
    return pd.DataFrame(rows, columns=LOAD_COLUMNS)


def settle(spec: DeploymentSpec, x: np.ndarray, dead: str) -> None:
    """Ask until an answer reports ``dead`` as not contributing (its receivers found it dead)."""
    index = list(spec.topology.alive_columns).index(dead)
    give_up = time.perf_counter() + SETTLE_S
    with LiveClient(spec) as client:
        while client.infer(x[:1]).contributed[index] != "0":
            if time.perf_counter() > give_up:
                raise RuntimeError(f"{dead} was killed but answers still use it")
            time.sleep(0.05)


def plot_load(table: pd.DataFrame, path: Path) -> Path:
    """Write a PNG (and a PDF beside it) of throughput and latency against offered load."""
    return save_figure(load_figure(table), path)


@paper_style
def load_figure(table: pd.DataFrame) -> Figure:
    """Left: answered against offered requests per second (the diagonal: all answered);
    right: latency p50 (solid) and p99 (dashed) against offered load; one colour per
    condition."""
    fig, left = new_figure(TWO_COLUMNS, 2.8)
    left.remove()  # two panels with their own y axes (figure_style.panels shares one)
    left, right = fig.subplots(1, 2)
    offered = table["offered_rps"].dropna()
    if len(offered):
        top = float(offered.max())
        left.plot([0, top], [0, top], color="grey", lw=0.6, ls=":")
    handles, labels = [], []
    for index, (condition, group) in enumerate(table.groupby("condition", sort=False)):
        colour = OKABE_ITO[index % len(OKABE_ITO)]
        group = group.sort_values("offered_rps")
        (line,) = left.plot(group["offered_rps"], group["answered_rps"], "o-", color=colour,
                            ms=3, lw=1)  # fmt: skip
        right.plot(group["offered_rps"], group["latency_p50_ms"], "o-", color=colour, ms=3, lw=1)
        right.plot(group["offered_rps"], group["latency_p99_ms"], "s--", color=colour, ms=3,
                   lw=1)  # fmt: skip
        handles.append(line)
        labels.append(str(condition))
    left.set_xlabel("offered load (requests/s)")
    left.set_ylabel("answered (requests/s)")
    right.set_xlabel("offered load (requests/s)")
    right.set_ylabel("latency (ms): p50 solid, p99 dashed")
    right.set_yscale("log")
    for ax in (left, right):
        ax.grid(alpha=0.3, lw=0.5)
        ax.set_axisbelow(True)
    if handles:
        legend_above(fig, handles, labels, "deployment")
    return fig
