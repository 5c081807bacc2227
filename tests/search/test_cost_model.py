"""The cost model (search/cost_model.py): the ``costs:`` section, latency as a DAG longest path,
and the analytic costs of a profiled network against the costs of the built model."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import pytest

from resilinet_cli.config import ExperimentConfig, load_config
from resilinet_cli.errors import ConfigError
from resilinet_cli.experiments.reuse import LABELS
from resilinet_cli.models.builder import build_from_config
from resilinet_cli.models.costs import layer_flops
from resilinet_cli.models.cuts import reserved_names
from resilinet_cli.search.cost_model import (
    CostModel,
    DesignCosts,
    DeviceFigure,
    LinkFigure,
    NetworkProfile,
    chain_topology,
    design_costs,
    projection_costs,
)
from resilinet_cli.topology import Link, Topology
from resilinet_cli.variants import topology_of

BYOM = Path("configs/byom_mobilenetv2_fashion.yaml")
COSTS = """\
costs:
  devices:
    iot: {flops_per_second: 2.0e8, source: "datasheet"}
    edge: {flops_per_second: 1.0e9}
    fog: {flops_per_second: 5.0e9}
    cloud: {flops_per_second: 5.0e10}
  links:
    iot->edge: {bandwidth: 2.0e6, latency_ms: 20}
    edge->fog: {bandwidth: 1.0e7, latency_ms: 5}
    fog->cloud: {bandwidth: 1.0e8, latency_ms: 30}
    iot->fog: {bandwidth: 1.0e6, latency_ms: 25}
    edge->cloud: {bandwidth: 5.0e7, latency_ms: 40}
"""


def small_network() -> keras.Model:
    """Convolutions whose skip projections need a stride and zero padding (10x10 onto 6x6),
    a flat output onto a feature map (Dense + Reshape) and a map onto a flat one."""
    inputs = keras.Input((10, 10, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inputs)
    x = keras.layers.Conv2D(8, 5, name="c2")(x)  # 6x6x8
    x = keras.layers.Conv2D(8, 3, name="c3")(x)  # 4x4x8
    x = keras.layers.Flatten(name="flat")(x)
    x = keras.layers.Dense(32, activation="relu", name="d1")(x)
    x = keras.layers.Reshape((4, 4, 2), name="map")(x)
    x = keras.layers.Conv2D(4, 3, padding="same", name="c4")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="out")(x))


@pytest.fixture(scope="module")
def small_config(tmp_path_factory: pytest.TempPathFactory) -> ExperimentConfig:
    folder = tmp_path_factory.mktemp("small")
    small_network().save(folder / "small.keras")
    path = folder / "small.yaml"
    path.write_text(
        f"name: small\ntopology: cnn\ndataset: {{name: digits}}\n"
        f"model: {{name: keras, path: {folder / 'small.keras'}, "
        "cut: {iot: c1, edge: c2, fog: d1}}\n" + COSTS
    )
    return load_config(path)


@pytest.fixture(scope="module")
def byom() -> ExperimentConfig:
    return load_config(BYOM)


def test_costs_score_only_they_change_no_hash_nor_training_key(
    small_config: ExperimentConfig,
) -> None:
    bare = small_config.model_copy(update={"costs": type(small_config.costs)()})
    assert small_config.digest() == bare.digest()
    assert "costs" in small_config.to_dict() and "costs" not in bare.to_dict()
    assert "costs" in LABELS
    model = CostModel.from_config(small_config, "small.yaml")
    assert model.sources()["costs.devices.iot"] == "datasheet"
    assert model.sources()["costs.links.iot->edge"] == "given in the config"


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("devices: {egde: {flops_per_second: 1.0}}",
         "a.yaml: costs.devices.egde: unknown device 'egde' (did you mean 'edge'?"),
        ("links: {iot->fgo2: {bandwidth: 1.0, latency_ms: 1}}",
         "a.yaml: costs.links.iot->fgo2: unknown link 'iot->fgo2' (did you mean 'iot->fog2'?"),
        ("devices: {iot: {flops_per_second: 0}}",
         "a.yaml: costs.devices.iot.flops_per_second: Input should be greater than 0"),
    ],
)  # fmt: skip
def test_unknown_names_and_bad_figures_are_one_line(
    tmp_path: Path, section: str, expected: str
) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(f"name: a\ntopology: health\ndataset: {{name: digits}}\ncosts: {{{section}}}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)


def figures(**fps: float) -> dict[str, DeviceFigure]:
    return {name: DeviceFigure(value) for name, value in fps.items()}


def test_latency_is_the_longest_path_a_node_waits_for_all_its_inputs() -> None:
    topology = Topology(("a", "b", "c"), (Link("a", "b"), Link("b", "c"), Link("a", "c", True)), ())
    links = {
        "a->b": LinkFigure(8000.0, 1.0),  # 1 ms + 1 ms per byte
        "b->c": LinkFigure(8000.0, 0.0),
        "a->c": LinkFigure(8000.0, 0.0),
    }
    model = CostModel(figures(a=1000.0, b=1000.0, c=1000.0), links, "f.yaml")
    flops = {"a": 2, "b": 3, "c": 1}  # 2 ms, 3 ms, 1 ms
    # a: 2; via b: 2 + (1 + 4) + 3 + 4 = 14; the skip: 2 + 30 = 32; c starts at 32, ends at 33
    ms, path = model.latency(flops, {"a->b": 4, "b->c": 4, "a->c": 30}, topology)
    assert ms == pytest.approx(33.0) and path == ("a", "c")
    ms, path = model.latency(flops, {"a->b": 4, "b->c": 4, "a->c": 3}, topology)
    assert ms == pytest.approx(15.0) and path == ("a", "b", "c")


def test_a_missing_figure_is_refused_only_when_the_latency_needs_it() -> None:
    model = CostModel(figures(b=1.0), {"a->b": LinkFigure(1.0, 0.0)}, "f.yaml")
    topology = chain_topology(["a", "b"])
    # a computes nothing (it sends its raw input): no figure needed
    assert model.latency({"a": 0, "b": 1}, {"a->b": 1}, topology)[0] == pytest.approx(9000.0)
    with pytest.raises(ConfigError) as error:
        model.latency({"a": 5, "b": 1}, {"a->b": 1}, topology)
    assert str(error.value).startswith("f.yaml: costs.devices.a: no figure, and the latency ")
    assert "resilinet measure" in str(error.value)
    with pytest.raises(ConfigError, match=r"costs\.links\.a->b: no figure"):
        CostModel(figures(a=1.0, b=1.0), {}).latency({"a": 5, "b": 1}, {"a->b": 1}, topology)


def test_row_columns() -> None:
    costs = DesignCosts({"iot": 5, "cloud": 7}, {"iot": 1, "cloud": 2}, {"iot->cloud": 9})
    row = costs.row()
    assert list(row) == [
        "flops_iot", "flops_cloud", "params_iot", "params_cloud", "bytes_iot->cloud",
        "latency_ms", "critical_path",
    ]  # fmt: skip
    assert math.isnan(float(row["latency_ms"])) and row["critical_path"] == ""
    timed = DesignCosts({"a": 1}, {"a": 0}, {}, 2.5, ("iot", "cloud"))
    assert timed.row()["latency_ms"] == 2.5 and timed.row()["critical_path"] == "iot->cloud"


def test_projection_costs_follow_keras_family() -> None:
    assert projection_costs((6, 6, 8), (6, 6, 8)) == (0, 0)
    # 10x10 onto 6x6: stride 2, 5x5 positions (then padded), 1x1x4x8 weights
    assert projection_costs((10, 10, 4), (6, 6, 8)) == (2 * 32 * 25, 32)
    assert projection_costs((6, 6, 8), (16,)) == (2 * 288 * 16, 288 * 16)
    assert projection_costs((32,), (4, 4, 4)) == (2 * 32 * 64, 32 * 64)


def built_glue(config: ExperimentConfig, variant: str, shape: tuple[int, ...]) -> int:
    """FLOPs of the builder's own layers (markers, gates, link weights, merges, failout): what
    the analytic costs leave out. Both count the skip projections."""
    model, _ = build_from_config(config, variant, input_shape=shape, num_classes=10, seed=0)
    topology = topology_of(config, variant)
    glue = reserved_names(topology.nodes, topology.links)
    return sum(
        value
        for name, value in layer_flops(model).items()
        if name in glue and not name.startswith("skip_hyperconnection_")
    )


DESIGNS = [
    ("byom", {"iot": "block_2_add", "edge": "block_5_add", "fog": "block_12_add"}),
    ("byom", {"iot": "block_1_project_BN", "edge": "block_3_project_BN", "fog": "out_relu"}),
    ("small", {"iot": "c1", "edge": "c2", "fog": "d1"}),  # 10x10 onto 6x6, map onto flat
    ("small", {"iot": "c2", "edge": "d1", "fog": "c4"}),  # flat onto a map
]


@pytest.mark.parametrize(("name", "cut"), DESIGNS)
def test_analytic_costs_equal_the_built_models(
    name: str, cut: dict[str, str], byom: ExperimentConfig, small_config: ExperimentConfig
) -> None:
    """The chain (Vanilla) and every skip (ResiliNet): weights and bytes exactly; FLOPs
    exactly but for the builder's glue (gates, link weights, merges), which the analytic
    costs leave out: the difference is exactly those layers' FLOPs, under 2 % of the total."""
    config = byom if name == "byom" else small_config
    config = config.model_copy(update={"model": config.model.model_copy(update={"cut": cut})})
    profile = NetworkProfile.from_config(config)
    shape = tuple(profile.network.inputs[0].shape[1:])
    model = CostModel.from_config(small_config, "small.yaml")  # same topology, cnn
    for variant in ("vanilla", "resilinet"):
        topology = topology_of(config, variant)
        built = design_costs(config, variant, model)
        fast = profile.costs(cut, topology, model)
        assert fast.params == built.params
        assert fast.link_bytes == built.link_bytes
        assert set(fast.flops) == set(built.flops)
        gap = {node: built.flops[node] - fast.flops[node] for node in built.flops}
        assert min(gap.values()) >= 0
        assert sum(gap.values()) == built_glue(config, variant, shape)
        assert sum(gap.values()) < 0.02 * sum(built.flops.values())
        assert fast.flops[topology.input_node] == built.flops[topology.input_node]
        assert fast.latency_ms == pytest.approx(built.latency_ms, rel=1e-2)


def test_bad_cuts_are_refused(small_config: ExperimentConfig) -> None:
    profile = NetworkProfile.from_config(small_config)
    topology = topology_of(small_config, "vanilla")
    with pytest.raises(ValueError, match="running order"):
        profile.costs({"iot": "c2", "edge": "c1", "fog": "d1"}, topology)
    with pytest.raises(ValueError, match="running order"):  # no such cut point
        profile.costs({"iot": "c1", "edge": "c2", "fog": "gap_nope"}, topology)
    with pytest.raises(ValueError, match="exactly"):
        profile.costs({"iot": "c1"}, topology)
