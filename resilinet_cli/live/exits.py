"""Exits live: when a node's head answers, and which exit answers for the output node.

The rules are the sweep's (sweeps/exits.py), decided where the data is: under the threshold
rule a reached node whose head is sure of every row (normalised entropy below T) answers at
once, and the nodes above pass its answer on without computing (node.py); when information
does not reach the output node, it asks the exits and the deepest one reached answers (the
fallback), unless under the threshold rule one of them already answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from resilinet_cli.live.spec import DeploymentSpec
from resilinet_cli.variants import GUESS, normalised_entropy


class ExitReply(Protocol):
    """What an exit's reply says (node.py's ``Pulled``)."""

    reached: bool
    answer: np.ndarray | None
    answered_by: str


def entropies(probabilities: np.ndarray) -> np.ndarray:
    """Each row's normalised entropy (variants.normalised_entropy, in float64)."""
    return np.array([normalised_entropy(row.astype(float)) for row in probabilities])


def confident(probabilities: np.ndarray, threshold: float) -> bool:
    """Whether a head answers a request: every row's entropy is below the threshold (a
    request of one example, as live-eval sends, exits exactly as the sweep's example does)."""
    return bool(np.all(entropies(probabilities) < threshold))


def chosen_exit(
    spec: DeploymentSpec, asked: Mapping[str, ExitReply | None]
) -> tuple[str, np.ndarray | None]:
    """The answering exit and its probabilities for a request without a path to the output
    node: an exit that answered (threshold rule), first in chain order; else the deepest exit
    information reaches; else the guess (None)."""
    replies = {node: reply for node, reply in asked.items() if reply is not None}
    exited = [r for r in replies.values() if r.answered_by]
    if exited:
        first = min(exited, key=lambda r: spec.exits.index(r.answered_by))
        return first.answered_by, first.answer
    for node in reversed(spec.exits):
        reply = replies.get(node)
        if reply is not None and reply.reached and reply.answer is not None:
            return node, reply.answer
    return GUESS, None
