"""Cut-point costs (models/costs.py): profiler FLOPs per layer, bytes per cut, the suggested split.

FLOPs are asserted exactly in TensorFlow's profiler convention (flops_registry.py): a
multiply-add is 2, BiasAdd/Add/Mul/Sub 1 per output element, Rsqrt 2 and Softmax 5 per element,
pooling the kernel area per output element, Mean 1 per input element, Relu 0.
"""

from __future__ import annotations

import itertools
import logging

import keras
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resilinet_cli.models.costs import (
    CutCost,
    crowded,
    cut_costs,
    default_budget,
    format_table,
    layer_flops,
    node_flops,
    output_bytes,
    suggest,
    total_flops,
    with_default_budget,
)

H, W, CIN, COUT, CLASSES = 8, 8, 3, 4, 5


def tiny_cnn() -> keras.Model:
    inputs = keras.Input((H, W, CIN), name="image")
    x = keras.layers.Conv2D(COUT, 3, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, keras.layers.Dense(CLASSES, name="logits")(x))


def tiny_mlp() -> keras.Model:
    """Names as Keras numbers them: its scopes make layer ``fc``'s ops ``fc_1/...``."""
    inputs = keras.Input((20,), name="features")
    x = keras.layers.Dense(10, activation="relu", name="fc")(inputs)
    x = keras.layers.Dense(3, name="fc_1", dtype="float16")(x)
    return keras.Model(inputs, keras.layers.Softmax(name="probs")(x))


def branched() -> keras.Model:
    """``a`` feeds two branches that ``add`` joins: cut ``add`` depends on both, not on ``tail``."""
    inputs = keras.Input((6,), name="x")
    a = keras.layers.Dense(4, name="a")(inputs)
    b = keras.layers.Dense(4, name="b")(a)
    c = keras.layers.Dense(4, name="c")(a)
    joined = keras.layers.Add(name="add")([b, c])
    return keras.Model(inputs, keras.layers.Dense(2, name="tail")(joined))


CNN_FLOPS = {
    "image": 0,
    "conv": 2 * 3 * 3 * CIN * COUT * H * W + COUT * H * W,  # convolution + bias
    "bn": 2 * H * W * COUT + (1 + 2 + 1 + 1 + 1) * COUT,  # x*s + t; s, t per channel
    "relu": 0,
    "pool": (H // 2) * (W // 2) * COUT * 2 * 2,
    "gap": (H // 2) * (W // 2) * COUT,
    "logits": 2 * COUT * CLASSES + CLASSES,
}


@pytest.fixture(scope="module")
def cnn() -> keras.Model:
    return tiny_cnn()


@pytest.fixture(scope="module")
def cnn_flops(cnn: keras.Model) -> dict[str, int]:
    return layer_flops(cnn)


@pytest.fixture(scope="module")
def mlp() -> keras.Model:
    return tiny_mlp()


def test_cnn_flops_per_layer_match_hand_counts(cnn_flops: dict[str, int]) -> None:
    assert cnn_flops == CNN_FLOPS
    assert total_flops(cnn_flops) == sum(CNN_FLOPS.values())


def test_flops_go_to_the_layer_not_to_its_namesake_scope(mlp: keras.Model) -> None:
    assert layer_flops(mlp) == {
        "features": 0,
        "fc": 2 * 20 * 10 + 10,  # relu inside the layer counts 0
        "fc_1": 2 * 10 * 3 + 3,
        "probs": 5 * 3,
    }


def test_sequential_model_is_counted() -> None:
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(10, name="dense")])
    assert layer_flops(model) == {"dense": 2 * 20 * 10 + 10}


def test_control_flow_is_reported_not_counted(caplog: pytest.LogCaptureFixture) -> None:
    class Halve(keras.layers.Layer):
        def call(self, x: keras.KerasTensor) -> keras.KerasTensor:
            return keras.ops.cond(keras.ops.all(x > 0), lambda: x * 0.5, lambda: x)

    inputs = keras.Input((3,))
    model = keras.Model(inputs, Halve(name="halve")(keras.layers.Dense(3, name="d")(inputs)))
    with caplog.at_level(logging.WARNING, logger="resilinet_cli.models.costs"):
        flops = layer_flops(model)
    assert flops["d"] == 2 * 3 * 3 + 3
    assert "not counted in: ['halve']" in caplog.text


def test_output_bytes(cnn: keras.Model, mlp: keras.Model) -> None:
    assert output_bytes(cnn, "conv") == H * W * COUT * 4
    assert output_bytes(cnn, "pool") == (H // 2) * (W // 2) * COUT * 4
    assert output_bytes(cnn, "gap") == COUT * 4
    assert output_bytes(mlp, "fc_1") == 3 * 2  # float16


def test_cut_costs_of_a_chain(cnn: keras.Model, cnn_flops: dict[str, int]) -> None:
    cuts = ["conv", "bn", "relu", "pool", "gap"]
    costs = cut_costs(cnn, cuts, cnn_flops)
    assert [c.layer for c in costs] == cuts
    assert [c.shape for c in costs] == [(H, W, COUT)] * 3 + [(H // 2, W // 2, COUT), (COUT,)]
    assert [c.bytes_per_example for c in costs] == [output_bytes(cnn, name) for name in cuts]
    order = list(CNN_FLOPS)
    for c in costs:
        upto = order[: order.index(c.layer) + 1]
        assert c.cumulative_flops == sum(CNN_FLOPS[name] for name in upto)
    cumulative = [c.cumulative_flops for c in costs]
    assert cumulative == sorted(cumulative)
    assert cut_costs(cnn, ["pool"]) == [costs[3]]  # FLOPs profiled when not given


def test_cut_costs_sum_ancestors_across_branches() -> None:
    model = branched()
    flops = layer_flops(model)
    assert flops["add"] == 4
    a, add = cut_costs(model, ["a", "add"], flops)
    assert a.cumulative_flops == flops["a"] == 2 * 6 * 4 + 4
    assert add.cumulative_flops == total_flops(flops) - flops["tail"]


def test_cut_at_a_nested_model_counts_what_runs_inside_it() -> None:
    inner_input = keras.Input((4,))
    inner = keras.Model(inner_input, keras.layers.Dense(3, name="d")(inner_input), name="inner")
    inputs = keras.Input((4,), name="x")
    shared = keras.layers.Dense(4, name="shared")
    x = inner(shared(shared(inputs)))
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(x))
    flops = layer_flops(model)
    assert flops == {"x": 0, "shared": 2 * (2 * 4 * 4 + 4), "inner": 2 * 4 * 3 + 3, "out": 14}
    assert cut_costs(model, ["inner"], flops) == [
        CutCost("inner", (3,), 12, flops["shared"] + flops["inner"])
    ]
    with pytest.raises(ValueError, match="runs 2 times"):
        cut_costs(model, ["shared"], flops)


def cost(layer: str, nbytes: int, flops: int) -> CutCost:
    return CutCost(
        layer=layer, shape=(nbytes // 4,), bytes_per_example=nbytes, cumulative_flops=flops
    )


# Cumulative FLOPs rise along the chain; bytes go up and down as layers widen and shrink.
COSTS = [
    cost("c0", 4096, 100),
    cost("c1", 1024, 300),
    cost("c2", 1024, 300),  # a free layer (ReLU) after c1: same bytes and FLOPs
    cost("c3", 2048, 700),
    cost("c4", 512, 900),
    cost("c5", 256, 1600),
    cost("c6", 1024, 1800),
    cost("c7", 64, 2500),
]
TOTAL = 3000
NODES = ["iot", "edge", "fog"]


def brute_force(
    costs: list[CutCost],
    nodes: list[str],
    total: int,
    max_link_bytes: int | None,
    max_flops: dict[str, int],
) -> dict[str, str] | None:
    """Every choice of cuts, the feasible ones ranked by the documented objective."""
    best = None
    for chosen in itertools.combinations(range(len(costs)), len(nodes)):
        done = [0] + [costs[i].cumulative_flops for i in chosen] + [total]
        own = dict(zip([*nodes, "output"], itertools.pairwise(done), strict=True))
        if any(
            max_link_bytes is not None and costs[i].bytes_per_example > max_link_bytes
            for i in chosen
        ):
            continue
        if any(hi - lo > max_flops[node] for node, (lo, hi) in own.items() if node in max_flops):
            continue
        key = (
            sum(costs[i].bytes_per_example for i in chosen),
            [(-costs[i].cumulative_flops, -i) for i in chosen],
        )
        if best is None or key < best[0]:
            best = (key, {node: costs[i].layer for node, i in zip(nodes, chosen, strict=True)})
    return None if best is None else best[1]


# Limits that bind, each with the plan they force (as iot, edge, fog cuts).
LIMITS = [
    (None, {}, ("c4", "c5", "c7")),  # the three smallest cuts in order: 512 + 256 + 64 bytes
    (None, {"iot": 350}, ("c2", "c5", "c7")),
    (None, {"iot": 350, "edge": 500}, ("c1", "c2", "c7")),  # the edge only runs a free layer
    (None, {"fog": 800}, ("c5", "c6", "c7")),
    (1024, {"iot": 250}, None),  # the iot would have to send c0's 4096 bytes
    (None, {"iot": 250}, ("c0", "c5", "c7")),
    (1024, {"iot": 1000, "fog": 800}, ("c4", "c6", "c7")),
]


@pytest.mark.parametrize(("max_link_bytes", "max_flops", "expected"), LIMITS)
def test_suggest_is_the_brute_force_optimum(
    max_link_bytes: int | None, max_flops: dict[str, int], expected: tuple[str, ...] | None
) -> None:
    plan = suggest(COSTS, NODES, TOTAL, max_link_bytes=max_link_bytes, max_flops=max_flops)
    assert plan == brute_force(COSTS, NODES, TOTAL, max_link_bytes, max_flops)
    if expected is None:
        assert plan is None
        return
    assert plan == dict(zip(NODES, expected, strict=True))
    by_name = {c.layer: c for c in COSTS}
    chosen = [by_name[plan[node]] for node in NODES]
    done = [0] + [c.cumulative_flops for c in chosen] + [TOTAL]
    for node, (lo, hi) in zip([*NODES, "output"], itertools.pairwise(done), strict=True):
        assert hi - lo <= max_flops.get(node, TOTAL)
    assert all(max_link_bytes is None or c.bytes_per_example <= max_link_bytes for c in chosen)


def test_the_default_budget_is_15_percent_of_the_flops_for_the_input_node() -> None:
    assert default_budget(3000) == 450
    assert default_budget(999) == 149  # 149.85, rounded down: the budget is never exceeded
    assert with_default_budget({}, "iot", 3000) == {"iot": 450}
    assert with_default_budget({"edge": 5}, "iot", 3000) == {"iot": 450, "edge": 5}
    assert with_default_budget({"iot": 2000, "edge": 5}, "iot", 3000) == {"iot": 2000, "edge": 5}


@pytest.mark.parametrize(("max_link_bytes", "max_flops", "expected"), LIMITS)
def test_suggest_under_the_default_budget_is_the_brute_force_optimum(
    max_link_bytes: int | None, max_flops: dict[str, int], expected: tuple[str, ...] | None
) -> None:
    """The LIMITS cases again, with iot at most 15 % of 3000 FLOPs unless they limit it."""
    limits = with_default_budget(max_flops, "iot", TOTAL)
    plan = suggest(COSTS, NODES, TOTAL, max_link_bytes=max_link_bytes, max_flops=limits)
    assert plan == brute_force(COSTS, NODES, TOTAL, max_link_bytes, {"iot": 450, **max_flops})
    if "iot" in max_flops:
        assert plan == (None if expected is None else dict(zip(NODES, expected, strict=True)))


def test_the_default_budget_moves_an_unlimited_suggestion_off_the_input_node() -> None:
    # Unlimited, the iot runs up to c4 (900 of 3000 FLOPs); at most 450, c2 is the cheapest.
    limits = with_default_budget({}, "iot", TOTAL)
    plan = suggest(COSTS, NODES, TOTAL, max_link_bytes=None, max_flops=limits)
    assert plan == {"iot": "c2", "edge": "c5", "fog": "c7"}  # 1024 + 256 + 64 bytes


def test_node_flops_of_a_plan() -> None:
    plan = {"iot": "c2", "edge": "c5", "fog": "c7"}
    assert node_flops(COSTS, plan, "cloud", TOTAL) == {
        "iot": 300, "edge": 1600 - 300, "fog": 2500 - 1600, "cloud": 3000 - 2500,
    }  # fmt: skip
    assert node_flops(COSTS, {"iot": "c0"}, "cloud", TOTAL) == {"iot": 100, "cloud": 2900}


def test_crowded_nodes_compute_more_than_half() -> None:
    assert crowded({"iot": 300, "edge": 1300, "fog": 900, "cloud": 500}, 3000) == []
    assert crowded({"iot": 1501, "cloud": 1499}, 3000) == ["iot"]
    assert crowded({"iot": 1500, "cloud": 1500}, 3000) == []  # half is not most
    assert crowded({"iot": 0, "cloud": 0}, 0) == []


def test_suggest_limits_the_output_node() -> None:
    costs, nodes = COSTS[:7], ["iot", "edge"]
    assert suggest(costs, nodes, TOTAL, max_link_bytes=None, max_flops={}) == {
        "iot": "c4",
        "edge": "c5",
    }
    # The output node may run 1250 FLOPs of 3000: the last cut must reach 1750.
    limited = suggest(costs, nodes, TOTAL, max_link_bytes=None, max_flops={"cloud": 1250})
    assert limited == {"iot": "c5", "edge": "c6"}
    assert limited == brute_force(costs, nodes, TOTAL, None, {"output": 1250})


def test_suggest_tie_breaks() -> None:
    # Equal bytes: the plan that computes more on the iot wins.
    costs = [cost("a", 100, 10), cost("b", 100, 50), cost("c", 200, 60), cost("d", 8, 70)]
    plan = suggest(costs, ["iot", "edge"], 99, max_link_bytes=None, max_flops={})
    assert plan == {"iot": "b", "edge": "d"}
    # c1 and c2 tie on bytes and FLOPs: the later cut runs the free layer early.
    assert suggest(COSTS[:4], ["iot"], TOTAL, max_link_bytes=None, max_flops={}) == {"iot": "c2"}


@pytest.mark.parametrize(
    ("max_link_bytes", "max_flops"),
    [(32, {}), (None, {"iot": 50}), (None, {"output": 400}), (600, {"iot": 800})],
)
def test_suggest_none_when_nothing_fits(
    max_link_bytes: int | None, max_flops: dict[str, int]
) -> None:
    assert brute_force(COSTS, NODES, TOTAL, max_link_bytes, max_flops) is None
    assert suggest(COSTS, NODES, TOTAL, max_link_bytes=max_link_bytes, max_flops=max_flops) is None


def test_suggest_rejects_limits_for_several_unknown_nodes() -> None:
    with pytest.raises(ValueError, match="unknown nodes"):
        suggest(COSTS, NODES, TOTAL, max_link_bytes=None, max_flops={"a": 1, "b": 2})


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 8), st.integers(0, 5)), min_size=1, max_size=8),
    st.integers(1, 4),
    st.one_of(st.none(), st.integers(1, 8)),
    st.dictionaries(st.sampled_from(["n0", "n1", "n2", "n3", "output"]), st.integers(0, 12)),
)
def test_suggest_matches_brute_force_on_random_chains(
    steps: list[tuple[int, int]],
    node_count: int,
    max_link_bytes: int | None,
    max_flops: dict[str, int],
) -> None:
    costs, cumulative = [], 0
    for i, (nbytes, flops) in enumerate(steps):
        cumulative += flops
        costs.append(cost(f"l{i}", nbytes, cumulative))
    total = cumulative + 3
    nodes = [f"n{k}" for k in range(node_count)]
    limits = {n: v for n, v in max_flops.items() if n in nodes or n == "output"}
    expected = brute_force(costs, nodes, total, max_link_bytes, limits)
    got = suggest(costs, nodes, total, max_link_bytes=max_link_bytes, max_flops=limits)
    assert got == expected
    budget = {"n0": total * 15 // 100, **limits}  # the default: 15 %, unless n0 is limited
    defaulted = with_default_budget(limits, "n0", total)
    got = suggest(costs, nodes, total, max_link_bytes=max_link_bytes, max_flops=defaulted)
    assert got == brute_force(costs, nodes, total, max_link_bytes, budget)


def test_format_table() -> None:
    costs = [cost("conv", 1536, 12_300_000), cost("gap", 16, 24_600_000)]
    table = format_table(costs, 49_200_000, {"iot": "conv"})
    lines = table.splitlines()
    assert lines[0].split() == [
        "layer", "output", "shape", "bytes/example", "cumulative", "FLOPs", "%", "of", "total",
        "node", "ends",
    ]  # fmt: skip
    assert lines[2].split() == [
        "conv", "384", "1.5", "KiB", "(1536", "B)", "12.3", "MFLOPs", "25.0%", "iot",
    ]  # fmt: skip
    assert lines[3].split() == ["gap", "4", "16", "B", "24.6", "MFLOPs", "50.0%"]
    assert "node ends" not in format_table(costs, 49_200_000)
