"""Generated topologies (config/generate.py) and their config form."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from run_helpers import write_config

from resilinet_cli.config import TopologyConfig, load_config, validate_config
from resilinet_cli.config.generate import chain_mapping, chain_topology
from resilinet_cli.errors import ConfigError
from resilinet_cli.topology import topology_problems

# -- the generator and its config form ---------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 5, 24])
def test_the_chain_generator_builds_the_issue_topology(size: int) -> None:
    topology = chain_topology(size)
    fogs = tuple(f"fog{k}" for k in range(1, size + 1))
    assert topology.nodes == ("iot", *fogs, "cloud") and topology.failable == fogs
    chain = [(k.src, k.dst) for k in topology.links if not k.skip]
    assert chain == list(itertools.pairwise(topology.nodes))
    # Every fog node is bypassed by exactly one skip, from its predecessor to its successor.
    skips = [(k.src, k.dst) for k in topology.skips]
    assert skips == [(topology.nodes[k - 1], topology.nodes[k + 1]) for k in range(1, size + 1)]
    assert topology_problems(TopologyConfig(**chain_mapping(size))) == []
    reliability = topology.reliability
    assert {"no_failure", "normal"} <= set(reliability)
    assert reliability["no_failure"] == (1.0,) * size
    assert all(0.85 <= r <= 0.95 for r in reliability["normal"])
    assert math.fsum(reliability["normal"]) / size == pytest.approx(0.9)
    assert all(len(vector) == size for vector in reliability.values())


def test_a_chain_has_flow_unless_two_neighbouring_fog_nodes_are_dead() -> None:
    topology = chain_topology(6)
    for combo in topology.combinations():
        neighbours_dead = any(a == b == 0 for a, b in itertools.pairwise(combo))
        assert topology.has_information_flow(combo) == (not neighbours_dead)


def test_a_config_can_generate_its_topology(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, {"generate": "chain", "size": 4}))
    assert config.topology == TopologyConfig(**chain_mapping(4))
    # The resolved config holds the generated topology itself, so a run folder needs nothing else.
    assert validate_config(config.to_dict(), "again").topology == config.topology


def test_an_override_resizes_a_generated_topology(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"generate": "chain", "size": 3})
    config = load_config(path, ["topology.size=4"])
    assert config.topology.failable == ["fog1", "fog2", "fog3", "fog4"]


@pytest.mark.parametrize(
    ("topology", "message"),
    [
        (
            {"generate": "chian", "size": 4},
            "chain.yaml: topology.generate: unknown topology generator 'chian' "
            "(did you mean 'chain'? known: chain)",
        ),
        (
            {"generate": "chain", "size": 0},
            "chain.yaml: topology.size: Input should be greater than or equal to 1",
        ),
        ({"generate": "chain"}, "chain.yaml: topology.size: Field required"),
        (
            {"generate": "chain", "size": 4, "nodes": ["a"]},
            "chain.yaml: topology.nodes: unknown key 'nodes' (known: generate, size)",
        ),
        (
            {"generate": "chain", "size": 5},
            "chain.yaml: model.layers_per_node: missing nodes: fog5",
        ),
    ],
)
def test_a_bad_generated_topology_gives_one_line(
    tmp_path: Path, topology: dict, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, topology))
    assert str(error.value) == message
