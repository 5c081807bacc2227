"""Reduces to the classics (issue 32): with nothing failing, no skips and latency alone, the
search's analytic costs find what a brute force over every tuple of cut points finds, on three
keras.applications networks; DADS' minimum cut is never worse than one cut point."""

from __future__ import annotations

import itertools

import keras
import pytest

from resilinet_cli.search.classics import brute_force_chain, chain_latencies, min_cut_split
from resilinet_cli.search.cost_model import (
    CostModel,
    DeviceFigure,
    LinkFigure,
    NetworkProfile,
    chain_topology,
)

SHAPE = (32, 32, 3)
NETWORKS = {  # small and offline: weights=None, 32x32 inputs
    "MobileNetV2": (dict(alpha=0.35), ("iot", "edge", "cloud")),
    "MobileNet": (dict(alpha=0.25), ("iot", "edge", "cloud")),
    "ResNet50": ({}, ("iot", "edge", "fog", "cloud")),
}
# A weak sensor, a gateway, a server: slow uplinks make the cut matter
FIGURES = CostModel(
    {
        "iot": DeviceFigure(2.0e7),
        "edge": DeviceFigure(2.0e8),
        "fog": DeviceFigure(1.0e9),
        "cloud": DeviceFigure(2.0e10),
    },
    {
        "iot->edge": LinkFigure(1.0e6, 5.0),
        "edge->fog": LinkFigure(1.0e7, 5.0),
        "edge->cloud": LinkFigure(2.0e6, 30.0),
        "fog->cloud": LinkFigure(5.0e7, 20.0),
    },
    "test",
)


@pytest.fixture(scope="module", params=list(NETWORKS))
def network(request: pytest.FixtureRequest) -> tuple[keras.Model, tuple[str, ...]]:
    args, nodes = NETWORKS[request.param]
    model = getattr(keras.applications, request.param)(
        input_shape=SHAPE, weights=None, classes=10, **args
    )
    return model, nodes


def test_the_analytic_costs_agree_with_a_brute_force_on_every_tuple(
    network: tuple[keras.Model, tuple[str, ...]],
) -> None:
    model, nodes = network
    profile = NetworkProfile(model)
    topology = chain_topology(nodes)
    brute = chain_latencies(model, nodes, FIGURES)
    assert len(brute) == len(list(itertools.combinations(profile.points, len(nodes) - 1)))
    fast = {
        cuts: profile.costs(dict(zip(nodes, cuts, strict=False)), topology, FIGURES).latency_ms
        for cuts in brute
    }
    assert fast == brute  # FLOPs and bytes are integers, equal: so are the latencies
    cut, ms = brute_force_chain(model, nodes, FIGURES)
    best = min(fast.values())
    assert ms == best
    assert fast[tuple(cut.values())] == best


def test_a_minimum_cut_is_never_worse_than_one_cut_point(
    network: tuple[keras.Model, tuple[str, ...]],
) -> None:
    model, _ = network
    for device_fps, bandwidth in [(2.0e7, 1.0e6), (2.0e8, 1.0e7), (1.0e9, 1.0e8)]:
        found = min_cut_split(model, device_fps, 2.0e10, bandwidth, 5.0)
        assert found.gap_ms >= -1e-6
        assert len(found.single_cut.sent) == 1
        assert found.min_cut.sent


def hand_made() -> keras.Model:
    """A big input that two small Dense layers reduce on the device, one of whose outputs a
    server-sized Dense then expands: sending both small tensors beats every single cut."""
    x = keras.Input((1000,), name="x")
    a = keras.layers.Dense(2, name="a")(x)
    b = keras.layers.Dense(2, name="b")(x)
    wide = keras.layers.Dense(1000, name="wide")(b)
    joined = keras.layers.Concatenate(name="join")([a, wide])
    return keras.Model(x, keras.layers.Dense(10, activation="softmax", name="out")(joined))


def test_a_hand_made_network_where_the_minimum_cut_sends_two_tensors() -> None:
    device, server, bandwidth, link_ms = 1.0e6, 1.0e9, 8.0e3, 10.0  # 1 ms per byte
    found = min_cut_split(hand_made(), device, server, bandwidth, link_ms)
    # profiler counts: Dense = 2*in*out (MatMul) + out (BiasAdd); softmax 5 per element
    flops = {"a": 2 * 1000 * 2 + 2, "b": 2 * 1000 * 2 + 2, "wide": 2 * 2 * 1000 + 1000}
    flops["out"] = 2 * 1002 * 10 + 10 + 5 * 10
    server_ms = {name: 1000.0 * value / server for name, value in flops.items()}
    # the device computes a and b (4,002 FLOPs each at 1 MFLOP/s), sends 8 + 8 bytes
    expected = 2 * 4.002 + 2 * (link_ms + 8.0) + server_ms["wide"] + server_ms["out"]
    assert found.min_cut.sent == ("a", "b")
    assert found.min_cut.latency_ms == pytest.approx(expected)
    # the cut points are the input (4,000 bytes) and the join (4,008 bytes after `wide`)
    assert found.single_cut.sent == ("x",)
    single = link_ms + 4000.0 + sum(server_ms.values())
    assert found.single_cut.latency_ms == pytest.approx(single)
    assert found.gap_ms == pytest.approx(single - expected)
