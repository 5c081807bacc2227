"""Models generated from the registry: spec layer names, shapes, gradients, serialisation."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from paths import CONFIGS

from resilinet_cli.config import load_config
from resilinet_cli.models.builder import build_from_config
from resilinet_cli.variants import VARIANTS

# docs/method.md §2.2: Keras layer names per node, partition settings 1 and 2.
SPEC_LAYERS = {
    1: [
        "edge_output_layer",
        "fog2_input_layer",
        "fog2_output_layer",
        "fog1_input_layer",
        "fog1_layer_1",
        "fog1_output_layer",
        "cloud_input_layer",
        "cloud_layer_1",
        "cloud_layer_2",
        "cloud_layer_3",
        "output",
    ],
    2: [
        "edge_input_layer",
        "edge_output_layer",
        "fog2_input_layer",
        "fog2_layer_1",
        "fog2_output_layer",
        "fog1_input_layer",
        "fog1_output_layer",
        "cloud_input_layer",
        "cloud_layer_1",
        "cloud_layer_2",
        "output",
    ],
}


def health_model(variant: str, partition: int = 1, **overrides: str) -> keras.Model:
    sets = [f"model.partition={partition}", *(f"{k}={v}" for k, v in overrides.items())]
    config = load_config(CONFIGS / "health.yaml", sets)
    model, _ = build_from_config(config, variant, input_shape=(23,), num_classes=13, seed=0)
    return model


@pytest.mark.parametrize("partition", [1, 2])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_layers_widths_and_names_follow_the_spec(variant: str, partition: int) -> None:
    model = health_model(variant, partition)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    spec = SPEC_LAYERS[partition]
    skips = ["skip_iotfog2"] if VARIANTS[variant].skips else []
    assert sorted(layer.name for layer in dense) == sorted(spec + skips)
    for layer in dense:
        expected = 13 if layer.name == "output" else 250
        assert layer.units == expected
    if skips:
        assert model.get_layer("skip_iotfog2").activation.__name__ == "linear"
    assert model.output_shape == (None, 13)
    gates = sorted(layer.name for layer in model.layers if layer.name.endswith("_gate"))
    assert gates == ["edge_gate", "fog1_gate", "fog2_gate"]


def test_vanilla_parameter_count() -> None:
    # 23->250, then 9 more 250->250 layers, then 250->13.
    expected = (23 * 250 + 250) + 9 * (250 * 250 + 250) + (250 * 13 + 13)
    assert health_model("vanilla").count_params() == expected
    # The skip variants add the linear IoT->fog2 projection.
    assert health_model("resilinet").count_params() == expected + 23 * 250 + 250


def test_merges_and_failout_per_variant() -> None:
    kinds = {
        variant: {type(layer).__name__ for layer in health_model(variant).layers}
        for variant in VARIANTS
    }
    assert "Failout" not in kinds["vanilla"] | kinds["deepfogguard"]
    assert {"Failout", "InputMux"} <= kinds["resilinet"] and "Add" not in kinds["resilinet"]
    assert {"Failout", "Add"} <= kinds["resilinet_plus"]
    assert "Add" in kinds["deepfogguard"] and "InputMux" not in kinds["deepfogguard"]


def test_weight_scheme_3_multiplies_links_by_sender_reliability() -> None:
    model = health_model(
        "deepfogguard",
        **{
            "train.hyperconnection_weights.scheme": "3",
            "train.hyperconnection_weights.setting": "hazardous",
        },
    )
    assert model.get_layer("edge_fog1_weight").scale == pytest.approx(0.78)
    assert model.get_layer("fog2_cloud_weight").scale == pytest.approx(0.80)
    assert model.get_layer("iot_fog2_weight").scale == 1.0


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_trainable_weight_gets_a_gradient(variant: str) -> None:
    model = health_model(variant)
    rng = np.random.default_rng(0)
    x = rng.random((32, 23)).astype("float32")
    alive = np.array([[(i >> b) & 1 for b in (2, 1, 0)] for i in range(8)] * 4, "float32")
    y = rng.integers(1, 13, 32)
    with tf.GradientTape() as tape:
        out = model([x, alive], training=False)
        loss = keras.losses.sparse_categorical_crossentropy(y, out)
    grads = tape.gradient(loss, model.trainable_weights)
    assert not np.isnan(keras.ops.convert_to_numpy(out)).any()
    for weight, grad in zip(model.trainable_weights, grads, strict=True):
        assert grad is not None and np.abs(keras.ops.convert_to_numpy(grad)).sum() > 0, weight.path


def test_model_round_trips_through_a_safe_mode_keras_file(tmp_path: Path) -> None:
    model = health_model("resilinet", 2)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = np.random.default_rng(1).random((8, 23)).astype("float32")
    alive = np.array([[1, 0, 1]] * 8, "float32")
    np.testing.assert_array_equal(
        loaded.predict([x, alive], verbose=0), model.predict([x, alive], verbose=0)
    )
    assert loaded.get_layer("failout").survival == [0.9, 0.9, 0.9]
