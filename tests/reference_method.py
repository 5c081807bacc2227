"""The reference code's failure simulation, kept as the independent slow path of the oracles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def reference_predictions(
    slow: Any, model: Any, family: Any, failable: Sequence[str], x: np.ndarray, combo: Sequence[int]
) -> np.ndarray:
    """Zero every weight of the dead nodes' failure layers and predict with all nodes alive.

    ``slow`` is the same variant built with ``mux_detect="zeros"`` (the reference mux tests for
    an all-zero input instead of reading alive flags); it receives ``model``'s weights first.
    """
    slow.set_weights(model.get_weights())
    for node, alive in zip(failable, combo, strict=True):
        if not alive:
            for name in family.failure_layers(node):
                layer = slow.get_layer(name)
                layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    everyone = np.ones((len(x), len(failable)), "float32")
    return slow.predict([x, everyone], verbose=0, batch_size=len(x))


def reference_model(config: Any, variant: str, splits: Any) -> Any:
    """``variant`` built for ``splits`` with the reference code's zero-testing mux."""
    from resilinet_cli.models.builder import build_from_config

    slow, _ = build_from_config(
        config,
        variant,
        input_shape=splits.x_test.shape[1:],
        num_classes=splits.num_classes,
        seed=0,
        mux_detect="zeros",
    )
    return slow


def with_dead_links(slow: Any, dead: Sequence[tuple[str, str]]) -> Any:
    """A copy of ``slow`` whose dead links deliver zeros: their weight layer (or, for a node
    with one input, the receiver's stack input) scaled by 0. The weights are not copied."""
    import keras

    if not dead:
        return slow
    names = {layer.name for layer in slow.layers}
    zeroed = set()
    for src, dst in dead:
        weight = f"{src}_{dst}_weight"
        zeroed.add(weight if weight in names else f"{dst}_stack_in")

    def clone(layer: Any) -> Any:
        if layer.name in zeroed:
            return keras.layers.Rescaling(0.0, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    return keras.models.clone_model(slow, clone_function=clone)
