"""The keras family: a user's network cut at named layers (docs/byom.md).

Oracles: our MobileNet family, built independently from the paper's description, must be the
same network as ``keras.applications.MobileNet`` cut at the same layers; a saved model swept
without training must score what the original scores.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from cnn_helpers import cnn_config, train_one_step

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.config.schema import validate_config
from resilinet_cli.data import load_splits
from resilinet_cli.models.builder import build_from_config
from resilinet_cli.models.cuts import LayerGraph
from resilinet_cli.models.keras_family import project
from resilinet_cli.models.keras_source import NetworkError
from resilinet_cli.sweeps.sweep import sweep_model
from resilinet_cli.training.inputs import build_inputs

SHAPE = (32, 32, 3)
PARTITION_1 = {"iot": "conv1_relu", "edge": "conv_pw_3_relu", "fog": "conv_pw_8_relu"}
APP = {"alpha": 0.75, "input_shape": list(SHAPE), "classes": 10}
DATA = {"image_size": 32, "channels": 3, "subset": {"train": 64, "val": 32, "test": 96}}


def mobilenet_pair(variant: str) -> tuple[keras.Model, keras.Model]:
    """Our MobileNet family and the cut keras.applications.MobileNet, with the same weights."""
    ours = cnn_config({"name": "mobilenet", "strides": "standard", "partition": 1}, DATA)
    theirs = cnn_config(
        {
            "name": "keras",
            "source": "keras.applications.MobileNet",
            "args": APP,
            "cut": PARTITION_1,
        },
        DATA,
    )
    a, _ = build_from_config(ours, variant, input_shape=SHAPE, num_classes=10, seed=0)
    b, _ = build_from_config(theirs, variant, input_shape=SHAPE, num_classes=10, seed=0)
    return a, b


def copy_by_name(source: keras.Model, target: keras.Model) -> None:
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def trainable_count(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_cut_keras_mobilenet_is_our_vanilla_mobilenet() -> None:
    ours, theirs = mobilenet_pair("vanilla")
    assert trainable_count(theirs) == trainable_count(ours) == 1_824_250
    x = np.random.default_rng(0).random((6, *SHAPE), dtype=np.float32)
    train_one_step(ours, x)  # BN statistics of a batch: at init every output is the same
    copy_by_name(ours, theirs)
    outputs = []
    for combo in ((1, 1), (0, 1), (1, 0), (0, 0)):
        alive = np.tile(np.asarray(combo, "float32"), (len(x), 1))
        expected = ours.predict([x, alive], verbose=0)
        np.testing.assert_allclose(theirs.predict([x, alive], verbose=0), expected, atol=1e-6)
        outputs.append(expected)
    assert np.abs(outputs[0] - outputs[-1]).max() > 1e-3  # failures change the output


def test_cut_keras_mobilenet_gives_our_resilinet_combinations() -> None:
    ours, theirs = mobilenet_pair("resilinet")
    assert trainable_count(theirs) == trainable_count(ours)
    assert theirs.get_layer("skip_hyperconnection_edgecloud").strides == (4, 4)
    config = cnn_config({"name": "mobilenet", "strides": "standard"}, DATA)
    splits = load_splits(config.dataset)
    inputs = build_inputs(splits, config, failable=2, seed=0)
    train_one_step(ours, np.stack([features.numpy() for features, _ in inputs.test.take(32)]))
    copy_by_name(ours, theirs)
    expected = sweep_model(config, "resilinet", ours, inputs)
    got = sweep_model(config, "resilinet", theirs, inputs)
    assert expected.equals(got), (expected, got)
    assert expected["accuracy"].nunique() > 1  # the combinations differ: the check has teeth


@pytest.fixture(scope="module")
def resnet50() -> LayerGraph:
    return LayerGraph(keras.applications.ResNet50(weights=None, input_shape=SHAPE, classes=10))


def test_resnet50_cut_points_are_the_block_outputs(resnet50: LayerGraph) -> None:
    points = resnet50.cut_points()
    assert points[0].startswith("input_layer")  # the IoT node may send its raw input
    assert points[1:7] == ["conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu",
                          "pool1_pad", "pool1_pool"]  # fmt: skip
    inside = [p for p in points if "block" in p]
    assert all(p.endswith(("_add", "_out")) for p in inside)
    assert {f"conv{s}_block{b}_out" for s, b in ((2, 3), (3, 4), (4, 6))} <= set(points)
    cuts = {"iot": "pool1_pool", "edge": "conv2_block3_out", "fog": "conv4_block6_out"}
    assert len(resnet50.check_cuts(cuts)) == 3


def test_a_cut_inside_a_residual_block_names_the_shortcut(resnet50: LayerGraph) -> None:
    with pytest.raises(NetworkError) as error:
        resnet50.check_cuts({"iot": "pool1_pool", "edge": "conv2_block1_1_relu"})
    message = str(error.value)
    assert message.startswith("model.cut.edge: cannot cut after 'conv2_block1_1_relu'")
    assert "'conv2_block1_0_conv' reads 'pool1_pool'" in message  # the shortcut conv
    assert "nearest cut points: 'pool1_pool', 'conv2_block1_add'" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("cuts", "expected"),
    [
        (
            {"iot": "conv2_block1_ot"},
            "no layer 'conv2_block1_ot' in the network (did you mean 'conv2_block1_out'?",
        ),
        ({"iot": "conv3_block1_out", "edge": "conv2_block3_out"}, "cuts out of order"),
        ({"iot": "predictions"}, "the network's last layer"),
        ({"iot": "pool1_pool", "edge": "pool1_pool"}, "ends the node before too"),
    ],
)
def test_bad_cuts_are_one_line(resnet50: LayerGraph, cuts: dict, expected: str) -> None:
    with pytest.raises(NetworkError, match=r"^model\.cut") as error:
        resnet50.check_cuts(cuts)
    assert expected in str(error.value) and "\n" not in str(error.value)


def branchy() -> keras.Model:
    """Two parallel convolutions joined by a Concatenate: no cut point between fork and join."""
    x = keras.Input((8, 8, 2), name="image")
    stem = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(x)
    left = keras.layers.Conv2D(3, 1, name="left")(stem)
    right = keras.layers.Conv2D(5, 3, padding="same", name="right_a")(stem)
    right = keras.layers.ReLU(name="right_b")(right)
    joined = keras.layers.Concatenate(name="join")([left, right])
    pooled = keras.layers.MaxPooling2D(name="pool")(joined)
    flat = keras.layers.Flatten(name="flat")(pooled)
    hidden = keras.layers.Dense(16, activation="relu", name="hidden")(flat)
    return keras.Model(x, keras.layers.Dense(10, activation="softmax", name="out")(hidden))


def test_a_branching_network_is_cut_only_around_its_branch() -> None:
    graph = LayerGraph(branchy())
    assert graph.cut_points() == ["image", "stem", "join", "pool", "flat", "hidden"]
    with pytest.raises(NetworkError, match="'right_a' reads 'stem' across it"):
        graph.check_cuts({"iot": "left"})


def branchy_config(folder: Path, network: keras.Model) -> ExperimentConfig:
    """``network`` (``branchy``) saved and cut so that the edge sends a map and the fog a flat
    vector: the edge -> cloud skip needs a Flatten + Dense projection."""
    path = folder / "branchy.keras"
    network.save(path)
    cut = {"iot": "stem", "edge": "join", "fog": "flat"}
    return cnn_config({"name": "keras", "path": str(path), "cut": cut})


def test_a_branching_network_partitioned_predicts_as_the_original(tmp_path) -> None:
    network = branchy()
    config = branchy_config(tmp_path, network)
    x = np.random.default_rng(1).random((5, 8, 8, 2), dtype=np.float32)
    for variant in ("vanilla", "resilinet"):
        model, _ = build_from_config(config, variant, input_shape=(8, 8, 2), num_classes=10, seed=0)
        everyone = np.ones((5, 2), "float32")
        got = model.predict([x, everyone], verbose=0)
        if variant == "vanilla":  # with skips, the merges add the (random) projections
            np.testing.assert_allclose(got, network.predict(x, verbose=0), atol=1e-6)
    # iot (8x8x4) -> fog's chain input (the edge's join, 8x8x8): 1x1 conv, 8 filters, stride 1
    skip = model.get_layer("skip_hyperconnection_iotfog")
    assert (skip.filters, skip.strides) == (8, (1, 1))
    # edge (8x8x8) -> cloud's chain input (flat 128): flattened, then Dense
    assert model.get_layer("skip_hyperconnection_edgecloud").units == 128


# Every kind of projection: (source shape, chain-input shape, layers made, strides).
PROJECTIONS = [
    ((16, 16, 24), (8, 8, 96), ["conv"], (2, 2)),
    ((9, 9, 4), (4, 4, 6), ["conv", "pad"], (3, 3)),  # ceil(9/3) = 3: padded to 4
    ((9, 10, 4), (4, 5, 6), ["conv", "pad"], (3, 2)),  # padded on one axis only
    ((40, 3), (10, 8), ["conv"], (4,)),  # a 1-D sensor feature map
    ((9, 3), (4, 5), ["conv", "pad"], (3,)),  # 1-D, padded
    ((8, 8, 8, 2), (4, 4, 4, 3), ["conv"], (2, 2, 2)),  # a 3-D volume
    ((9, 8, 5, 2), (4, 4, 2, 3), ["conv", "pad"], (3, 2, 3)),  # 3-D, padded on the first axis
    ((5, 5, 4), (30,), ["flatten", "dense"], None),
    ((30,), (12,), ["dense"], None),
    ((30,), (5, 5, 4), ["dense", "reshape"], None),
    ((6, 6, 4), (6, 6, 4), [], None),
]
KINDS = {
    keras.layers.Conv1D: "conv", keras.layers.Conv2D: "conv", keras.layers.Conv3D: "conv",
    keras.layers.Dense: "dense", keras.layers.Flatten: "flatten", keras.layers.Reshape: "reshape",
    keras.layers.ZeroPadding1D: "pad", keras.layers.ZeroPadding2D: "pad",
    keras.layers.ZeroPadding3D: "pad",
}  # fmt: skip


@pytest.mark.parametrize(("source", "goal", "layers", "strides"), PROJECTIONS)
def test_projection_rule(source, goal, layers, strides) -> None:
    x, target = keras.Input(source), keras.Input(goal)
    y = project("skip", x, target)
    assert tuple(y.shape[1:]) == goal
    made = keras.Model(x, y).layers[1:]
    assert [KINDS[type(layer)] for layer in made] == layers
    if strides:
        conv = made[0]
        assert conv.strides == strides and conv.kernel_size == (1,) * len(strides)
        assert not conv.use_bias and conv.padding == "valid"


def randomise(layers: list[keras.Layer], seed: int = 0) -> None:
    """Every weight drawn from [0.5, 1.5]: a bias, had the layer one, would be non-zero."""
    rng = np.random.default_rng(seed)
    for layer in layers:
        for weight in layer.weights:
            weight.assign(rng.uniform(0.5, 1.5, weight.shape).astype("float32"))


def shapes(source: tuple[int, ...], goal: tuple[int, ...]) -> str:
    return "x".join(map(str, source)) + "-to-" + "x".join(map(str, goal))


PAIRS = [case[:2] for case in PROJECTIONS]


@pytest.mark.parametrize(("source", "goal"), PAIRS, ids=[shapes(*pair) for pair in PAIRS])
def test_a_projection_of_zeros_is_zeros(source, goal) -> None:
    """A dead sender's output is exactly zero; its link must add exactly zero to the merge."""
    x = keras.Input(source)
    model = keras.Model(x, project("skip", x, keras.Input(goal)))
    randomise(model.layers)
    zeros = np.zeros((3, *source), "float32")
    np.testing.assert_array_equal(model(zeros), np.zeros((3, *goal), "float32"))
    assert np.asarray(model(zeros + 1.0)).max() > 0  # the weights are live: the check has teeth


@pytest.mark.parametrize("variant", ["deepfogguard", "resilinet_plus"])  # the add merges
def test_a_dead_sender_delivers_zeros_through_a_dense_skip(tmp_path, variant: str) -> None:
    config = branchy_config(tmp_path, branchy())
    model, _ = build_from_config(config, variant, input_shape=(8, 8, 2), num_classes=10, seed=0)
    skips = [layer for layer in model.layers if layer.name.startswith("skip_hyperconnection")]
    projections = [layer for layer in skips if layer.weights]
    assert {layer.name for layer in projections} == {
        "skip_hyperconnection_iotfog", "skip_hyperconnection_edgecloud",
    }  # fmt: skip
    assert all(len(layer.weights) == 1 for layer in projections)  # a kernel, no bias
    dense = model.get_layer("skip_hyperconnection_edgecloud")
    assert isinstance(dense, keras.layers.Dense)
    randomise(projections)
    link = keras.Model(model.inputs, dense.output)
    x = np.random.default_rng(2).random((4, 8, 8, 2), dtype=np.float32)
    edge_dead = np.tile(np.asarray([1, 0], "float32"), (len(x), 1))  # [fog, edge]
    np.testing.assert_array_equal(link([x, edge_dead]), np.zeros((len(x), 128), "float32"))
    assert np.abs(np.asarray(link([x, np.ones_like(edge_dead)]))).max() > 0


def test_exit_heads_fit_what_the_node_sends(tmp_path) -> None:
    """A map gets global average pooling, then Dense; a vector the Dense alone (docs/variants.md
    §3): the branchy network's edge sends 8x8x8, its fog a flat 128."""
    config = branchy_config(tmp_path, branchy())
    raw = config.to_dict()
    raw["variants"] = ["vanilla+exits"]
    raw["techniques"] = {"vanilla+exits": {"exits": ["edge", "fog"]}}
    config = validate_config(raw, "test")
    model, _ = build_from_config(
        config, "vanilla+exits", input_shape=(8, 8, 2), num_classes=10, seed=0
    )
    assert [tuple(out.shape) for out in model.outputs] == [(None, 10)] * 3
    assert isinstance(model.get_layer("edge_exit_pool"), keras.layers.GlobalAveragePooling2D)
    assert "fog_exit_pool" not in {layer.name for layer in model.layers}
    assert model.get_layer("edge_exit").kernel.shape == (8, 10)
    assert model.get_layer("fog_exit").kernel.shape == (128, 10)
