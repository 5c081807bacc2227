"""InputMux: the ResiliNet merge that uses a skip input only when the chain sender is dead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from resilinet_cli.layers.node_gate import alive_column

DETECTIONS = ("alive", "zeros")


@keras.saving.register_keras_serializable(package="resilinet")
class InputMux(keras.layers.Layer):
    """Passes through the first input, in priority order, whose sender is alive.

    Inputs come in the order of `Topology.incoming`: the chain link first, then skip links from
    the nearest sender. With ``detect="alive"`` (the default) the mux reads the senders' alive
    flags; with ``detect="zeros"`` it instead tests whether a whole input tensor is zero across
    the batch, as the reference code's InputMux does (docs/method.md §4). The second mode exists
    only so that tests can check the mask design against the reference weight-zeroing method.

    Args:
        senders: alive-flag column of each input's sender, or ``None`` for a sender that never
            fails (such as the IoT node).
        detect: ``"alive"`` or ``"zeros"``.

    Call arguments:
        inputs: ``[x_0, ..., x_k, alive]``: same-shaped tensors, then the alive flags.

    Example:
        >>> mux = InputMux(senders=[2, None])
        >>> chain, skip = keras.ops.ones((1, 3)), keras.ops.full((1, 3), 5.0)
        >>> mux([chain, skip, keras.ops.array([[1., 1., 0.]])])  # edge (2) dead: the skip
    """

    def __init__(self, senders: Sequence[int | None], detect: str = "alive", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if len(senders) < 2:
            raise ValueError(f"A mux needs at least 2 inputs. Received: senders={senders}")
        if detect not in DETECTIONS:
            raise ValueError(f"detect must be one of {DETECTIONS}. Received: detect={detect!r}")
        self.senders = [None if s is None else int(s) for s in senders]
        self.detect = detect

    def call(self, inputs: list[Any]) -> Any:
        *xs, alive = inputs
        out = ops.zeros_like(xs[-1])
        for x, sender in reversed(list(zip(xs, self.senders, strict=True))):
            if sender is None:
                out = x
            elif self.detect == "alive":
                out = ops.where(alive_column(alive, sender, x) > 0, x, out)
            else:
                out = ops.where(ops.any(ops.not_equal(x, 0)), x, out)
        return out

    def compute_output_shape(self, input_shape: list[tuple]) -> tuple:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "senders": self.senders, "detect": self.detect}
