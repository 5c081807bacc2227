"""A deployment's spec: everything a node process needs, in one JSON file it reads at start.

The parent (``deploy``, ``live-eval``) writes it once; every node process reads the same file,
so all nodes agree on the topology, the ports, the deadline and the token. The file holds the
token, so it is written readable by its owner only.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from resilinet_cli.live.hosts import Hosts
from resilinet_cli.topology import Topology

TOKEN_KEY = "x-resilinet-token"  # the gRPC metadata key of the shared token


@dataclass(frozen=True)
class Tls:
    """Server certificate and key; ``ca`` verifies peers; ``mutual`` asks clients for theirs."""

    cert: str
    key: str
    ca: str
    mutual: bool = False
    server_name: str = "localhost"  # the name the certificate is issued to; "": each node's
    # address (--hosts netns: the certificate names every node's address)


@dataclass(frozen=True)
class DeploymentSpec:
    model: str  # the unit's model.keras
    nodes: list[str]
    links: list[tuple[str, str]]
    skips: list[tuple[str, str]]
    failable: list[str]
    host: str
    ports: dict[str, int]
    token: str
    deadline_s: float = 0.2  # per hop; a pull from a node of level L waits L times this
    health_interval_s: float = 0.025
    rise: int = 2  # consecutive passed health checks before a dead node is used again
    max_rows: int = 1024
    prior: list[float] = field(default_factory=list)  # training class frequencies: the guess
    seed: int = 0
    tls: Tls | None = None
    exits: list[str] = field(default_factory=list)  # nodes with an exit head, in chain order
    exit_rule: str = "fallback"  # or "threshold": an exit sure enough answers at once
    threshold: float = 0.5  # the threshold rule's normalised entropy bound T
    # standby replicas, (column, primary): each its own process, called when those before fail
    replicas: list[tuple[str, str]] = field(default_factory=list)
    # shaped links (shaping.py): link name -> LinkShape.to_dict(), the seed of their drops and
    # jitter, and time.time() at the deployment's start (a trace's time 0)
    link_shapes: dict[str, dict[str, Any]] = field(default_factory=dict)
    shaping_seed: int = 0
    epoch: float = 0.0
    # batching (batching.py): requests arriving within this window run as one batch of at most
    # max_batch rows; 0: each request on its own
    batch_window_s: float = 0.0
    max_batch: int = 16
    # --hosts netns (hosts.py): each process's namespace and address; None: all on ``host``
    hosts: Hosts | None = None
    kernel_bandwidth: list[str] = field(default_factory=list)  # links whose bandwidth htb shapes
    # a fan-in topology (docs/sensors.md): its input devices, and how the hub aggregates them
    devices: list[str] = field(default_factory=list)
    aggregate: str = "concat"

    @property
    def topology(self) -> Topology:
        topology = Topology.from_mapping(
            {
                "nodes": self.nodes,
                "links": self.links,
                "skips": self.skips,
                "failable": self.failable,
                "reliability": {},
            }
        )
        counts = {node: len(self.replicas_of(node)) for node in self.failable}
        fan_in = replace(topology, devices=tuple(self.devices), aggregate=self.aggregate)
        return fan_in.with_replicas(counts)

    @property
    def processes(self) -> list[str]:
        """One per node and per standby replica (its alive column's name, e.g. ``edge_r2``)."""
        return [*self.nodes, *(column for column, _ in self.replicas)]

    def replicas_of(self, node: str) -> list[str]:
        """The processes serving ``node``'s role, in the order receivers call them."""
        return [node, *(column for column, primary in self.replicas if primary == node)]

    def role_of(self, process: str) -> str:
        """The node whose role ``process`` serves: itself, or a standby's primary."""
        return dict(self.replicas).get(process, process)

    def address(self, node: str) -> str:
        host = self.hosts.addresses[node] if self.hosts is not None else self.host
        return f"{host}:{self.ports[node]}"

    def levels(self) -> dict[str, int]:
        """Per process, the deadlines a pull of it may wait: the IoT node 1, every node one
        more than its slowest sender, where a sender with R replicas counts R times its own
        (a receiver may wait for each replica in turn). A standby has its primary's level.

        A pull of a node of level L may wait L deadlines: its own upstream may use L - 1.
        """
        topology = self.topology
        levels: dict[str, int] = {}
        for node in topology.nodes:
            senders = [link.src for link in topology.incoming(node)]
            costs = [levels[s] * len(self.replicas_of(s)) for s in senders]
            levels[node] = 1 + max(costs, default=0)
        for column, primary in self.replicas:
            levels[column] = levels[primary]
        return levels

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(asdict(self), file, indent=2)
        os.replace(temporary, path)

    @classmethod
    def read(cls, path: Path) -> DeploymentSpec:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        raw["links"] = [tuple(k) for k in raw["links"]]
        raw["skips"] = [tuple(k) for k in raw["skips"]]
        raw["replicas"] = [tuple(k) for k in raw.get("replicas", [])]
        raw["tls"] = Tls(**raw["tls"]) if raw.get("tls") else None
        raw["hosts"] = Hosts(**raw["hosts"]) if raw.get("hosts") else None
        return cls(**raw)

    @classmethod
    def for_topology(cls, topology: Topology, **kwargs: object) -> DeploymentSpec:
        return cls(
            nodes=list(topology.nodes),
            links=[(k.src, k.dst) for k in topology.links if not k.skip],
            skips=[(k.src, k.dst) for k in topology.skips],
            failable=list(topology.failable),
            replicas=[tuple(r) for r in topology.replicas],
            devices=list(topology.devices),
            aggregate=topology.aggregate,
            **kwargs,  # type: ignore[arg-type]
        )
