"""ResNet-18 split over iot → edge → fog → cloud (docs/method.md §2.4): shapes, names, failures."""

from __future__ import annotations

import functools
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from reference_method import reference_predictions

from resilinet_cli.config import validate_config
from resilinet_cli.models.builder import build_from_config, build_model
from resilinet_cli.models.hyperconnections import hyperconnection_weights
from resilinet_cli.models.resnet import ResNetFamily, build_family
from resilinet_cli.sweeps.sweep import predict_combinations
from resilinet_cli.topology import Link, Topology
from resilinet_cli.variants import VARIANTS

INPUT = (32, 32, 3)
CLASSES = 10
COMBINATIONS = [(0, 0), (0, 1), (1, 0), (1, 1)]  # [fog, edge], 1 = alive
TOPOLOGY = Topology(
    nodes=("iot", "edge", "fog", "cloud"),
    links=(
        Link("iot", "edge"),
        Link("edge", "fog"),
        Link("fog", "cloud"),
        Link("iot", "fog", True),
        Link("edge", "cloud", True),
    ),
    failable=("fog", "edge"),
    reliability={"no_failure": (1.0, 1.0), "hazardous": (0.85, 0.80)},
)
TOPOLOGY_CONFIG = {
    "nodes": ["iot", "edge", "fog", "cloud"],
    "links": [["iot", "edge"], ["edge", "fog"], ["fog", "cloud"]],
    "skips": [["iot", "fog"], ["edge", "cloud"]],
    "failable": ["fog", "edge"],
    "reliability": {"no_failure": [1.0, 1.0], "hazardous": [0.85, 0.80]},
}

# docs/method.md §2.4: output shape of every node boundary on 32x32 input.
SHAPES = {
    1: {
        "relu_1": (16, 16, 64),
        "max_pooling": (8, 8, 64),
        "edge_gate": (4, 4, 64),
        "fog_gate": (2, 2, 128),
        "skip_hyperconnection_iotfog": (4, 4, 64),
        "skip_hyperconnection_edgecloud": (2, 2, 128),
    },
    2: {
        "relu_1": (16, 16, 64),
        "max_pooling": (8, 8, 64),
        "edge_gate": (2, 2, 128),
        "fog_gate": (1, 1, 256),
        "skip_hyperconnection_iotfog": (2, 2, 128),
        "skip_hyperconnection_edgecloud": (1, 1, 256),
    },
}
SKIP_STRIDES = {
    1: {"skip_hyperconnection_iotfog": (4, 4), "skip_hyperconnection_edgecloud": (2, 2)},
    2: {"skip_hyperconnection_iotfog": (8, 8), "skip_hyperconnection_edgecloud": (2, 2)},
}
FAILURE_LAYERS = {
    1: {"edge": ["conv_6", "conv_3", "skip_bn_4"], "fog": ["conv_11", "conv_8", "skip_bn_9"]},
    2: {"edge": ["conv_11", "conv_8", "skip_bn_9"], "fog": ["conv_16", "conv_13", "skip_bn_14"]},
}


def config(partition: int, **model: object):
    raw = {
        "name": "resnet-test",
        "topology": TOPOLOGY_CONFIG,
        "dataset": {"name": "fashion_mnist"},
        "model": {"name": "resnet18", "partition": partition, **model},
    }
    return validate_config(raw, "test")


def build(
    variant: str, partition: int = 1, mux_detect: str = "alive"
) -> tuple[keras.Model, ResNetFamily]:
    topology = TOPOLOGY if VARIANTS[variant].skips else TOPOLOGY.with_skips(())
    family = build_family(config(partition).model, topology, CLASSES, INPUT)
    model = build_model(
        topology=topology,
        variant=VARIANTS[variant],
        family=family,
        input_shape=INPUT,
        weights=hyperconnection_weights(topology, 1, [1.0, 1.0]),
        survival={"fog": 0.9, "edge": 0.9},
        seed=0,
        mux_detect=mux_detect,
    )
    return model, family


@functools.cache
def built(variant: str, partition: int) -> tuple[keras.Model, ResNetFamily]:
    """Untrained models shared by the read-only tests (built through the config path)."""
    keras.utils.set_random_seed(partition)
    return build_from_config(
        config(partition), variant, input_shape=INPUT, num_classes=CLASSES, seed=0
    )


def images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *INPUT)).astype("float32")


def alive_rows(combination: tuple[int, int], n: int) -> np.ndarray:
    return np.tile(np.array(combination, "float32"), (n, 1))


def predict(model: keras.Model, x: np.ndarray, alive: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(model([x, alive], training=False))


@pytest.mark.parametrize("variant", ["vanilla", "resilinet"])
@pytest.mark.parametrize("partition", [1, 2])
def test_shapes_at_every_node_boundary(partition: int, variant: str) -> None:
    model, _ = built(variant, partition)
    expected = dict(SHAPES[partition])
    skips = [name for name in expected if name.startswith("skip_hyperconnection")]
    if not VARIANTS[variant].skips:
        for name in skips:
            del expected[name]
        assert not any(layer.name.startswith("skip_hyperconnection") for layer in model.layers)
    for name, shape in expected.items():
        assert tuple(model.get_layer(name).output.shape) == (None, *shape), name
    for name in skips if VARIANTS[variant].skips else []:
        layer = model.get_layer(name)
        assert layer.strides == SKIP_STRIDES[partition][name]
        assert layer.kernel_size == (1, 1) and layer.padding == "valid"
        assert not layer.use_bias and layer.kernel_regularizer is None
    # Residual stages: stage 0 ends at 4x4x64 ... stage 3 at 1x1x512 (the add of each last block).
    stage_ends = {"add_6": (4, 4, 64), "add_11": (2, 2, 128), "add_16": (1, 1, 256)}
    for name, shape in {**stage_ends, "add_21": (1, 1, 512)}.items():
        assert tuple(model.get_layer(name).output.shape) == (None, *shape), name
    assert model.output_shape == (None, CLASSES)


@pytest.mark.parametrize("partition", [1, 2])
def test_layer_names_and_failure_layers_follow_the_spec(partition: int) -> None:
    model, family = built("resilinet", partition)
    names = {layer.name for layer in model.layers}
    convs = {layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)}
    unit_ids = [3, 5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 18, 20, 21]
    expected_convs = {
        "conv_1",
        "res0a_branch2a",
        *(f"conv_{i}" for i in unit_ids),
        *(f"skip_conv_{i}" for i in (4, 9, 14, 19)),
        "skip_hyperconnection_iotfog",
        "skip_hyperconnection_edgecloud",
    }
    assert convs == expected_convs
    assert {"batch_norm_1", *(f"batch_norm_{i}" for i in unit_ids)} <= names
    assert {f"skip_bn_{i}" for i in (4, 9, 14, 19)} <= names
    assert "batch_norm_2" not in names  # the very first block has no pre-activation
    assert {"max_pooling", "final_batch_norm", "global_average_pooling", "output"} <= names
    for node in ("edge", "fog"):
        assert family.failure_layers(node) == FAILURE_LAYERS[partition][node]
        assert set(family.failure_layers(node)) <= names
    with pytest.raises(ValueError, match="cannot fail"):
        family.failure_layers("iot")


def test_vanilla_parameter_count_and_skip_projections() -> None:
    def conv(k: int, cin: int, cout: int) -> int:
        return k * k * cin * cout + cout

    def bn(c: int) -> int:
        return 4 * c

    total = conv(7, 3, 64) + bn(64)  # IoT
    cin = 64
    for stage, filters in enumerate((64, 128, 256, 512)):
        pre = 0 if stage == 0 else bn(cin)  # res0a_branch2a has no pre-activation
        total += pre + conv(3, cin, filters) + bn(filters) + conv(3, filters, filters)
        total += conv(1, cin, filters) + bn(filters)  # projection shortcut
        total += 2 * (bn(filters) + conv(3, filters, filters))  # second block
        cin = filters
    total += bn(512) + 512 * CLASSES + CLASSES
    assert total == 11_200_458
    assert built("vanilla", 1)[0].count_params() == total
    assert built("resilinet", 1)[0].count_params() == total + 64 * 64 + 64 * 128
    assert built("resilinet", 2)[0].count_params() == total + 64 * 128 + 128 * 256


def test_l2_regularises_every_chain_conv_kernel() -> None:
    model, _ = built("resilinet", 1)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    regularised = [layer for layer in convs if layer.kernel_regularizer is not None]
    # conv_1, res0a_branch2a, 15 conv_<id>, 4 skip_conv_<id>; not the 2 skip hyperconnections
    assert len(convs) == 23 and len(regularised) == 21
    assert not any(layer.name.startswith("skip_hyperconnection") for layer in regularised)
    assert len(model.losses) == len(regularised)
    assert all(layer.kernel_regularizer.l2 == pytest.approx(1e-4) for layer in regularised)
    conv_1 = model.get_layer("conv_1").kernel.numpy()
    expected = 1e-4 * float(np.sum(np.square(conv_1)))
    assert any(float(loss) == pytest.approx(expected, rel=1e-5) for loss in model.losses)
    assert model.get_layer("conv_1").use_bias and model.get_layer("conv_6").use_bias
    assert model.get_layer("output").kernel_regularizer is None
    # weight_decay 0 switches the regulariser off.
    plain, _ = build_from_config(
        config(1, weight_decay=0.0), "vanilla", input_shape=INPUT, num_classes=CLASSES, seed=0
    )
    assert plain.losses == []


@pytest.mark.parametrize("variant", ["deepfogguard", "resilinet", "resilinet_plus"])
@pytest.mark.parametrize("partition", [1, 2])
def test_skip_hyperconnections_are_plain_reference_convs(partition: int, variant: str) -> None:
    """The reference code builds them as ``Conv2D(..., use_bias=False)``: glorot_uniform, no L2.

    With failout a skip gets a data gradient only on the batches that drop the node it skips;
    an L2 term would shrink it on every step. The chain's convs keep he_normal and L2.
    """
    model, _ = built(variant, partition)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    skips = [layer for layer in convs if layer.name.startswith("skip_hyperconnection")]
    assert {layer.name for layer in skips} == set(SKIP_STRIDES[partition])
    for layer in skips:
        assert isinstance(layer.kernel_initializer, keras.initializers.GlorotUniform), layer.name
        assert layer.kernel_regularizer is None and not layer.use_bias, layer.name
        # The values, too: uniform within the Glorot limit sqrt(6 / (fan_in + fan_out)).
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        limit = np.sqrt(6 / (kernel.shape[2] + kernel.shape[3]))
        assert np.abs(kernel).max() <= limit
        assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.05), layer.name
    chain = [layer for layer in convs if layer not in skips]
    assert len(chain) == 21
    for layer in chain:
        assert isinstance(layer.kernel_initializer, keras.initializers.HeNormal), layer.name
        assert layer.kernel_regularizer.l2 == pytest.approx(1e-4), layer.name
    # Only the chain's kernels add an L2 loss.
    assert len(model.losses) == len(chain)


def test_rejects_inputs_that_are_not_images() -> None:
    with pytest.raises(ValueError, match="image input"):
        build_family(config(1).model, TOPOLOGY, CLASSES, (23,))


def test_every_trainable_weight_gets_a_gradient() -> None:
    model, _ = built("resilinet", 1)
    x = images(8)
    alive = np.array(COMBINATIONS * 2, "float32")
    y = np.arange(8) % CLASSES
    with tf.GradientTape() as tape:
        out = model([x, alive], training=False)
        loss = keras.losses.sparse_categorical_crossentropy(y, out)
    grads = tape.gradient(loss, model.trainable_weights)
    out = keras.ops.convert_to_numpy(out)
    assert out.shape == (8, CLASSES) and not np.isnan(out).any()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    # 21 convs with bias, 2 skip projections without, 21 BNs (gamma, beta), the Dense.
    assert len(model.trainable_weights) == 21 * 2 + 2 + 21 * 2 + 2
    for weight, grad in zip(model.trainable_weights, grads, strict=True):
        assert grad is not None, weight.path
        assert np.abs(keras.ops.convert_to_numpy(grad)).sum() > 0, weight.path


def failure_zeroes_the_node(family: ResNetFamily, model: keras.Model, node: str) -> None:
    """Zeroing a node's failure layers alone (no mask) makes its output tensor exactly 0."""
    gate = model.get_layer(f"{node}_gate")
    probe = keras.Model(model.inputs, gate.input[0])
    x, everyone = images(4, seed=3), np.ones((4, 2), "float32")
    assert np.abs(predict(probe, x, everyone)).max() > 0
    for name in family.failure_layers(node):
        layer = model.get_layer(name)
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    assert np.all(predict(probe, x, everyone) == 0.0)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_alive_mask_equals_weight_zeroing(variant: str) -> None:
    """The mask design against the reference method (docs/method.md §6.2), briefly trained net."""
    keras.utils.set_random_seed(7)
    model, family = build(variant)
    x = images(64, seed=1)
    y = np.random.default_rng(2).integers(0, CLASSES, 64)
    everyone = np.ones((64, 2), "float32")
    model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy", run_eagerly=True)
    before = model.get_layer("skip_bn_9").moving_mean.numpy().copy()
    model.fit([x, everyone], y, batch_size=64, epochs=1, verbose=0)  # one step
    assert not np.allclose(before, model.get_layer("skip_bn_9").moving_mean.numpy())

    slow, _ = build(variant, mux_detect="zeros")
    x, everyone = x[:16], everyone[:16]
    full = predict(model, x, everyone)
    own = TOPOLOGY if VARIANTS[variant].skips else TOPOLOGY.with_skips(())
    runnable = [c for c in COMBINATIONS if own.has_information_flow(c)]
    shared = predict_combinations(model, own, x, runnable)  # the sweep's node-by-node path
    for combination in COMBINATIONS:
        fast = predict(model, x, alive_rows(combination, len(x)))
        reference = reference_predictions(slow, model, family, TOPOLOGY.failable, x, combination)
        np.testing.assert_allclose(fast, reference, atol=1e-5, err_msg=f"{variant} {combination}")
        if combination in shared:
            np.testing.assert_allclose(shared[combination], reference, atol=1e-5)
        # Every failure changes the predictions, so the equality above is not vacuous.
        assert (np.abs(fast - full).max() > 1e-3) == (combination != (1, 1)), combination
    if variant == "deepfogguard":
        for node in ("edge", "fog"):
            failure_zeroes_the_node(family, slow, node)


def test_partition_2_failures_zero_the_nodes() -> None:
    model, family = build("deepfogguard", partition=2)
    for node in ("edge", "fog"):
        failure_zeroes_the_node(family, model, node)


def test_safe_mode_keras_file_round_trip(tmp_path: Path) -> None:
    model, _ = built("resilinet", 2)
    path = tmp_path / "resnet.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = images(8, seed=4)
    alive = np.array(COMBINATIONS * 2, "float32")
    np.testing.assert_array_equal(predict(loaded, x, alive), predict(model, x, alive))
    assert loaded.get_layer("skip_hyperconnection_iotfog").strides == (8, 8)
