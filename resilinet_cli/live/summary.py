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
    "mixed_view",
    "latency_p50_ms",
    "latency_p99_ms",
]
EVENT_COLUMNS = ["event", "node", "at_ms", "seen_after_ms"]


def summarise(
    live: pd.DataFrame,
    model: Any,
    topology: Topology,
    x: np.ndarray,
    prior: np.ndarray,
    mixed: list[bool] | None = None,
) -> pd.DataFrame:
    """One row per dead set in ``live`` (live.csv's columns), in order of first appearance.

    ``mixed`` flags each request whose receivers disagreed on a node (it contributed on one
    path and was given up on another, as happens while it fails or recovers): no combination
    of dead nodes describes it, so it is counted in ``mixed_view`` and not compared.
    """
    flags = np.zeros(len(live), dtype=bool) if mixed is None else np.asarray(mixed, dtype=bool)
    rows = []
    for dead, whole in live.assign(mixed=flags).groupby("dead", sort=False):
        # live, only processes fail: every failable link of the topology is up
        combo = tuple(int(bit) for bit in str(dead)) + (1,) * len(topology.failable_links)
        flow = topology.has_information_flow(combo)
        latency = whole["latency_ms"].to_numpy()
        row = {
            "dead": str(dead),
            "examples": len(whole),
            "information_flow": flow,
            "live_accuracy": float("nan"),
            "sweep_accuracy": float("nan"),
            "differing": 0,
            "mixed_view": int(whole["mixed"].sum()),
            "latency_p50_ms": float(np.percentile(latency, 50)),
            "latency_p99_ms": float(np.percentile(latency, 99)),
        }
        group = whole[~whole["mixed"]]
        if not group.empty:
            row.update(compared(group, combo, flow, model, topology, x, prior))
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def compared(
    group: pd.DataFrame,
    combo: tuple[int, ...],
    flow: bool,
    model: Any,
    topology: Topology,
    x: np.ndarray,
    prior: np.ndarray,
) -> dict[str, Any]:
    """Live against simulated on the requests of one dead set: accuracies and differences."""
    from resilinet_cli.sweeps.sweep import predict_combinations

    examples = group["example"].to_numpy()
    labels = group["label"].to_numpy()
    predictions = group["prediction"].to_numpy()
    guesses = group["guess"].to_numpy()
    if flow:
        simulated = predict_combinations(model, topology, x[examples], [combo])[combo]
        expected = simulated.argmax(axis=-1)
        sweep_accuracy = float(np.mean(expected == labels))
        differing = int(np.sum(predictions != expected)) + int(np.sum(guesses != 0))
    else:  # no path: the guess's expected accuracy, and every answer must say it guessed
        sweep_accuracy = float(np.mean(prior[labels]))
        differing = int(np.sum(guesses != 1))
    return {
        "live_accuracy": float(np.mean(predictions == labels)),
        "sweep_accuracy": sweep_accuracy,
        "differing": differing,
    }


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
