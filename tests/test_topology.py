"""Topology: combination weights and no-flow sets against docs/method.md §2.1 and §6.4."""

from __future__ import annotations

import pytest

from resilinet_cli.config import TopologyConfig
from resilinet_cli.topology import Topology, topology_problems

# docs/method.md §6.4, Health, order [f1, f2, e], combos 000 .. 111.
ORACLE = {
    "normal": [3.2e-05, 0.000368, 0.000768, 0.008832, 0.003168, 0.036432, 0.076032, 0.874368],
    "poor": [0.000585, 0.003915, 0.005915, 0.039585, 0.011115, 0.074385, 0.112385, 0.752115],
    "hazardous": [0.0066, 0.0234, 0.0264, 0.0936, 0.0374, 0.1326, 0.1496, 0.5304],
}


@pytest.mark.parametrize("setting", sorted(ORACLE))
def test_combination_probabilities_match_the_spec(health: Topology, setting: str) -> None:
    reliability = health.reliability[setting]
    weights = [health.probability(c, reliability) for c in health.combinations()]
    assert weights == pytest.approx(ORACLE[setting], abs=1e-9)
    assert sum(weights) == pytest.approx(1.0, abs=1e-12)


def test_combinations_are_enumerated_msb_first(health: Topology) -> None:
    combos = health.combinations()
    assert combos[5] == (1, 0, 1)  # i = 5: fog1 alive, fog2 dead, edge alive
    assert health.failable == ("fog1", "fog2", "edge")


def no_flow(topology: Topology) -> set[str]:
    return {
        topology.label(c) for c in topology.combinations() if not topology.has_information_flow(c)
    }


def test_no_flow_sets_with_all_skips_and_for_vanilla(health: Topology) -> None:
    assert no_flow(health) == {"000", "001", "100"}
    assert no_flow(health.with_skips(())) == {f"{i:03b}" for i in range(7)}


def test_no_flow_probability_matches_the_spec(health: Topology) -> None:
    expected = {"normal": 0.003568, "poor": 0.015615, "hazardous": 0.0674}
    for setting, mass in expected.items():
        lost = sum(
            health.probability(c, health.reliability[setting])
            for c in health.combinations()
            if not health.has_information_flow(c)
        )
        assert lost == pytest.approx(mass, abs=1e-9)


def test_a_reduced_skip_set_changes_the_no_flow_set(health: Topology) -> None:
    # Without iot->fog2, every path needs the edge; with the edge alive, fog1 or fog2 suffices.
    reduced = health.with_skips([("edge", "fog1"), ("fog2", "cloud")])
    assert no_flow(reduced) == {"000", "010", "100", "110", "001"}
    # With only fog2->cloud: the edge and fog2 are both needed, fog1 is not.
    only_f2c = health.with_skips([("fog2", "cloud")])
    assert no_flow(only_f2c) == {"000", "001", "010", "100", "101", "110"}


def test_incoming_lists_the_chain_link_first(health: Topology) -> None:
    assert [(k.src, k.skip) for k in health.incoming("fog2")] == [("edge", False), ("iot", True)]
    assert [(k.src, k.skip) for k in health.incoming("cloud")] == [("fog1", False), ("fog2", True)]


def test_combination_of_dead(health: Topology) -> None:
    assert health.combination_of_dead(["edge"]) == (1, 1, 0)
    assert health.combination_of_dead(["fog1", "fog2"]) == (0, 0, 1)


def problems(health_topology_config: TopologyConfig, **changes: object) -> list[tuple[str, str]]:
    data = {**health_topology_config.model_dump(), **changes}
    return topology_problems(TopologyConfig(**data))


def test_topology_problems(health_topology_config: TopologyConfig) -> None:
    assert problems(health_topology_config) == []
    skips = [["iot", "fog2"], ["edge", "fog3"]]
    assert problems(health_topology_config, skips=skips) == [
        (
            "topology.skips[1]",
            "unknown node 'fog3' (did you mean 'fog2'? known: iot, edge, fog2, fog1, cloud)",
        )
    ]
    where, message = problems(health_topology_config, skips=[["fog1", "edge"]])[0]
    assert where == "topology.skips[0]" and "points backwards" in message
    where, message = problems(health_topology_config, skips=[["edge", "fog2"]])[0]
    assert where == "topology.skips[0]" and "skips no node" in message
    links = [["iot", "edge"], ["edge", "fog2"], ["fog2", "cloud"]]
    assert problems(health_topology_config, links=links, skips=[]) == [
        ("topology.nodes", "node 'fog1' is unreachable from 'iot'")
    ]
    nodes = ["iot", "edge", "edge", "fog2", "fog1", "cloud"]
    assert ("topology.nodes", "duplicate node name 'edge'") in problems(
        health_topology_config, nodes=nodes
    )
    reliability = {"normal": [0.9, 0.9]}
    assert problems(health_topology_config, reliability=reliability) == [
        ("topology.reliability.normal", "has 2 values, expected 3 (one per failable node)")
    ]
    where, message = problems(health_topology_config, failable=["cloud", "fog2", "edge"])[0]
    assert where == "topology.failable[0]" and "never fails" in message
