"""Shared layer-test helper: config round trip, symbolic and eager calls, .keras save/load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np


def check_layer(layer: keras.layers.Layer, inputs: list[np.ndarray], tmp_path: Path) -> None:
    """Assert the layer round-trips its config and survives a safe-mode save/load in a model."""
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()

    symbolic = [keras.Input(x.shape[1:]) for x in inputs]
    out = layer(symbolic if len(symbolic) > 1 else symbolic[0])
    model = keras.Model(symbolic, out)
    eager = model.predict(inputs, verbose=0)
    assert eager.shape[1:] == tuple(out.shape[1:])
    assert tuple(layer.compute_output_shape(_shapes(symbolic)))[1:] == tuple(out.shape[1:])

    path = tmp_path / f"{layer.name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0), eager)


def _shapes(symbolic: list[Any]) -> Any:
    shapes = [tuple(s.shape) for s in symbolic]
    return shapes if len(shapes) > 1 else shapes[0]
