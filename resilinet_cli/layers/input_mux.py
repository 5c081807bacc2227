"""InputMux: the ResiliNet merge that uses a skip input only when the chain sender is dead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

DETECTIONS = ("alive", "zeros")


def select_rows(pick: Any, x: Any, y: Any) -> Any:
    """Example ``i`` of ``x`` where ``pick[i]`` is true, else example ``i`` of ``y``.

    ``pick`` is a ``[batch]`` bool vector. This select is the mux's cost in training, forward
    and backward (its gradient is two more selects, one per input); on the Health MLP it is
    most of ResiliNet's gap to ResiliNet+ in docs/benchmarks.md. With TensorFlow it is the
    ``Select`` op with a ``[batch]`` condition, whose CPU kernel copies each example's row from
    one input or the other; ``tf.where`` (what ``keras.ops.where`` calls) with a
    ``[batch, 1, ...]`` condition broadcasts the condition and selects element by element, in
    about twice the time. It is the same select, so the output and both gradients are
    unchanged bit for bit: the picked input's values, the upstream gradient for the picked input
    and exact zeros for the other. A blend such as ``x * flag + y * (1 - flag)`` would cost more
    (three passes forward, two backward) and could flip the sign of a zero.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.raw_ops.Select(condition=pick, x=x, y=y)
    return ops.where(ops.reshape(pick, (-1,) + (1,) * (len(x.shape) - 1)), x, y)


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
            fails (such as the IoT node), or a list of columns that must all be 1: the
            sender's and its failable link's (``topology.failable_links``).
        detect: ``"alive"`` or ``"zeros"``.

    Call arguments:
        inputs: ``[x_0, ..., x_k, alive]``: same-shaped tensors, then the alive flags.

    Example:
        >>> mux = InputMux(senders=[2, None])
        >>> chain, skip = keras.ops.ones((1, 3)), keras.ops.full((1, 3), 5.0)
        >>> mux([chain, skip, keras.ops.array([[1., 1., 0.]])])  # edge (2) dead: the skip
    """

    def __init__(
        self, senders: Sequence[int | Sequence[int] | None], detect: str = "alive", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if len(senders) < 2:
            raise ValueError(f"A mux needs at least 2 inputs. Received: senders={senders}")
        if detect not in DETECTIONS:
            raise ValueError(f"detect must be one of {DETECTIONS}. Received: detect={detect!r}")
        self.senders = [
            None if s is None else int(s) if isinstance(s, int) else [int(c) for c in s]
            for s in senders
        ]
        self.detect = detect

    def call(self, inputs: list[Any]) -> Any:
        *xs, alive = inputs
        out = ops.zeros_like(xs[-1])
        for x, sender in reversed(list(zip(xs, self.senders, strict=True))):
            if sender is None:
                out = x
            elif self.detect == "alive":
                # Alive: flag > 0 in x's dtype, as the sender's NodeGate reads it.
                columns = [sender] if isinstance(sender, int) else sender
                flag = ops.cast(ops.take(alive, columns[0], axis=1), x.dtype)
                for column in columns[1:]:
                    flag = flag * ops.cast(ops.take(alive, column, axis=1), x.dtype)
                out = select_rows(flag > 0, x, out)
            else:
                out = ops.where(ops.any(ops.not_equal(x, 0)), x, out)
        return out

    def compute_output_shape(self, input_shape: list[tuple]) -> tuple:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "senders": self.senders, "detect": self.detect}
