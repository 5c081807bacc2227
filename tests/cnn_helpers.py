"""Build CNN models from the repository's CNN topology preset, for the model tests."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from paths import TOPOLOGIES

from resilinet_cli.config import ExperimentConfig, read_yaml, validate_config
from resilinet_cli.models.builder import build_from_config

COMBINATIONS = [(0, 0), (0, 1), (1, 0), (1, 1)]  # [fog, edge]


def cnn_config(
    model: dict[str, Any], dataset: dict[str, Any] | None = None, **train: Any
) -> ExperimentConfig:
    raw = {
        "name": "test",
        "topology": read_yaml(TOPOLOGIES / "cnn.yaml"),
        "dataset": {"name": "fashion_mnist", **(dataset or {})},
        "model": model,
        "train": train,
    }
    return validate_config(raw, "test")


def build(config: ExperimentConfig, variant: str, shape: tuple[int, ...], **kwargs: Any) -> Any:
    model, family = build_from_config(
        config, variant, input_shape=shape, num_classes=10, seed=0, **kwargs
    )
    return model, family


def train_one_step(model: Any, x: np.ndarray) -> None:
    """One step, with BN momentum 0 so inference statistics equal the batch's.

    At initialisation, inference-mode BN (mean 0, variance 1) shrinks MobileNet's signal to
    nothing, and every combination would give the same output: the oracle would prove nothing.
    """
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
    labels = np.arange(len(x)) % 10
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    model.fit([x, np.ones((len(x), 2), "float32")], labels, batch_size=len(x), verbose=0)


def mask_predictions(model: Any, x: np.ndarray, combo: tuple) -> Any:
    alive = np.tile(np.asarray(combo, "float32"), (len(x), 1))
    return model.predict([x, alive], verbose=0, batch_size=len(x))
