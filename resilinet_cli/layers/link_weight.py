"""LinkWeight: a hyperconnection's weight learned with the network (scheme 5, docs/method.md §5).

Schemes 1-4 fix each link's weight when the model is built (a ``Rescaling`` layer). Scheme 5
makes it one trainable scalar per link, starting at 1 and kept >= 0 by a constraint, so that a
skip the data does not need can fade out and one it needs can grow.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="resilinet")
class LinkWeight(keras.layers.Layer):
    """``x`` times a trainable, non-negative scalar ``scale`` (initially ``initial``)."""

    def __init__(self, initial: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.initial = float(initial)

    def build(self, input_shape: Any) -> None:
        self.scale = self.add_weight(
            name="scale",
            shape=(),
            initializer=keras.initializers.Constant(self.initial),
            constraint=keras.constraints.NonNeg(),
            trainable=True,
        )

    def call(self, x: Any) -> Any:
        return x * ops.cast(self.scale, x.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "initial": self.initial}
