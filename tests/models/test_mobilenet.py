"""MobileNet-v1 (docs/method.md §2.3, §2.5): node shapes, parameters, the weight-zeroing oracle."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from cnn_helpers import (
    COMBINATIONS,
    build,
    cnn_config,
    mask_predictions,
    train_one_step,
)
from reference_method import reference_predictions

from resilinet_cli.experiments.kinds import factor_levels
from resilinet_cli.sweeps.sweep import predict_combinations
from resilinet_cli.topology import Topology
from resilinet_cli.variants import variant_topology

CIFAR = (32, 32, 3)
IMAGENET = (160, 160, 3)


def shapes(model: keras.Model, names: list[str]) -> dict[str, tuple]:
    present = {layer.name for layer in model.layers}
    return {n: tuple(model.get_layer(n).output.shape[1:]) for n in names if n in present}


BOUNDARIES = ["iot", "edge_gate", "fog_gate", "skip_hyperconnection_iotfog",
              "skip_hyperconnection_edgecloud", "conv_pw_13_relu"]  # fmt: skip


def iot_output(model: keras.Model, partition: int) -> tuple:
    return tuple(
        model.get_layer("conv1_relu" if partition == 1 else "conv_pw_1_relu").output.shape[1:]
    )


@pytest.mark.parametrize("partition", [1, 2])
def test_cifar_shapes_at_every_node_boundary(partition: int) -> None:
    config = cnn_config({"name": "mobilenet", "partition": partition})
    vanilla, family = build(config, "vanilla", CIFAR)
    skip, _ = build(config, "resilinet", CIFAR)
    iot = (31, 31, 24) if partition == 1 else (31, 31, 48)
    assert iot_output(vanilla, partition) == iot == iot_output(skip, partition)
    assert shapes(vanilla, BOUNDARIES) == {
        "edge_gate": (31, 31, 96),
        "fog_gate": (7, 7, 384),
        "conv_pw_13_relu": (3, 3, 768),
    }
    assert shapes(skip, BOUNDARIES) == {
        "edge_gate": (31, 31, 96),
        "fog_gate": (8, 8, 384),  # 7x7 padded to the edge->cloud projection's 8x8
        "skip_hyperconnection_iotfog": (31, 31, 96),
        "skip_hyperconnection_edgecloud": (8, 8, 384),
        "conv_pw_13_relu": (4, 4, 768),
    }
    assert skip.get_layer("skip_hyperconnection_edgecloud").strides == (4, 4)
    assert skip.get_layer("skip_hyperconnection_iotfog").strides == (1, 1)
    last_fog_block = 8 if partition == 1 else 7
    assert family.failure_layers("fog") == [f"conv_pw_{last_fog_block}_bn"]
    assert family.failure_layers("edge") == ["conv_pw_3_bn"]


def test_imagenet_shapes() -> None:
    config = cnn_config({"name": "mobilenet", "strides": "standard"})
    model, _ = build(config, "resilinet", IMAGENET)
    assert iot_output(model, 1) == (80, 80, 24)
    assert shapes(model, BOUNDARIES) == {
        "edge_gate": (40, 40, 96),
        "fog_gate": (10, 10, 384),  # no padding on ImageNet
        "skip_hyperconnection_iotfog": (40, 40, 96),
        "skip_hyperconnection_edgecloud": (10, 10, 384),
        "conv_pw_13_relu": (5, 5, 768),
    }
    assert model.get_layer("skip_hyperconnection_iotfog").strides == (2, 2)
    model_1000, _ = build_from_classes(config, 1000)
    assert model_1000.output_shape == (None, 1000)


def build_from_classes(config, classes):
    from resilinet_cli.models.builder import build_from_config

    return build_from_config(config, "vanilla", input_shape=IMAGENET, num_classes=classes, seed=0)


def trainable(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_vanilla_has_the_parameters_of_keras_applications_mobilenet() -> None:
    reference = keras.applications.MobileNet(
        alpha=0.75, weights=None, include_top=True, classes=10, input_shape=CIFAR
    )
    config = cnn_config({"name": "mobilenet"})
    vanilla, _ = build(config, "vanilla", CIFAR)
    assert trainable(vanilla) == trainable(reference) == 1_824_250
    # The skip variants add two bias-free 1x1 projections: 24*96 and 96*384 weights.
    skip, _ = build(config, "deepfogguard", CIFAR)
    assert trainable(skip) == trainable(reference) + 24 * 96 + 96 * 384
    names = {layer.name for layer in vanilla.layers}
    assert {f"conv_dw_{i}" for i in range(1, 14)} | {"conv1", "conv_preds"} <= names


@pytest.mark.parametrize("variant", ["vanilla", "deepfogguard", "resilinet", "resilinet_plus"])
def test_mask_sweep_equals_weight_zeroing(variant: str) -> None:
    config = cnn_config({"name": "mobilenet", "strides": "standard"})
    model, family = build(config, variant, CIFAR)
    rng = np.random.default_rng(0)
    x = rng.random((16, *CIFAR)).astype("float32")
    train_one_step(model, x)
    slow, _ = build(config, variant, CIFAR, mux_detect="zeros")
    topology = variant_topology(Topology.from_config(config.topology), variant)
    runnable = [c for c in COMBINATIONS if topology.has_information_flow(c)]
    shared = predict_combinations(model, topology, x, runnable)  # the sweep's node-by-node path
    outputs = []
    for combo in COMBINATIONS:
        fast = mask_predictions(model, x, combo)
        reference = reference_predictions(slow, model, family, ("fog", "edge"), x, combo)
        np.testing.assert_allclose(fast, reference, atol=1e-5, err_msg=str(combo))
        if combo in shared:
            np.testing.assert_allclose(shared[combo], reference, atol=1e-5, err_msg=str(combo))
        outputs.append(fast)
    assert np.abs(outputs[0] - outputs[-1]).max() > 1e-4  # failures change the predictions


def test_round_trip_through_a_safe_mode_keras_file(tmp_path: Path) -> None:
    config = cnn_config({"name": "mobilenet", "strides": "standard"})
    model, _ = build(config, "resilinet", CIFAR)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = np.random.default_rng(1).random((4, *CIFAR)).astype("float32")
    alive = np.array([[1, 0]] * 4, "float32")
    np.testing.assert_allclose(
        loaded.predict([x, alive], verbose=0), model.predict([x, alive], verbose=0), atol=1e-6
    )


def test_bn_momentum_is_an_option_for_short_runs() -> None:
    default, _ = build(cnn_config({"name": "mobilenet"}), "vanilla", CIFAR)
    short, _ = build(cnn_config({"name": "mobilenet", "bn_momentum": 0.9}), "vanilla", CIFAR)
    norms = [layer for layer in short.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 27 and {layer.momentum for layer in norms} == {0.9}
    assert default.get_layer("conv_pw_13_bn").momentum == 0.99


@pytest.mark.parametrize("variant", ["deepfogguard", "resilinet", "resilinet_plus", "vanilla"])
def test_the_cloud_input_has_one_shape_in_every_skip_subset(variant: str) -> None:
    """The skip-sensitivity ablation must compare skips, not two architectures.

    The reference code removes a skip by weighting it 0 and pads the fog's 7x7 output to 8x8
    whenever it uses the CIFAR strides, so its cloud always runs 8x8 -> 4x4. Its Vanilla has no
    padding (7x7 -> 3x3), and neither has ours.
    """
    config = cnn_config({"name": "mobilenet"}).with_overrides(["experiment.type=skip_sensitivity"])
    subsets = [config.with_overrides(level.overrides) for level in factor_levels(config, variant)]
    kept_skips = {tuple(subset.topology.skips) for subset in subsets}
    assert kept_skips == {
        (),
        (("iot", "fog"),),
        (("edge", "cloud"),),
        (("iot", "fog"), ("edge", "cloud")),
    }
    padded = variant != "vanilla"
    for subset in subsets:
        model, _ = build(subset, variant, CIFAR)
        skips = {layer.name for layer in model.layers if layer.name.startswith("skip_")}
        kept = {f"skip_hyperconnection_{src}{dst}" for src, dst in subset.topology.skips}
        assert skips == (kept if padded else set()), subset.topology.skips
        assert shapes(model, ["cloud_stack_in", "conv_pw_13_relu"]) == {
            "cloud_stack_in": (8, 8, 384) if padded else (7, 7, 384),
            "conv_pw_13_relu": (4, 4, 768) if padded else (3, 3, 768),
        }, subset.topology.skips
        keras.backend.clear_session()
