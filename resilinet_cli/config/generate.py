"""Generated topologies, for experiments with more failable nodes than the paper's.

``chain`` is iot -> fog1 -> ... -> fogN -> cloud, where every fog node is bypassed by a skip
hyperconnection from its predecessor to its successor, so that information still flows as long
as no two neighbouring fog nodes are dead. The generators return the same mapping a config's
inline ``topology:`` section holds, so a generated topology is validated like any other.
Keras-free: ``config/schema.py`` uses it before TensorFlow is imported.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from resilinet_cli.topology import Topology

# Named reliability settings of a generated chain: per-node survival spread linearly from the
# first fog node to the last (deterministic, so a config means the same thing everywhere).
CHAIN_SPREADS: dict[str, tuple[float, float]] = {
    "normal": (0.95, 0.85),
    "poor": (0.90, 0.80),
    "hazardous": (0.85, 0.75),
}


def spread(first: float, last: float, size: int) -> list[float]:
    """``size`` values from ``first`` to ``last``, evenly spaced (their mean if size is 1)."""
    if size == 1:
        return [round((first + last) / 2, 6)]
    return [round(first + (last - first) * k / (size - 1), 6) for k in range(size)]


def chain_mapping(size: int) -> dict[str, Any]:
    """The topology mapping of a chain of ``size`` failable fog nodes with one-node skips."""
    if size < 1:
        raise ValueError(f"a chain needs at least one fog node. Received: size={size}")
    fogs = [f"fog{k}" for k in range(1, size + 1)]
    nodes = ["iot", *fogs, "cloud"]
    reliability = {"no_failure": [1.0] * size}
    reliability |= {name: spread(*ends, size) for name, ends in CHAIN_SPREADS.items()}
    return {
        "nodes": nodes,
        "links": [list(pair) for pair in itertools.pairwise(nodes)],
        "skips": [[nodes[k - 1], nodes[k + 1]] for k in range(1, size + 1)],
        "failable": fogs,
        "reliability": reliability,
    }


GENERATORS: dict[str, Callable[[int], dict[str, Any]]] = {"chain": chain_mapping}


def generated_topology(kind: str, size: int) -> Topology:
    """The ``Topology`` object of a generated mapping (without going through a config)."""
    return Topology.from_mapping(GENERATORS[kind](size))


def chain_topology(size: int) -> Topology:
    """iot -> fog1 -> ... -> fog<size> -> cloud, each fog node bypassed by a skip."""
    return generated_topology("chain", size)
