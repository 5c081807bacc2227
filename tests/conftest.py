"""Shared fixtures: the Health topology preset and a tiny trained-model factory."""

from __future__ import annotations

from pathlib import Path

import pytest

from resilinet_cli.config import TopologyConfig, read_yaml
from resilinet_cli.topology import Topology

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


@pytest.fixture(scope="session")
def health_topology_config() -> TopologyConfig:
    return TopologyConfig(**read_yaml(CONFIGS / "topologies" / "health.yaml"))


@pytest.fixture(scope="session")
def health() -> Topology:
    return Topology.from_config(TopologyConfig(**read_yaml(CONFIGS / "topologies" / "health.yaml")))
