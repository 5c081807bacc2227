"""Hyperconnection weight schemes 1-4 on the Health topology, against docs/method.md §5."""

from __future__ import annotations

import random

import pytest
from paths import TOPOLOGIES

from resilinet_cli.config import TopologyConfig, read_yaml
from resilinet_cli.models.hyperconnections import hyperconnection_weights
from resilinet_cli.topology import Link, Topology

HEALTH_YAML = TOPOLOGIES / "health.yaml"
POOR = (0.95, 0.91, 0.87)  # docs/method.md §6.1, order [fog1, fog2, edge]

IOT_E = Link("iot", "edge")
E_F2 = Link("edge", "fog2")
F2_F1 = Link("fog2", "fog1")
F1_C = Link("fog1", "cloud")
IOT_F2 = Link("iot", "fog2", True)
E_F1 = Link("edge", "fog1", True)
F2_C = Link("fog2", "cloud", True)
ALL_LINKS = {IOT_E, E_F2, F2_F1, F1_C, IOT_F2, E_F1, F2_C}


@pytest.fixture(scope="module")
def health() -> Topology:
    return Topology.from_config(TopologyConfig(**read_yaml(HEALTH_YAML)))


def scheme2_oracle(r_f1: float, r_f2: float, r_e: float) -> dict[Link, float]:
    """docs/method.md §5, scheme 2, Health column."""
    return {
        IOT_E: 1.0,
        IOT_F2: 1 / (1 + r_e),
        E_F2: r_e / (1 + r_e),
        E_F1: r_e / (r_e + r_f2),
        F2_F1: r_f2 / (r_e + r_f2),
        F2_C: r_f2 / (r_f2 + r_f1),
        F1_C: r_f1 / (r_f2 + r_f1),
    }


def scheme3_oracle(r_f1: float, r_f2: float, r_e: float) -> dict[Link, float]:
    """docs/method.md §5, scheme 3, Health column: the sender's reliability, IoT's is 1."""
    return {
        IOT_E: 1.0,
        IOT_F2: 1.0,
        E_F2: r_e,
        E_F1: r_e,
        F2_F1: r_f2,
        F2_C: r_f2,
        F1_C: r_f1,
    }


def assert_weights(actual: dict[Link, float], expected: dict[Link, float]) -> None:
    assert set(actual) == set(expected)
    for link, weight in expected.items():
        assert actual[link] == pytest.approx(weight, abs=1e-12), link


def test_the_health_topology_has_the_seven_spec_links(health: Topology) -> None:
    assert set(health.links) == ALL_LINKS
    assert health.failable == ("fog1", "fog2", "edge")


@pytest.mark.parametrize("reliability", [(1.0, 1.0, 1.0), POOR, (0.85, 0.80, 0.78)])
def test_scheme_1_is_all_ones(health: Topology, reliability: tuple[float, ...]) -> None:
    assert_weights(hyperconnection_weights(health, 1, reliability), dict.fromkeys(ALL_LINKS, 1.0))


@pytest.mark.parametrize("setting", ["no_failure", "normal", "poor", "hazardous"])
def test_scheme_2_matches_the_spec_table(health: Topology, setting: str) -> None:
    reliability = health.reliability[setting]
    weights = hyperconnection_weights(health, 2, reliability)
    assert_weights(weights, scheme2_oracle(*reliability))


def test_scheme_2_poor_values(health: Topology) -> None:
    weights = hyperconnection_weights(health, 2, POOR)
    assert weights[IOT_F2] == pytest.approx(1 / 1.87, abs=1e-12)
    assert weights[E_F2] == pytest.approx(0.87 / 1.87, abs=1e-12)
    assert weights[E_F1] == pytest.approx(0.87 / 1.78, abs=1e-12)
    assert weights[F2_F1] == pytest.approx(0.91 / 1.78, abs=1e-12)
    assert weights[F2_C] == pytest.approx(0.91 / 1.86, abs=1e-12)
    assert weights[F1_C] == pytest.approx(0.95 / 1.86, abs=1e-12)
    assert weights[IOT_E] == 1.0


def test_scheme_2_weights_into_each_node_sum_to_one(health: Topology) -> None:
    weights = hyperconnection_weights(health, 2, POOR)
    for node in health.nodes[1:]:
        total = sum(w for link, w in weights.items() if link.dst == node)
        assert total == pytest.approx(1.0, abs=1e-12), node


def test_scheme_2_with_no_failures_halves_every_two_input_node(health: Topology) -> None:
    weights = hyperconnection_weights(health, 2, (1.0, 1.0, 1.0))
    expected = dict.fromkeys(ALL_LINKS - {IOT_E}, 0.5) | {IOT_E: 1.0}
    assert_weights(weights, expected)


def test_scheme_2_on_vanilla_is_all_ones(health: Topology) -> None:
    vanilla = health.with_skips(())
    weights = hyperconnection_weights(vanilla, 2, POOR)
    assert_weights(weights, {IOT_E: 1.0, E_F2: 1.0, F2_F1: 1.0, F1_C: 1.0})


@pytest.mark.parametrize("setting", ["no_failure", "normal", "poor", "hazardous"])
def test_scheme_3_is_the_sender_reliability(health: Topology, setting: str) -> None:
    reliability = health.reliability[setting]
    weights = hyperconnection_weights(health, 3, reliability)
    assert_weights(weights, scheme3_oracle(*reliability))


def test_scheme_3_poor_values(health: Topology) -> None:
    weights = hyperconnection_weights(health, 3, POOR)
    assert (weights[IOT_E], weights[IOT_F2]) == (1.0, 1.0)
    assert (weights[E_F2], weights[E_F1]) == (0.87, 0.87)
    assert (weights[F2_F1], weights[F2_C]) == (0.91, 0.91)
    assert weights[F1_C] == 0.95


def test_scheme_4_is_uniform_and_reproducible(health: Topology) -> None:
    first = hyperconnection_weights(health, 4, POOR, random.Random(7))
    again = hyperconnection_weights(health, 4, POOR, random.Random(7))
    other = hyperconnection_weights(health, 4, POOR, random.Random(8))
    assert set(first) == ALL_LINKS
    assert first == again
    assert all(first[link] != other[link] for link in ALL_LINKS)
    assert all(0.0 < w < 1.0 for w in (*first.values(), *other.values()))
    assert len(set(first.values())) == len(ALL_LINKS)  # drawn per link, not once


def test_scheme_4_draws_in_link_order_from_the_given_rng(health: Topology) -> None:
    rng = random.Random(3)
    expected = [rng.random() for _ in health.links]
    weights = hyperconnection_weights(health, 4, POOR, random.Random(3))
    assert [weights[link] for link in health.links] == expected


def test_scheme_4_does_not_depend_on_reliability(health: Topology) -> None:
    a = hyperconnection_weights(health, 4, POOR, random.Random(1))
    b = hyperconnection_weights(health, 4, (1.0, 1.0, 1.0), random.Random(1))
    assert a == b


def test_scheme_4_without_rng_still_draws_in_range(health: Topology) -> None:
    weights = hyperconnection_weights(health, 4, POOR)
    assert set(weights) == ALL_LINKS
    assert all(0.0 <= w < 1.0 for w in weights.values())


def test_learned_weights_start_at_one(health: Topology) -> None:
    assert hyperconnection_weights(health, 5, POOR) == dict.fromkeys(health.links, 1.0)


@pytest.mark.parametrize("scheme", [0, 6, -1])
def test_an_unknown_scheme_is_refused(health: Topology, scheme: int) -> None:
    message = f"Unknown hyperconnection weight scheme. Received: scheme={scheme}"
    with pytest.raises(ValueError, match=message):
        hyperconnection_weights(health, scheme, POOR)


def test_a_reliability_vector_of_the_wrong_length_is_refused(health: Topology) -> None:
    with pytest.raises(ValueError):
        hyperconnection_weights(health, 2, (0.9, 0.9))
