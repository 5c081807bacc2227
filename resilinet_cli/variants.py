"""The registry of variants: each is one declarative entry (docs/variants.md).

A variant says everything the stages need about one way of surviving a dead node, and each
stage implements its own part:

1. the model it builds: skip hyperconnections (``skips``), how a node joins what it receives
   (``merge``), and classifier heads at non-final nodes (``exits``) -- models/builder.py;
2. how it trains: failout (``failout``) and one loss per output, weighted (``exit_weights``,
   the final output's weight first) -- training/fit.py;
3. its inference rule per alive mask (``answering_node``, and the entropy threshold of
   ``exit_threshold``) -- the only thing the sweep needs (sweeps/sweep.py);
4. what it does live: an exiting node answers upward and the nodes above pass its answer on
   (live/node.py);
5. its cost columns: every head's parameters and FLOPs count at its node (models/costs.py);
   every standby replica counts as a device of its own.

Two more ways of surviving a dead node extend a base variant (docs/variants.md §7-§8):
``replicas`` serve a node by a primary and standbys (each with an alive column of its own,
``variant_topology``), and ``stand_in`` fills a dead sender's slot at its receiver with the
output of a small learned generator instead of zeros.

The paper's four are built in (``VARIANTS``); a config defines more in its ``techniques:``
section (``vanilla+exits``: Vanilla with exit heads), named in ``variants:`` like the four.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

import networkx as nx

from resilinet_cli.topology import Combination, Topology, TopologySpec, link_name

DEFAULT_THRESHOLD = 0.5  # the threshold rule's T where a definition sets none
GUESS = "guess"
# How ``calibrate-exits`` (and a definition's own target) chooses T on the validation split
TARGET_EXIT_RATE = "target-exit-rate"
MAX_ACCURACY_DROP = "max-accuracy-drop"  # the answer of a combination in which no head is reached


@dataclass(frozen=True)
class Variant:
    name: str
    skips: bool
    # How a node joins what it receives; "none" for Vanilla, whose nodes receive one input.
    merge: Literal["add", "mux", "none"]
    failout: bool
    exits: tuple[str, ...] = ()  # nodes with a classifier head, in chain order
    # loss weight of the final output, then of each exit; () = all equal (DDNN's default)
    exit_weights: tuple[float, ...] = ()
    # the threshold rule's normalised entropy bound T (scored beside the fallback rule)
    exit_threshold: float = DEFAULT_THRESHOLD
    # (rule, target) by which every run calibrates T per unit, or None (sweeps/calibration.py)
    calibration: tuple[str, float] | None = None
    base: str = ""  # the built-in variant it extends ("" for the built-ins themselves)
    replicas: tuple[tuple[str, int], ...] = ()  # (node, replicas serving it, primary included)
    standby_width: tuple[tuple[str, float], ...] = ()  # (node, width of its standbys), else 1
    # receivers' slots filled by a learned stand-in when their sender is dead: "src->dst" links,
    # or ("*",) for every slot of a failable sender at a node with another input
    stand_in: tuple[str, ...] = ()
    reconstruction: float = 0.0  # weight of the stand-ins' reconstruction loss (0: task loss only)

    def width_of(self, node: str) -> float:
        """The width of ``node``'s standbys relative to its primary (1: a full copy)."""
        return dict(self.standby_width).get(node, 1.0)

    def loss_weights(self) -> list[float]:
        """One weight per output: the final output's, then each exit's."""
        return list(self.exit_weights) if self.exit_weights else [1.0] * (1 + len(self.exits))

    def answering_node(self, topology: Topology, combination: Combination) -> str:
        """The fallback rule: the output node if information reaches it; else the deepest exit
        whose own path from the input is alive; else ``GUESS``."""
        reached = reached_nodes(topology, combination)
        for node in (topology.output_node, *reversed(self.exits)):
            if node in reached:
                return node
        return GUESS

    def live_exits(self, topology: Topology, combination: Combination) -> tuple[str, ...]:
        """The exits that can answer under ``combination``, in chain order (threshold rule)."""
        reached = reached_nodes(topology, combination)
        return tuple(node for node in self.exits if node in reached)


VARIANTS: dict[str, Variant] = {
    "vanilla": Variant("vanilla", skips=False, merge="none", failout=False),
    "deepfogguard": Variant("deepfogguard", skips=True, merge="add", failout=False),
    "resilinet": Variant("resilinet", skips=True, merge="mux", failout=True),
    "resilinet_plus": Variant("resilinet_plus", skips=True, merge="add", failout=True),
}


class TechniqueSpec(Protocol):
    """One entry of a config's ``techniques:`` section (config/schema.py)."""

    @property
    def base(self) -> str: ...
    @property
    def exits(self) -> list[str]: ...
    @property
    def exit_weights(self) -> list[float]: ...
    @property
    def threshold(self) -> float: ...
    @property
    def target_exit_rate(self) -> float | None: ...
    @property
    def max_accuracy_drop(self) -> float | None: ...
    @property
    def replicas(self) -> Mapping[str, int]: ...
    @property
    def standby(self) -> Mapping[str, Any]: ...
    @property
    def stand_in(self) -> bool | Sequence[str]: ...
    @property
    def reconstruction(self) -> float: ...


def base_of(name: str, spec: TechniqueSpec | None = None) -> str:
    """The built-in variant a defined one extends: its ``base``, else the name before ``+``."""
    return spec.base if spec is not None and spec.base else name.partition("+")[0]


def defined_variant(name: str, spec: TechniqueSpec) -> Variant:
    """The variant a ``techniques:`` entry defines: its base's entry with the heads added."""
    stand_in = spec.stand_in
    base = VARIANTS[base_of(name, spec)]
    return replace(
        base,
        name=name,
        failout=base.failout or bool(stand_in),  # a stand-in learns only while its sender is dead
        exits=tuple(spec.exits),
        exit_weights=tuple(spec.exit_weights),
        exit_threshold=spec.threshold,
        calibration=calibration_of(spec),
        base=base_of(name, spec),
        replicas=tuple(spec.replicas.items()),
        standby_width=tuple((node, s.width) for node, s in spec.standby.items()),
        stand_in=(ALL_SLOTS,) if stand_in is True else tuple(stand_in or ()),
        reconstruction=spec.reconstruction,
    )


ALL_SLOTS = "*"  # ``stand_in: true``: every slot of a failable sender at a node with two inputs


def calibration_of(spec: TechniqueSpec) -> tuple[str, float] | None:
    """The rule and target a definition calibrates its T by, if it names one."""
    if spec.target_exit_rate is not None:
        return TARGET_EXIT_RATE, spec.target_exit_rate
    if spec.max_accuracy_drop is not None:
        return MAX_ACCURACY_DROP, spec.max_accuracy_drop
    return None


def lookup(name: str, techniques: Mapping[str, TechniqueSpec]) -> Variant:
    """A variant by name: a built-in one or one the config defines."""
    if name in techniques:
        return defined_variant(name, techniques[name])
    return VARIANTS[name]


def reached_nodes(topology: Topology, combination: Combination) -> set[str]:
    """The nodes that information from the input reaches: alive, joined by alive nodes and
    live links (the output node is among them exactly when the combination has flow)."""
    flags = dict(zip(topology.columns, combination, strict=True))
    graph = topology.graph()
    graph.remove_edges_from(
        (k.src, k.dst) for k in topology.links if not flags.get(link_name(k.src, k.dst), 1)
    )
    graph.remove_nodes_from(topology.dead_nodes(flags))
    sources = [source for source in topology.sources if source in graph]
    return set(sources).union(*(nx.descendants(graph, source) for source in sources))


def normalised_entropy(probabilities: Sequence[float]) -> float:
    """DDNN's exit criterion: the entropy of a prediction over log(classes), in [0, 1]."""
    total = -sum(p * math.log(p) for p in probabilities if p > 0)
    return total / math.log(len(probabilities))


def variant_topology(topology: Topology, variant: Variant | str) -> Topology:
    """The topology a variant (or a built-in one's name) really has: Vanilla keeps no skip;
    a variant with standby replicas has an alive column for each."""
    entry = VARIANTS[variant] if isinstance(variant, str) else variant
    own = topology if entry.skips else topology.with_skips(())
    return own.with_replicas(dict(entry.replicas))


class HasTopology(Protocol):
    """A config with ``topology:`` and its variants (``ExperimentConfig``), without importing
    config."""

    @property
    def topology(self) -> TopologySpec: ...

    def variant(self, name: str) -> Variant: ...


def topology_of(config: HasTopology, variant: str | None = None) -> Topology:
    """The one place a config's topology is built; with a variant, the one it really has."""
    topology = Topology.from_config(config.topology)
    return topology if variant is None else variant_topology(topology, config.variant(variant))


def stand_in_slots(topology: Topology, merge: str) -> list[str]:
    """The links (``src->dst``) a stand-in can fill: into a node with two or more inputs, from
    a failable sender or over a failable link. A mux passes its first live input, so there
    only the chain link's slot (ahead of the skips) can take a stand-in."""
    failable = {*topology.failable, *topology.failable_links}
    return [
        link_name(k.src, k.dst)
        for node in topology.receivers
        if len(links := topology.incoming(node)) > 1
        for k in (links[:1] if merge == "mux" else links)
        if k.src in failable or link_name(k.src, k.dst) in failable
    ]


def stand_in_links(variant: Variant, topology: Topology) -> list[str]:
    """The slots ``variant`` fills with a stand-in on its own ``topology``."""
    if not variant.stand_in:
        return []
    slots = stand_in_slots(topology, variant.merge)
    return slots if ALL_SLOTS in variant.stand_in else [s for s in slots if s in variant.stand_in]
