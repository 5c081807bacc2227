"""The physical-node DAG: links, failure combinations, their probabilities, information flow.

docs/method.md §2.1 and §6. A failure combination is a tuple of 0/1 flags, one per failable node in
the order the topology lists them (1 = alive), then one per standby replica (``replicas``, named
``<node>_r<k>``), then one per failable link (``failable_links``, named ``src->dst``; 1 = carries
data); combinations are enumerated MSB first, so index i of the sweep is the binary number i,
exactly as in the reference code. Reliability settings give the nodes' survival only: a replica
takes its primary's, and every failable link always carries data.

A node served by replicas (docs/variants.md, "Standby replicas") is up while any of its replicas
is: the primary (the node's own column) or a standby.

A fan-in topology (docs/sensors.md) lists several input devices first, each seeing part of the
input; they feed its hub (the first node after them), which aggregates what arrives and holds no
layers. Information flows when a path of alive nodes joins any alive device to the output.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import networkx as nx

from resilinet_cli.errors import unknown_choice

Combination = tuple[int, ...]
# A link is spelled three ways, all here: its name in configs and combinations tables, its label
# in tables, figures and reports, and the prefix of its Keras layers and recorded weights.
LINK_ARROW = "->"
# how a fan-in topology's hub combines its devices' outputs (layers/aggregate.py)
AGGREGATES = ("concat", "max", "mean")
LABEL_ARROW = "→"


def replica_name(node: str, k: int) -> str:
    """The alive column of replica ``k`` (2, 3, ...) of ``node``: ``edge_r2``; the primary, replica
    1, keeps the node's own name."""
    return f"{node}_r{k}"


def link_name(src: str, dst: str) -> str:
    """A link's name in configs and combinations tables: ``edge->fog2``."""
    return f"{src}{LINK_ARROW}{dst}"


def link_label(src: str, dst: str, *, spaced: bool = False) -> str:
    """A link as the paper's figures draw it: 'iot→fog2' in table cells and figure ticks,
    'iot → fog2' (``spaced``) in the prose and tables of report pages."""
    return f"{src} {LABEL_ARROW} {dst}" if spaced else f"{src}{LABEL_ARROW}{dst}"


def layer_prefix(src: str, dst: str) -> str:
    """The prefix of a link's Keras layers (``iot_fog2_weight``), the key of its learned weight
    in unit records (``iot_fog2``)."""
    return f"{src}_{dst}"


def label_of_prefix(prefix: str) -> str:
    """The spaced label of a link recorded by its layer prefix: 'iot_fog2' -> 'iot → fog2'."""
    return prefix.replace("_", f" {LABEL_ARROW} ")


class TopologySpec(Protocol):
    """What a topology is made from: a config's ``topology:`` section (``TopologyConfig``).

    A protocol, so that this module, which everything imports, imports no config code.
    """

    nodes: list[str]
    devices: list[str]
    aggregate: str
    links: list[tuple[str, str]]
    skips: list[tuple[str, str]]
    failable: list[str]
    failable_links: list[str]
    reliability: dict[str, list[float]]
    devices_key: str  # the key that declares the devices


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
    # links that can fail on their own, "src->dst"; a skip Vanilla lacks keeps its (inert) flag
    failable_links: tuple[str, ...] = ()
    # standby replicas, (column, primary node), in column order after the failable nodes
    replicas: tuple[tuple[str, str], ...] = ()
    # input devices of a fan-in topology: the first nodes, each feeding the hub
    devices: tuple[str, ...] = ()
    aggregate: str = "concat"  # how the hub combines the devices: concat, max or mean

    @classmethod
    def from_config(cls, config: TopologySpec) -> Topology:
        links = [Link(a, b) for a, b in config.links] + [Link(a, b, True) for a, b in config.skips]
        reliability = {name: tuple(r) for name, r in config.reliability.items()}
        return cls(
            tuple(config.nodes),
            tuple(links),
            tuple(config.failable),
            reliability,
            tuple(config.failable_links),
            devices=tuple(config.devices),
            aggregate=config.aggregate,
        )

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Topology:
        """The topology of an (already valid) ``topology:`` mapping, such as a generated one."""
        links = [Link(a, b) for a, b in mapping["links"]]
        links += [Link(a, b, True) for a, b in mapping.get("skips", ())]
        reliability = {name: tuple(r) for name, r in mapping["reliability"].items()}
        failable_links = tuple(mapping.get("failable_links", ()))
        nodes, failable = tuple(mapping["nodes"]), tuple(mapping["failable"])
        return cls(nodes, tuple(links), failable, reliability, failable_links)

    @property
    def input_node(self) -> str:
        """Where the input enters the chain: the first node, or a fan-in topology's hub."""
        return self.nodes[len(self.devices)]

    @property
    def sources(self) -> tuple[str, ...]:
        """The nodes that read the features: the devices, or the input node."""
        return self.devices or (self.nodes[0],)

    @property
    def receivers(self) -> tuple[str, ...]:
        """The chain's nodes after its input node (or hub): those the model families fill."""
        return self.nodes[len(self.devices) + 1 :]

    @property
    def fan_in(self) -> bool:
        """Whether the hub aggregates two or more devices (one device is the plain chain)."""
        return len(self.devices) > 1

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
        return replace(self, links=links)

    def with_replicas(self, counts: Mapping[str, int]) -> Topology:
        """The topology with ``counts[node] - 1`` standby replicas of each listed failable node.

        A replica's survival in every reliability setting is its primary's.
        """
        replicas = tuple(
            (replica_name(node, k), node)
            for node in self.failable
            for k in range(2, counts.get(node, 1) + 1)
        )
        if not replicas:
            return self
        index = {node: i for i, node in enumerate(self.failable)}
        reliability = {
            name: (*values, *(values[index[primary]] for _, primary in replicas))
            for name, values in self.reliability.items()
        }
        return replace(self, reliability=reliability, replicas=self.replicas + replicas)

    def for_table(self, columns: Iterable[str]) -> Topology:
        """The topology of a combinations table with these columns: with the replicas it has."""
        names = set(columns)
        counts = {}
        for node in self.failable:
            k = 2
            while replica_name(node, k) in names:
                k += 1
            counts[node] = k - 1
        return self.with_replicas(counts) if not self.replicas else self

    @property
    def alive_columns(self) -> tuple[str, ...]:
        """The node flags of a combination: failable nodes, then standby replicas."""
        return (*self.failable, *(column for column, _ in self.replicas))

    @property
    def columns(self) -> tuple[str, ...]:
        """The flags of a combination: failable nodes, standby replicas, then failable links."""
        return (*self.alive_columns, *self.failable_links)

    def replicas_of(self, node: str) -> tuple[str, ...]:
        """The alive columns serving ``node``, in serving order: the primary, then its standbys."""
        return (node, *(column for column, primary in self.replicas if primary == node))

    def dead_nodes(self, flags: Mapping[str, int]) -> set[str]:
        """The failable nodes that are down under ``flags``: every replica of theirs is dead."""
        return {n for n in self.failable if not any(flags[r] for r in self.replicas_of(n))}

    def serving(self, flags: Mapping[str, int], node: str) -> str | None:
        """The replica that serves ``node`` under ``flags`` (the first alive one), or None."""
        return next((r for r in self.replicas_of(node) if flags.get(r, 1)), None)

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
        """All 2^(N+L) alive/dead assignments, index i = binary i (MSB = first failable node)."""
        return list(itertools.product((0, 1), repeat=len(self.columns)))

    def graph(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        graph.add_nodes_from(self.nodes)
        graph.add_edges_from((k.src, k.dst) for k in self.links)
        return graph

    def has_information_flow(self, combination: Combination) -> bool:
        """True if a path of alive nodes and live links still joins the input to the output."""
        flags = dict(zip(self.columns, combination, strict=True))
        graph = self.graph()
        graph.remove_edges_from(
            (k.src, k.dst) for k in self.links if not flags.get(link_name(k.src, k.dst), 1)
        )
        graph.remove_nodes_from(self.dead_nodes(flags))
        return any(
            source in graph and nx.has_path(graph, source, self.output_node)
            for source in self.sources
        )

    def probability(self, combination: Combination, reliability: Sequence[float]) -> float:
        """P(combination) for independent failures with per-node survival ``reliability``.

        Failable links always carry data under a reliability setting, unless ``reliability``
        goes on with one survival probability per failable link.
        """
        return probability(combination, self.survival(reliability))

    def survival(self, reliability: Sequence[float]) -> tuple[float, ...]:
        """Per-column survival: a setting's nodes' values, each replica its primary's (unless
        given), then 1 for each failable link (unless given)."""
        reliability = tuple(reliability)
        if len(reliability) == len(self.failable) and self.replicas:
            index = {node: i for i, node in enumerate(self.failable)}
            reliability += tuple(reliability[index[primary]] for _, primary in self.replicas)
        if len(reliability) == len(self.alive_columns):
            reliability += (1.0,) * len(self.failable_links)
        if len(reliability) != len(self.columns):
            raise ValueError(
                f"expected {len(self.failable)} survival values (or {len(self.columns)} with "
                f"the replicas and failable links), got {len(reliability)}"
            )
        return reliability

    def label(self, combination: Combination) -> str:
        """The bit string of a combination, e.g. '110' (fog1, fog2 alive, edge dead)."""
        return "".join(str(bit) for bit in combination)

    def combination_of_dead(self, dead: Iterable[str]) -> Combination:
        """The combination in which exactly the ``dead`` nodes (and links) have failed."""
        dead = set(dead)
        return tuple(0 if name in dead else 1 for name in self.columns)


def probability(combination: Combination, reliability: Sequence[float]) -> float:
    """P(combination) for independent failures with per-node survival ``reliability``."""
    return math.prod(
        r if alive else 1.0 - r for alive, r in zip(combination, reliability, strict=True)
    )


def topology_problems(config: TopologySpec) -> list[tuple[str, str]]:
    """Every structural problem of a topology, as (key path, message) pairs."""
    problems: list[tuple[str, str]] = []
    nodes = config.nodes
    devices = list(config.devices)
    entry = nodes[len(devices)] if len(nodes) > len(devices) else nodes[0]
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
        if check_node(where, name) and name in (entry, nodes[-1]):
            what = "hub, which aggregates the devices and" if devices else "input or output node,"
            problems.append((where, f"'{name}' is the {what} which never fails"))
    if len(set(config.failable)) != len(config.failable):
        problems.append(("topology.failable", "a node is listed twice"))
    names = [link_name(src, dst) for src, dst in [*config.links, *config.skips]]
    for i, name in enumerate(config.failable_links):
        if name not in names:
            problems.append((f"topology.failable_links[{i}]", unknown_choice("link", name, names)))
    if len(set(config.failable_links)) != len(config.failable_links):
        problems.append(("topology.failable_links", "a link is listed twice"))
    for name, vector in config.reliability.items():
        if len(vector) != len(config.failable):
            message = (
                f"has {len(vector)} values, expected {len(config.failable)} (one per failable node)"
            )
            problems.append((f"topology.reliability.{name}", message))
    if problems:
        return problems
    if len(devices) >= len(nodes) - 1:
        return [("topology.nodes", "needs a hub and an output node after the devices")]
    topology = Topology.from_config(config)
    graph = topology.graph()
    sources = topology.sources
    reachable = set(sources).union(*(nx.descendants(graph, s) for s in sources))
    for name in nodes:
        if name not in reachable:
            start = "the devices" if devices else f"'{nodes[0]}'"
            problems.append(("topology.nodes", f"node '{name}' is unreachable from {start}"))
    stranded = [d for d in devices if d in order and not nx.has_path(graph, d, nodes[-1])]
    if stranded:
        names = ", ".join(f"'{d}'" for d in stranded)
        message = f"device {names} has no path to the output node '{nodes[-1]}'"
        if len(stranded) > 1:
            message = f"devices {names} have no path to the output node '{nodes[-1]}'"
        problems.append((config.devices_key, message))
    for kind in ("links", "skips"):
        for i, (src, dst) in enumerate(getattr(config, kind)):
            where = f"topology.{kind}[{i}]"
            if dst in devices:
                problems.append((where, f"{src} -> {dst} points into a device"))
            elif src in devices and dst != entry:
                problems.append((where, f"{src} -> {dst}: a device sends to the hub only"))
    return problems
