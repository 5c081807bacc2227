"""Failure combinations most likely first, and information flow for many combinations at once.

With N failable nodes there are 2^N combinations, too many to list for large N. Under
independent failures, P(c) = P(c*) · exp(-Σ_{k flipped} cost_k), where c* sets every node to its
more likely state and cost_k = log(max(r_k, 1-r_k) / min(r_k, 1-r_k)) >= 0 is the price of
flipping node k. So listing combinations by decreasing probability is listing subsets of flips by
increasing total cost, which a heap does lazily (each subset has exactly one parent: drop its
largest flip index, or shift it down by one). Nothing is enumerated beyond what is asked for.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np

from resilinet_cli.topology import Combination, Topology, link_name


def by_probability(reliability: Sequence[float]) -> Iterator[tuple[Combination, float]]:
    """Every combination of nonzero probability, with its probability, most likely first.

    ``reliability`` is the per-node survival probability in failable-node order. Nodes with
    survival 0 or 1 never flip, so combinations of probability 0 are never yielded.
    """
    survival = [float(r) for r in reliability]
    likely = tuple(1 if r >= 0.5 else 0 for r in survival)
    flips = sorted(
        (math.log(max(r, 1 - r)) - math.log(min(r, 1 - r)), k)
        for k, r in enumerate(survival)
        if 0.0 < r < 1.0
    )
    costs = [cost for cost, _ in flips]
    nodes = [k for _, k in flips]

    def combination(flipped: tuple[int, ...]) -> tuple[Combination, float]:
        bits = list(likely)
        for i in flipped:
            bits[nodes[i]] = 1 - bits[nodes[i]]
        combo = tuple(bits)
        return combo, math.prod(r if a else 1 - r for a, r in zip(combo, survival, strict=True))

    yield combination(())
    if not costs:
        return
    order = itertools.count()  # ties broken by insertion order: deterministic
    heap = [(costs[0], next(order), (0,))]
    while heap:
        cost, _, flipped = heapq.heappop(heap)
        yield combination(flipped)
        last = flipped[-1]
        if last + 1 < len(costs):
            extend = (*flipped, last + 1)
            shift = (*flipped[:-1], last + 1)
            heapq.heappush(heap, (cost + costs[last + 1], next(order), extend))
            heapq.heappush(heap, (cost - costs[last] + costs[last + 1], next(order), shift))


def nonzero_count(reliability: Sequence[float]) -> int:
    """How many combinations have nonzero probability (2 to the number of uncertain nodes)."""
    return 2 ** sum(1 for r in reliability if 0.0 < r < 1.0)


def flow_mask(topology: Topology, alive: np.ndarray) -> np.ndarray:
    """Information flow of each row of ``alive`` ([rows, N+L] 0/1): a vectorised reachability.

    Links run from earlier to later nodes (config validation enforces it), so one pass in node
    order decides, for every row at once, which nodes the input (an alive device's part of it)
    still reaches; a dead failable link carries nothing.
    """
    alive = np.asarray(alive).astype(bool, copy=False)
    column = {name: i for i, name in enumerate(topology.columns)}
    everyone = np.ones(alive.shape[0], dtype=bool)
    reached = {s: alive[:, column[s]] if s in column else everyone for s in topology.sources}
    for node in topology.nodes[len(topology.sources) :]:
        fed = np.zeros(alive.shape[0], dtype=bool)
        for link in topology.incoming(node):
            carried = reached[link.src]
            name = link_name(link.src, link.dst)
            if name in column:
                carried = carried & alive[:, column[name]]
            fed |= carried
        reached[node] = fed & alive[:, column[node]] if node in column else fed
    return reached[topology.output_node]


def combination_keys(alive: np.ndarray) -> np.ndarray:
    """A hashable key per row of ``alive``: uint64 codes up to 64 nodes, bytes beyond."""
    bits = np.asarray(alive).astype(np.uint8, copy=False)
    if bits.shape[1] <= 64:
        weights = np.left_shift(np.uint64(1), np.arange(bits.shape[1], dtype=np.uint64))
        return (bits.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    packed = np.packbits(bits, axis=1)
    keys = np.empty(len(packed), dtype=object)
    keys[:] = [row.tobytes() for row in packed]
    return keys


def is_member(keys: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Which ``keys`` are among ``members`` (both from ``combination_keys``)."""
    if keys.dtype == object:
        known = set(members.tolist())
        return np.fromiter((key in known for key in keys), dtype=bool, count=len(keys))
    return np.isin(keys, members)
