"""From a unit folder and the command's options to a deployment spec (spec.py)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from resilinet_cli.live.deployment import choose_ports, new_token
from resilinet_cli.live.errors import LiveError
from resilinet_cli.live.hosts import DEFAULT_PORT, plan_hosts
from resilinet_cli.live.shaping import LinkShape, load_links, shapes_of
from resilinet_cli.live.spec import DeploymentSpec, Tls
from resilinet_cli.live.unit import LiveUnit
from resilinet_cli.topology import Topology
from resilinet_cli.variants import DEFAULT_THRESHOLD

DEFAULT_DEADLINE_MS = 200.0


@dataclass(frozen=True)
class LaunchOptions:
    host: str = "127.0.0.1"
    port: int | None = None  # the first node's port, the others follow; None: free ports
    deadline_ms: float = DEFAULT_DEADLINE_MS
    health_interval_ms: float = 25.0
    rise: int = 2
    tls: Tls | None = None
    exit_rule: str = "fallback"  # a model with exits: "fallback" or "threshold" (node.py)
    links: Path | None = None  # a links file (shaping.py); None: the unit config's live: section
    batch_window_ms: float = 0.0  # batching.py: 0 runs each request on its own
    max_batch: int = 16
    hosts: str = "local"  # or "netns": each process in a namespace of its own (hosts.py)
    subnet: str | None = None  # --hosts netns: the private subnet; None: a free /24

    def __post_init__(self) -> None:
        if self.batch_window_ms >= self.deadline_ms:
            raise LiveError(
                f"--batch-window-ms {self.batch_window_ms:g} is not under the per-hop deadline "
                f"(--deadline-ms {self.deadline_ms:g}): a batch would wait past it"
            )


def unit_spec(unit: LiveUnit, prior: np.ndarray, options: LaunchOptions) -> DeploymentSpec:
    """The spec of ``unit``'s deployment: ports checked free, a fresh token, its links shaped
    as ``options.links`` or its config's ``live:`` section says."""
    return model_spec(
        unit.model_path,
        unit.topology,
        prior,
        options,
        seed=unit.config.seed,
        exits=unit.exits,
        threshold=unit.threshold,
        shaping=unit_shaping(unit, options.links),
    )


def unit_shaping(unit: LiveUnit, links: Path | None) -> tuple[int, dict[str, LinkShape]]:
    """The seed and link shapes of a deployment of ``unit``. Names are checked against the
    config's topology, every skip included, so one file serves every variant of a run."""
    topology = Topology.from_config(unit.config.topology)
    if links is not None:
        return load_links(links, topology)
    live = unit.config.live
    return live.seed, shapes_of(live, topology, "config: live", Path.cwd())


def model_spec(
    model_path: Path | str,
    topology: Topology,
    prior: Sequence[float],
    options: LaunchOptions,
    *,
    seed: int = 0,
    exits: Sequence[str] = (),
    threshold: float = DEFAULT_THRESHOLD,
    shaping: tuple[int, dict[str, LinkShape]] = (0, {}),
) -> DeploymentSpec:
    """The spec of a deployment of a saved model on ``topology`` (its variant's own), without a
    unit folder (benchmarks, tests): ports checked free (or, in namespaces, one port on every
    node's own address), a fresh token."""
    names = processes(topology)
    shapes = shaping[1]
    hosts, kernel, tls = None, [], options.tls
    if options.hosts == "netns":
        hosts = plan_hosts(names, options.subnet)
        ports = dict.fromkeys(names, options.port or DEFAULT_PORT)
        kernel = [n for n, shape in shapes.items() if shape.bandwidth and not shape.trace]
        if tls is not None:  # verified by each node's address, which its certificate names
            tls = replace(tls, server_name="")
    else:
        ports = choose_ports(options.host, names, options.port)
    return DeploymentSpec.for_topology(
        topology,
        model=str(Path(model_path).resolve()),
        host=options.host if hosts is None else hosts.gateway,
        ports=ports,
        token=new_token(),
        deadline_s=options.deadline_ms / 1000,
        health_interval_s=options.health_interval_ms / 1000,
        rise=options.rise,
        prior=[float(p) for p in prior],
        seed=seed,
        tls=tls,
        exits=list(exits),
        exit_rule=options.exit_rule,
        threshold=threshold,
        link_shapes={name: shape.to_dict() for name, shape in shapes.items()},
        shaping_seed=shaping[0],
        epoch=time.time(),
        batch_window_s=options.batch_window_ms / 1000,
        max_batch=options.max_batch,
        hosts=hosts,
        kernel_bandwidth=kernel,
    )


def processes(topology: Topology) -> list[str]:
    """The deployment's processes: one per node, then one per standby replica (spec.py)."""
    return [*topology.nodes, *(column for column, _ in topology.replicas)]
