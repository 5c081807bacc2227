"""The classic partitioners the search must reduce to when nothing fails (issue 32).

With every survival 1, no skips and latency the only objective, a design is a tuple of cut
points on a chain of devices, and its latency is the sum of its nodes' compute times and its
links' transfer times. Two classics solve that from costs alone, with no training:

- Neurosurgeon (ASPLOS 2017) scans the cut points of a chain: ``brute_force_chain`` tries
  every increasing tuple of cut points, with FLOPs summed per layer here, independently of
  ``models/costs.cut_costs`` (which the search's analytic costs use), so that the two can
  check each other;
- DADS (INFOCOM 2019) splits the layer DAG between a device and a server by a minimum s-t cut,
  which may cut several tensors where resilinet's cut point sends one: ``min_cut_split``
  reports both and the gap.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

from resilinet_cli.models.costs import layer_flops
from resilinet_cli.models.cuts import LayerGraph
from resilinet_cli.search.cost_model import CostModel, chain_topology
from resilinet_cli.topology import link_name

# min_cut_split's capacities are integers (exact max-flow): milliseconds in picoseconds
_TICKS_PER_MS = 10**9


class ChainCosts:
    """Per-node FLOPs and per-cut bytes of a network, from its layers alone.

    A node between cut points ``a`` and ``b`` runs ``LayerGraph.segment(a, b)``: the calls
    that need ``b``'s output but not ``a``'s, i.e. what runs after ``a`` up to ``b``. Its
    FLOPs are the sum of those layers' profiler counts (``layer_flops``).
    """

    def __init__(self, network: Any) -> None:
        self.graph = LayerGraph(network)
        self.flops = layer_flops(network)
        self.points = self.graph.cut_points()
        self.calls = [self.graph.locate(point, "cut") for point in self.points]
        self._segments: dict[tuple[int, int], int] = {}

    def segment_flops(self, start: int, end: int) -> int:
        """FLOPs of the calls after call ``start`` up to call ``end`` (cached: a brute force
        asks for each pair many times)."""
        key = (start, end)
        if key not in self._segments:
            calls = self.graph.calls
            self._segments[key] = sum(
                self.flops.get(calls[i].name, 0) for i in self.graph.segment(start, end)
            )
        return self._segments[key]

    def design(self, chosen: Sequence[int], nodes: Sequence[str]) -> tuple[dict, dict]:
        """(FLOPs per node, bytes per link) of cutting after the calls ``chosen`` (one per
        node but the output node, in running order)."""
        ends = [*chosen, self.graph.output]
        starts = [self.graph.input, *chosen]
        flops = {
            node: self.segment_flops(a, b) for node, a, b in zip(nodes, starts, ends, strict=True)
        }
        sent = {
            link_name(a, b): tensor_bytes(self.graph, call)
            for a, b, call in zip(nodes, nodes[1:], chosen, strict=False)
        }
        return flops, sent


def tensor_bytes(graph: LayerGraph, call: int) -> int:
    """Bytes per example of the outputs of ``call``: what a link carries from it."""
    import tensorflow as tf

    return sum(
        math.prod(tensor.shape[1:]) * tf.as_dtype(tensor.dtype).size
        for tensor in graph.calls[call].node.output_tensors
    )


def chain_latencies(
    network: Any, nodes: Sequence[str], cost_model: CostModel
) -> dict[tuple[str, ...], float]:
    """The latency (ms) of every increasing tuple of cut points on the chain ``nodes``."""
    chain = ChainCosts(network)
    topology = chain_topology(nodes)
    found = {}
    for tuple_ in itertools.combinations(range(len(chain.points)), len(nodes) - 1):
        chosen = [chain.calls[i] for i in tuple_]
        flops, sent = chain.design(chosen, nodes)
        found[tuple(chain.points[i] for i in tuple_)] = cost_model.latency(flops, sent, topology)[0]
    return found


def brute_force_chain(
    network: Any, nodes: Sequence[str], cost_model: CostModel
) -> tuple[dict[str, str], float]:
    """Neurosurgeon's scan, exhaustive: the cuts (node -> layer) of least latency over every
    increasing tuple of cut points, and that latency; the first such tuple in lexicographic
    order of cut positions on a tie. No dynamic programming: it is the reference."""
    latencies = chain_latencies(network, nodes, cost_model)
    best = min(latencies, key=latencies.__getitem__)
    return dict(zip(nodes[:-1], best, strict=True)), latencies[best]


@dataclass(frozen=True)
class Split:
    """A two-party split of a network: the device computes ``device_layers``, sends the
    outputs of ``sent`` (layer names) and the server computes the rest."""

    latency_ms: float
    sent: tuple[str, ...]
    device_layers: frozenset[str]


@dataclass(frozen=True)
class MinCutComparison:
    """DADS' unrestricted minimum cut against resilinet's best single cut point."""

    min_cut: Split
    single_cut: Split

    @property
    def gap_ms(self) -> float:
        """How much lower the unrestricted cut is (0 when one cut point is as good)."""
        return self.single_cut.latency_ms - self.min_cut.latency_ms


def min_cut_split(
    network: Any,
    device_fps: float,
    server_fps: float,
    bandwidth: float,
    latency_ms: float,
) -> MinCutComparison:
    """DADS' latency split on the layer DAG, and the best single cut for the same two parties.

    Latency = the device's compute time + each sent tensor's transfer time (``latency_ms +
    8 * bytes / bandwidth``, one message per tensor) + the server's compute time: sequential,
    as DADS' light-load case. The s-t graph (s = the device, t = the server): per layer call
    v, an edge s->v of the server's time for v (paid if v runs on the server) and v->t of the
    device's (paid if it runs on the device); per call u read by others, u->u' of u's transfer
    time and u'->w of infinite capacity to each reader w (a tensor is sent once, however many
    server layers read it), and w->u of infinite capacity (no layer on the device reads the
    server's output). The input layer is pinned to the device and the output layer to the
    server, as resilinet's output node needs a layer of its own. A single cut point is one
    such split, so the minimum cut is never higher.
    """
    graph = LayerGraph(network)
    flops = layer_flops(network)
    device = [1000.0 * flops.get(c.name, 0) / device_fps for c in graph.calls]
    server = [1000.0 * flops.get(c.name, 0) / server_fps for c in graph.calls]
    transfer = [
        latency_ms + 1000.0 * 8 * tensor_bytes(graph, i) / bandwidth
        for i in range(len(graph.calls))
    ]
    readers: dict[int, list[int]] = {i: [] for i in range(len(graph.calls))}
    for w, call in enumerate(graph.calls):
        for u in call.reads:
            readers[u].append(w)

    def ticks(ms: float) -> int:
        return round(ms * _TICKS_PER_MS)

    flow = nx.DiGraph()
    for v in range(len(graph.calls)):  # an edge without a capacity is infinite: pinned
        flow.add_edge("s", v, **({} if v == graph.input else {"capacity": ticks(server[v])}))
        flow.add_edge(v, "t", **({} if v == graph.output else {"capacity": ticks(device[v])}))
        if readers[v]:
            flow.add_edge(v, ("sent", v), capacity=ticks(transfer[v]))
            for w in readers[v]:
                flow.add_edge(("sent", v), w)  # no capacity: infinite
                flow.add_edge(w, v)
    _, (device_side, _) = nx.minimum_cut(flow, "s", "t")
    on_device = {v for v in device_side if isinstance(v, int)}

    def split(on: set[int]) -> Split:
        sent = sorted(u for u in on if any(w not in on for w in readers[u]))
        ms = sum(device[v] if v in on else server[v] for v in range(len(graph.calls)))
        ms += sum(transfer[u] for u in sent)
        names = frozenset(graph.calls[v].name for v in on)
        return Split(ms, tuple(graph.calls[u].name for u in sent), names)

    singles = []
    for point in graph.cut_points():
        bits = graph.before(graph.locate(point, "cut"))
        singles.append(split({v for v in range(len(graph.calls)) if bits >> v & 1}))
    best_single = min(singles, key=lambda s: s.latency_ms)
    return MinCutComparison(split(on_device), best_single)
