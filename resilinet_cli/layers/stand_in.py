"""StandIn: a learned stand-in for a dead sender's input at its receiver (docs/variants.md §8)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from resilinet_cli.layers.input_mux import select_rows


@keras.saving.register_keras_serializable(package="resilinet")
class StandIn(keras.layers.Layer):
    """Passes a slot's received input where its sender (and link) is alive, else the generated one.

    The generator runs on the receiver's other inputs; this layer only chooses, per example.
    With ``reconstruction`` > 0 it also adds, while training, that weight times the squared
    error of the generated input against the received one over the examples in which the
    sender is alive (stopping the gradient into the sender).

    Args:
        columns: the alive columns that must all be 1 for the slot to carry its own input.
        reconstruction: weight of the reconstruction loss.

    Call arguments:
        inputs: ``[received, generated, alive]``.
    """

    def __init__(self, columns: Sequence[int], reconstruction: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not columns:
            raise ValueError("A stand-in needs the alive column of its sender or link.")
        self.columns = [int(c) for c in columns]
        self.reconstruction = float(reconstruction)

    def call(self, inputs: list[Any], training: bool | None = None) -> Any:
        received, generated, alive = inputs
        flag = ops.take(alive, self.columns[0], axis=1) > 0
        for column in self.columns[1:]:
            flag = ops.logical_and(flag, ops.take(alive, column, axis=1) > 0)
        if training and self.reconstruction > 0:
            error = ops.square(generated - ops.stop_gradient(received))
            per_row = ops.mean(ops.reshape(error, (ops.shape(error)[0], -1)), axis=1)
            kept = ops.cast(flag, per_row.dtype)
            self.add_loss(
                self.reconstruction * ops.sum(per_row * kept) / ops.maximum(ops.sum(kept), 1.0)
            )
        return select_rows(flag, received, generated)

    def compute_output_shape(self, input_shape: list[tuple]) -> tuple:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "columns": self.columns,
            "reconstruction": self.reconstruction,
        }


def generator(name: str, others: Sequence[Any], like: Any) -> Any:
    """The stand-in's generator: the other inputs (concatenated on their last axis) through a
    bottleneck of a sixteenth of the slot's width (ReLU), back to the slot's width (linear):
    well under the sender's own layers, which it stands in for.

    Vectors use Dense layers, feature maps 1x1 convolutions (per position, as a Dense).
    """
    x = others[0] if len(others) == 1 else keras.layers.Concatenate(name=f"{name}_inputs")(others)
    width = int(like.shape[-1])
    hidden = max(4, width // 16)
    if len(like.shape) == 4:
        x = keras.layers.Conv2D(hidden, 1, activation="relu", name=f"{name}_hidden")(x)
        return keras.layers.Conv2D(width, 1, name=f"{name}_out")(x)
    x = keras.layers.Dense(hidden, activation="relu", name=f"{name}_hidden")(x)
    return keras.layers.Dense(width, name=f"{name}_out")(x)
