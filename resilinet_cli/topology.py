"""The physical-node DAG: links, failure combinations, their probabilities, information flow.

docs/method.md §2.1 and §6. A failure combination is a tuple of 0/1 flags, one per failable node in
the order the topology lists them (1 = alive); combinations are enumerated MSB first, so index i
of the sweep is the binary number i, exactly as in the reference code.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import networkx as nx

from resilinet_cli.errors import unknown_choice

Combination = tuple[int, ...]


class TopologySpec(Protocol):
    """What a topology is made from: a config's ``topology:`` section (``TopologyConfig``).

    A protocol, so that this module, which everything imports, imports no config code.
    """

    nodes: list[str]
    links: list[tuple[str, str]]
    skips: list[tuple[str, str]]
    failable: list[str]
    reliability: dict[str, list[float]]


@dataclass(frozen=True)
class Link:
    """A hyperconnection from ``src`` to ``dst``; ``skip`` marks one that bypasses nodes."""

    src: str
    dst: str
    skip: bool = False


@dataclass(frozen=True)
class Topology:
    nodes: tuple[str, ...]
    links: tuple[Link, ...]
    failable: tuple[str, ...]
    reliability: dict[str, tuple[float, ...]] = field(default_factory=dict, compare=False)

    @classmethod
    def from_config(cls, config: TopologySpec) -> Topology:
        links = [Link(a, b) for a, b in config.links] + [Link(a, b, True) for a, b in config.skips]
        reliability = {name: tuple(r) for name, r in config.reliability.items()}
        return cls(tuple(config.nodes), tuple(links), tuple(config.failable), reliability)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Topology:
        """The topology of an (already valid) ``topology:`` mapping, such as a generated one."""
        links = [Link(a, b) for a, b in mapping["links"]]
        links += [Link(a, b, True) for a, b in mapping.get("skips", ())]
        reliability = {name: tuple(r) for name, r in mapping["reliability"].items()}
        return cls(tuple(mapping["nodes"]), tuple(links), tuple(mapping["failable"]), reliability)

    @property
    def input_node(self) -> str:
        return self.nodes[0]

    @property
    def output_node(self) -> str:
        return self.nodes[-1]

    @property
    def skips(self) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.skip)

    def with_skips(self, keep: Iterable[tuple[str, str]]) -> Topology:
        """The same topology with only the listed skip hyperconnections (Vanilla: none)."""
        wanted = set(keep)
        links = tuple(k for k in self.links if not k.skip or (k.src, k.dst) in wanted)
        return Topology(self.nodes, links, self.failable, self.reliability)

    def incoming(self, node: str) -> list[Link]:
        """Links into ``node``: chain links first, then skips from the nearest sender.

        This is also the priority order of the ResiliNet input multiplexer.
        """
        order = {name: i for i, name in enumerate(self.nodes)}
        chain = [k for k in self.links if k.dst == node and not k.skip]
        skips = sorted(
            (k for k in self.links if k.dst == node and k.skip), key=lambda k: -order[k.src]
        )
        return chain + skips

    def combinations(self) -> list[Combination]:
        """All 2^N alive/dead assignments, index i = binary i (MSB = first failable node)."""
        return list(itertools.product((0, 1), repeat=len(self.failable)))

    def graph(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        graph.add_nodes_from(self.nodes)
        graph.add_edges_from((k.src, k.dst) for k in self.links)
        return graph

    def has_information_flow(self, combination: Combination) -> bool:
        """True if a path of alive nodes still joins the input to the output."""
        dead = [n for n, alive in zip(self.failable, combination, strict=True) if not alive]
        graph = self.graph()
        graph.remove_nodes_from(dead)
        return nx.has_path(graph, self.input_node, self.output_node)

    def probability(self, combination: Combination, reliability: Sequence[float]) -> float:
        """P(combination) for independent failures with per-node survival ``reliability``."""
        return probability(combination, reliability)

    def label(self, combination: Combination) -> str:
        """The bit string of a combination, e.g. '110' (fog1, fog2 alive, edge dead)."""
        return "".join(str(bit) for bit in combination)

    def combination_of_dead(self, dead: Iterable[str]) -> Combination:
        """The combination in which exactly the ``dead`` nodes have failed."""
        dead = set(dead)
        return tuple(0 if node in dead else 1 for node in self.failable)


def probability(combination: Combination, reliability: Sequence[float]) -> float:
    """P(combination) for independent failures with per-node survival ``reliability``."""
    return math.prod(
        r if alive else 1.0 - r for alive, r in zip(combination, reliability, strict=True)
    )


def topology_problems(config: TopologySpec) -> list[tuple[str, str]]:
    """Every structural problem of a topology, as (key path, message) pairs."""
    problems: list[tuple[str, str]] = []
    nodes = config.nodes
    order = {name: i for i, name in enumerate(nodes)}
    for name in {n for n in nodes if nodes.count(n) > 1}:
        problems.append(("topology.nodes", f"duplicate node name '{name}'"))

    def check_node(where: str, name: str) -> bool:
        if name not in order:
            problems.append((where, unknown_choice("node", name, nodes)))
            return False
        return True

    for kind in ("links", "skips"):
        for i, (src, dst) in enumerate(getattr(config, kind)):
            where = f"topology.{kind}[{i}]"
            if not (check_node(where, src) & check_node(where, dst)):
                continue
            gap = order[dst] - order[src]
            if gap <= 0:
                message = (
                    f"{src} -> {dst} points backwards (links run from input to output: no cycles)"
                )
                problems.append((where, message))
            elif kind == "skips" and gap == 1:
                problems.append((where, f"{src} -> {dst} skips no node; list it under links"))
    for i, name in enumerate(config.failable):
        where = f"topology.failable[{i}]"
        if check_node(where, name) and name in (nodes[0], nodes[-1]):
            problems.append((where, f"'{name}' is the input or output node, which never fails"))
    if len(set(config.failable)) != len(config.failable):
        problems.append(("topology.failable", "a node is listed twice"))
    for name, vector in config.reliability.items():
        if len(vector) != len(config.failable):
            message = (
                f"has {len(vector)} values, expected {len(config.failable)} (one per failable node)"
            )
            problems.append((f"topology.reliability.{name}", message))
    if problems:
        return problems
    graph = Topology.from_config(config).graph()
    reachable = nx.descendants(graph, nodes[0]) | {nodes[0]}
    for name in nodes:
        if name not in reachable:
            problems.append(("topology.nodes", f"node '{name}' is unreachable from '{nodes[0]}'"))
    return problems
