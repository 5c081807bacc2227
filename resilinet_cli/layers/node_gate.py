"""NodeGate: a physical node's output times its alive flag (docs/architecture.md §2)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def branch_on_whole_batch() -> bool:
    """Whether a gate branches around its multiplication when its flag is the same for the batch.

    In training every node is usually alive, or per-batch failout's flags hold for the whole
    batch, so the branch skips a pass over the feature map and another over its gradient. On CPU
    a branch costs nothing. On a GPU its condition must be copied to the host, which stalls the
    device every time; there the branch-free multiplication is cheaper.

    The input mux does not branch: a branch that passes the chain input alone would leave the
    skip hyperconnection without any gradient (None, not zero), so it would never be trained.
    """
    import tensorflow as tf

    return not tf.config.list_logical_devices("GPU")


def alive_column(alive: Any, index: int, like: Any) -> Any:
    """Flag ``index`` of ``alive`` shaped to broadcast against ``like`` ([batch, 1, ..., 1])."""
    flag = ops.cast(ops.take(alive, index, axis=1), like.dtype)
    return ops.reshape(flag, (-1,) + (1,) * (len(like.shape) - 1))


@keras.saving.register_keras_serializable(package="resilinet")
class NodeGate(keras.layers.Layer):
    """Makes a dead node output exactly zero.

    Applied after the node's last activation, so a dead node sends zeros, exactly as when the
    reference code zeroes its last layer's weights (docs/method.md §6.2).

    Args:
        index: column of this node in the ``alive`` tensor.

    Call arguments:
        inputs: ``[x, alive]``, the node's output and the ``[batch, nodes]`` alive flags.

    Example:
        >>> gate = NodeGate(index=2)
        >>> gate([keras.ops.ones((2, 4)), keras.ops.array([[1., 1., 0.], [1., 1., 1.]])])
        ... # row 0 all zeros, row 1 all ones
    """

    def __init__(self, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if index < 0:
            raise ValueError(f"index must be >= 0. Received: index={index}")
        self.index = int(index)

    def call(self, inputs: list[Any]) -> Any:
        x, alive = inputs
        flag = alive_column(alive, self.index, x)
        if not branch_on_whole_batch():
            return x * flag
        return ops.cond(ops.all(flag > 0), lambda: x, lambda: x * flag)

    def compute_output_shape(self, input_shape: list[tuple]) -> tuple:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="resilinet")
class LinkGate(NodeGate):
    """Makes a dead failable link deliver zeros to its receiver (docs/method.md §6.5).

    The same multiplication as a node's gate, on the link's column of the alive flags, after
    the link's projection and weight; ``link`` names it (``"edge->fog2"``) so that the alive
    columns of a saved model can be read back from its layers.
    """

    def __init__(self, index: int, link: str, **kwargs: Any) -> None:
        super().__init__(index, **kwargs)
        self.link = str(link)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "link": self.link}
