"""From a unit folder and the command's options to a deployment spec (spec.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from resilinet_cli.live.deployment import choose_ports, new_token
from resilinet_cli.live.spec import DeploymentSpec, Tls
from resilinet_cli.live.unit import LiveUnit

DEFAULT_DEADLINE_MS = 200.0


@dataclass(frozen=True)
class LaunchOptions:
    host: str = "127.0.0.1"
    port: int | None = None  # the first node's port, the others follow; None: free ports
    deadline_ms: float = DEFAULT_DEADLINE_MS
    health_interval_ms: float = 25.0
    rise: int = 2
    tls: Tls | None = None


def unit_spec(unit: LiveUnit, prior: np.ndarray, options: LaunchOptions) -> DeploymentSpec:
    """The spec of ``unit``'s deployment: ports checked free, a fresh token."""
    return DeploymentSpec.for_topology(
        unit.topology,
        model=str(Path(unit.model_path).resolve()),
        host=options.host,
        ports=choose_ports(options.host, unit.topology.nodes, options.port),
        token=new_token(),
        deadline_s=options.deadline_ms / 1000,
        health_interval_s=options.health_interval_ms / 1000,
        rise=options.rise,
        prior=[float(p) for p in prior],
        seed=unit.config.seed,
        tls=options.tls,
    )
