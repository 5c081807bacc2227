"""Fixed hyperconnection weight schemes 1-4 (docs/method.md §5).

Weights are computed once, when a model is built, for every link of the topology. The input
node never fails, so its reliability is 1.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from resilinet_cli.topology import Link, Topology

SCHEMES = {
    1: "all ones",
    2: "sender reliability normalised over each node's inputs",
    3: "sender reliability",
    4: "uniform random in (0, 1), drawn per link",
    5: "learned: one trainable scalar >= 0 per link, from 1",
}
LEARNED = 5


def hyperconnection_weights(
    topology: Topology,
    scheme: int,
    reliability: Sequence[float],
    rng: random.Random | None = None,
) -> dict[Link, float]:
    """Weight of every link under ``scheme``; ``reliability`` is in failable-node order.

    Scheme 4 draws from ``rng``; the reference code drew unseeded, we take the caller's seed so
    that a run can be repeated (and record the drawn weights in the model).
    """
    survival = dict(zip(topology.alive_columns, reliability, strict=True))

    def r(node: str) -> float:
        return survival.get(node, 1.0)

    if scheme in (1, LEARNED):  # a learned weight starts where scheme 1 stays
        return {link: 1.0 for link in topology.links}
    if scheme == 2:
        weights = {}
        for node in topology.nodes[1:]:
            incoming = topology.incoming(node)
            total = sum(r(link.src) for link in incoming)
            for link in incoming:
                weights[link] = r(link.src) / total if total > 0 else 0.0
        return weights
    if scheme == 3:
        return {link: r(link.src) for link in topology.links}
    if scheme == 4:
        rng = rng or random.Random()
        return {link: rng.random() for link in topology.links}
    raise ValueError(f"Unknown hyperconnection weight scheme. Received: scheme={scheme}")
