"""live.csv against the sweep: per dead set, live accuracy beside the simulated one.

For each dead set seen, the sweep's prediction is recomputed on exactly the examples that ran
under it (``predict_combinations``), so the two accuracies are comparable and every differing
prediction is counted: live must equal simulated example by example. Without a path the sweep
scores the guess; on those examples its expected accuracy is the mean training frequency of
their labels, and the live answer must say it guessed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from resilinet_cli.live.chaos import Applied
from resilinet_cli.topology import Topology

LIVE_COLUMNS = ["example", "sent_at_ms", "latency_ms", "dead", "prediction", "label", "guess"]
SUMMARY_COLUMNS = [
    "dead",
    "examples",
    "information_flow",
    "live_accuracy",
    "sweep_accuracy",
    "differing",
    "latency_p50_ms",
    "latency_p99_ms",
]
EVENT_COLUMNS = ["event", "node", "at_ms", "seen_after_ms"]


def summarise(
    live: pd.DataFrame, model: Any, topology: Topology, x: np.ndarray, prior: np.ndarray
) -> pd.DataFrame:
    """One row per dead set in ``live`` (live.csv's columns), in order of first appearance."""
    from resilinet_cli.sweeps.sweep import predict_combinations

    rows = []
    for dead, group in live.groupby("dead", sort=False):
        # live, only processes fail: every failable link of the topology is up
        combo = tuple(int(bit) for bit in str(dead)) + (1,) * len(topology.failable_links)
        examples = group["example"].to_numpy()
        labels = group["label"].to_numpy()
        flow = topology.has_information_flow(combo)
        if flow:
            simulated = predict_combinations(model, topology, x[examples], [combo])[combo]
            expected = simulated.argmax(axis=-1)
            sweep_accuracy = float(np.mean(expected == labels))
            differing = int(np.sum(group["prediction"].to_numpy() != expected))
            differing += int(np.sum(group["guess"].to_numpy() != 0))  # a path, yet a guess
        else:
            sweep_accuracy = float(np.mean(prior[labels]))
            differing = int(np.sum(group["guess"].to_numpy() != 1))  # no path must guess
        latency = group["latency_ms"].to_numpy()
        rows.append(
            {
                "dead": str(dead),
                "examples": len(group),
                "information_flow": flow,
                "live_accuracy": float(np.mean(group["prediction"].to_numpy() == labels)),
                "sweep_accuracy": sweep_accuracy,
                "differing": differing,
                "latency_p50_ms": float(np.percentile(latency, 50)),
                "latency_p99_ms": float(np.percentile(latency, 99)),
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def event_times(live: pd.DataFrame, applied: list[Applied], failable: list[str]) -> pd.DataFrame:
    """Per applied event, how long until the answers showed it.

    A kill or hang is seen when an answer that finished after it reports the node dead (time to
    detect); a resume or restart when one reports it contributing again (time to recover,
    which for a restart includes starting the process). Empty when never seen.
    """
    done = live["sent_at_ms"].to_numpy() + live["latency_ms"].to_numpy()
    rows = []
    for entry in applied:
        index = failable.index(entry.event.node)
        wanted = "1" if entry.event.action in ("resume", "restart") else "0"
        bits = live["dead"].astype(str).str[index].to_numpy()
        seen = (done > entry.at_ms) & (bits == wanted)
        after = float(done[seen].min() - entry.at_ms) if seen.any() else float("nan")
        rows.append(
            {
                "event": entry.event.action,
                "node": entry.event.node,
                "at_ms": entry.at_ms,
                "seen_after_ms": after,
            }
        )
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)
