"""live.csv against the sweep: per combination seen live, live accuracy beside the simulated one.

live.csv's ``contributed`` bit string (over topology.alive_columns: the failable nodes, then
the standby replicas; 1 = contributed) is read as the
sweep's combination with those nodes alive and every failable link up: live, only node
processes fail, links never do. For each such combination the sweep's prediction is recomputed
on exactly the examples that ran under it (``predict_combinations``), so the two accuracies are
comparable and every differing prediction is counted: live must equal simulated example by
example. Without a path the sweep scores the guess; on those examples its expected accuracy is
the mean training frequency of their labels, and the live answer must say it guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from resilinet_cli.live.chaos import Applied
from resilinet_cli.topology import Topology
from resilinet_cli.variants import GUESS, normalised_entropy

# ``contributed``: bit string over topology.alive_columns (failable nodes, then standby replicas),
# 1 = the node (replica) contributed to the prediction
# ``answered_by``: the node whose head answered (the output node: the model's output) or "guess";
# ``computed``: the nodes that ran their sub-model for the request, space-separated;
# ``lost``: the shaped links that lost (or were late with) a message of the request: their
# receivers went on without it, so no combination describes it (space-separated, shaping.py);
# ``mixed``: 1 when its receivers disagreed on a node (it contributed on one path and was given
# up on another, as while it fails or recovers): no combination describes it either;
# ``client``: which of live-eval's clients sent it (load.py), from 0
LIVE_COLUMNS = [
    "example", "sent_at_ms", "latency_ms", "contributed", "prediction", "label", "guess",
    "answered_by", "computed", "lost", "mixed", "client",
]  # fmt: skip
# ``combination``: the sweep's combination compared with, as combinations.csv's columns read in
# a row (failable nodes, 1 = alive, then failable links, always 1 live)
SUMMARY_COLUMNS = [
    "combination",
    "examples",
    "information_flow",
    "live_accuracy",
    "sweep_accuracy",
    "differing",
    "mixed_view",
    "lost_message",
    "near_threshold",
    "latency_p50_ms",
    "latency_p99_ms",
]
EVENT_COLUMNS = ["event", "node", "at_ms", "seen_after_ms"]
EXIT_COLUMNS = ["answered_by", "requests", "fraction", "latency_p50_ms", "latency_p99_ms"]
NEAR = 1e-5  # an entropy this close to T may fall either side of it live and simulated


@dataclass(frozen=True)
class ExitRule:
    """How a deployment of a model with exits answers (spec.py's exit_rule and threshold)."""

    rule: str  # "fallback" or "threshold"
    threshold: float


def judged(
    live: pd.DataFrame,
    model: Any,
    topology: Topology,
    x: np.ndarray,
    prior: np.ndarray,
    exit_rule: ExitRule | None = None,
) -> pd.DataFrame:
    """``live`` (live.csv's columns) with each request judged against the sweep.

    A request with a ``mixed`` view is not compared, since no combination of dead nodes
    describes it; nor is a request a shaped link lost a message of (``lost``). The others are
    compared with the sweep's prediction for their combination (``sweep_hit``: 1 when it is
    right; without a path, the guess's expected accuracy), and ``differs`` says the live answer
    is not the sweep's. With an ``exit_rule``
    (a model with exits) each is compared with the sweep's rule applied to it: the answering
    head and its prediction (``compared_exits``); ``near`` marks an entropy within rounding of T.
    """
    flags = live["mixed"].fillna(0).astype(bool).to_numpy()
    lost = live["lost"].fillna("").astype(str).str.len().to_numpy() > 0
    frame = live.assign(
        mixed=flags,
        lost_any=lost & ~flags,
        combination="",
        information_flow=False,
        compared=~flags & ~lost,
        sweep_hit=np.nan,
        differs=False,
        near=False,
    )
    graph = None
    if exit_rule is not None:
        from resilinet_cli.sweeps.node_graph import cut_nodes

        graph = cut_nodes(model, topology)
    for contributed, whole in frame.groupby("contributed", sort=False):
        combo = live_combination(topology, str(contributed))
        flow = topology.has_information_flow(combo)
        frame.loc[whole.index, "combination"] = topology.label(combo)
        frame.loc[whole.index, "information_flow"] = flow
        group = whole[whole["compared"]]
        if group.empty:
            continue
        if exit_rule is not None:
            hit, differs, near = compared_exits(group, combo, graph, topology, x, prior, exit_rule)
        else:
            hit, differs = compared(group, combo, flow, model, topology, x, prior)
            near = np.zeros(len(group), dtype=bool)
        frame.loc[group.index, "sweep_hit"] = hit
        frame.loc[group.index, "differs"] = differs
        frame.loc[group.index, "near"] = near
    return frame


def summarise(judgements: pd.DataFrame) -> pd.DataFrame:
    """One row per combination seen in the judged requests (``judged``), in order of first
    appearance: live accuracy beside the sweep's on the compared requests, differing
    predictions, and the requests counted apart (mixed view, lost message, near the threshold).
    """
    rows = []
    for _, whole in judgements.groupby("combination", sort=False):
        latency = whole["latency_ms"].to_numpy()
        group = whole[whole["compared"]]
        hits = group["prediction"].to_numpy() == group["label"].to_numpy()
        rows.append(
            {
                "combination": whole["combination"].iloc[0],
                "examples": len(whole),
                "information_flow": bool(whole["information_flow"].iloc[0]),
                "live_accuracy": float(np.mean(hits)) if len(group) else float("nan"),
                "sweep_accuracy": float(group["sweep_hit"].mean()),
                "differing": int(group["differs"].sum()),
                "mixed_view": int(whole["mixed"].sum()),
                "lost_message": int(whole["lost_any"].sum()),
                "near_threshold": int(group["near"].sum()),
                "latency_p50_ms": float(np.percentile(latency, 50)),
                "latency_p99_ms": float(np.percentile(latency, 99)),
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def live_combination(topology: Topology, contributed: str) -> tuple[int, ...]:
    """The sweep's combination for a live answer: its contributing nodes alive, links all up.

    Live, only node processes fail (chaos names nodes; a link is a gRPC call that works while
    both ends do), so every failable link of the topology carries data.
    """
    columns = list(topology.alive_columns)
    if len(contributed) != len(columns) or set(contributed) - {"0", "1"}:
        raise ValueError(f"{contributed!r} is no bit string over {columns}")
    return tuple(int(bit) for bit in contributed) + (1,) * len(topology.failable_links)


def compared(
    group: pd.DataFrame,
    combo: tuple[int, ...],
    flow: bool,
    model: Any,
    topology: Topology,
    x: np.ndarray,
    prior: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per request of one combination: the sweep's hit (its expected correctness) and whether
    the live answer differs from the sweep's."""
    from resilinet_cli.sweeps.sweep import predict_combinations

    examples = group["example"].to_numpy()
    labels = group["label"].to_numpy()
    predictions = group["prediction"].to_numpy()
    guesses = group["guess"].to_numpy()
    if flow:
        simulated = predict_combinations(model, topology, x[examples], [combo])[combo]
        expected = simulated.argmax(axis=-1)
        return (expected == labels).astype(float), (predictions != expected) | (guesses != 0)
    # no path: the guess's expected accuracy, and every answer must say it guessed
    return prior[labels].astype(float), guesses != 1


def compared_exits(
    group: pd.DataFrame,
    combo: tuple[int, ...],
    graph: Any,
    topology: Topology,
    x: np.ndarray,
    prior: np.ndarray,
    exit_rule: ExitRule,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Live against the exit sweep's rule on the requests of one combination, example by
    example: the answering node (``answered_by``) and the prediction must both agree. Returns
    per request the sweep's hit, whether live differs, and whether its entropy at an exit it
    reached is within ``NEAR`` of T (then it is not counted as differing)."""
    from resilinet_cli.sweeps.exits import ExitSweep

    examples = group["example"].to_numpy()
    labels = group["label"].to_numpy()
    sweep = ExitSweep(graph, topology, [combo])
    heads = {h: np.asarray(p) for h, p in sweep.head_outputs(x[examples]).items()}
    candidates, fallback = sweep.plan.rules[combo]
    answered, expected = [], []
    near = np.zeros(len(examples), dtype=bool)
    for i in range(len(examples)):
        head = fallback
        if exit_rule.rule == "threshold":
            for candidate in candidates:
                entropy = normalised_entropy(heads[candidate][i].astype(float))
                near[i] |= abs(entropy - exit_rule.threshold) < NEAR
                if entropy < exit_rule.threshold:
                    head = candidate
                    break
        answered.append(GUESS if head is None else head[0])
        expected.append(-1 if head is None else int(np.argmax(heads[head][i])))
    simulated = pd.DataFrame({"answered_by": answered, "prediction": expected})
    guessed = simulated["answered_by"].to_numpy() == GUESS
    hits = np.where(guessed, prior[labels], simulated["prediction"].to_numpy() == labels)
    wrong = (group["answered_by"].to_numpy() != simulated["answered_by"].to_numpy()) | (
        group["guess"].to_numpy() != guessed
    )
    wrong |= ~guessed & (group["prediction"].to_numpy() != simulated["prediction"].to_numpy())
    return hits.astype(float), wrong & ~near, near


def exit_table(live: pd.DataFrame) -> pd.DataFrame:
    """Per answering node: how many requests it answered, their fraction and latency."""
    rows = []
    for node, group in live.groupby("answered_by", sort=False):
        latency = group["latency_ms"].to_numpy()
        rows.append(
            {
                "answered_by": node,
                "requests": len(group),
                "fraction": len(group) / len(live),
                "latency_p50_ms": float(np.percentile(latency, 50)),
                "latency_p99_ms": float(np.percentile(latency, 99)),
            }
        )
    return pd.DataFrame(rows, columns=EXIT_COLUMNS)


def event_times(live: pd.DataFrame, applied: list[Applied], failable: list[str]) -> pd.DataFrame:
    """Per applied event, how long until the answers showed it.

    A kill or hang is seen when an answer that finished after it no longer reports the node
    contributing (time to detect); a resume or restart when one reports it again (time to recover,
    which for a restart includes starting the process). Empty when never seen.
    """
    done = live["sent_at_ms"].to_numpy() + live["latency_ms"].to_numpy()
    rows = []
    for entry in applied:
        index = failable.index(entry.event.node)
        wanted = "1" if entry.event.action in ("resume", "restart") else "0"
        bits = live["contributed"].astype(str).str[index].to_numpy()
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
