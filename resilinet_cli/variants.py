"""The four model variants: each combines skips, merge and failout (docs/architecture.md §1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from resilinet_cli.topology import Topology, TopologySpec


@dataclass(frozen=True)
class Variant:
    name: str
    skips: bool
    # How a node joins what it receives; "none" for Vanilla, whose nodes receive one input.
    merge: Literal["add", "mux", "none"]
    failout: bool


VARIANTS: dict[str, Variant] = {
    "vanilla": Variant("vanilla", skips=False, merge="none", failout=False),
    "deepfogguard": Variant("deepfogguard", skips=True, merge="add", failout=False),
    "resilinet": Variant("resilinet", skips=True, merge="mux", failout=True),
    "resilinet_plus": Variant("resilinet_plus", skips=True, merge="add", failout=True),
}


def variant_topology(topology: Topology, variant: str) -> Topology:
    """The topology a variant really has: Vanilla keeps no skip hyperconnection."""
    return topology if VARIANTS[variant].skips else topology.with_skips(())


class HasTopology(Protocol):
    """A config with a ``topology:`` section (``ExperimentConfig``), without importing config."""

    @property
    def topology(self) -> TopologySpec: ...


def topology_of(config: HasTopology, variant: str | None = None) -> Topology:
    """The one place a config's topology is built; with a variant, the one it really has."""
    topology = Topology.from_config(config.topology)
    return topology if variant is None else variant_topology(topology, variant)
