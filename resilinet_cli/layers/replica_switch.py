"""ReplicaSwitch: a replicated node serves by its first alive replica (docs/variants.md §7)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from resilinet_cli.layers.input_mux import select_rows


@keras.saving.register_keras_serializable(package="resilinet")
class ReplicaSwitch(keras.layers.Layer):
    """Serves a node by the first of its replicas, in order, whose alive flag is set.

    Replaces the node's `NodeGate`: with every replica dead it outputs zeros, as a dead node
    does. While training, each example is first offered to one replica drawn uniformly (the one
    that serves it if alive), so the primary and every standby learn their role jointly and the
    nodes downstream learn to read each of them.

    Args:
        columns: the alive column of each replica, primary first.
        seed: seed of the training draw.

    Call arguments:
        inputs: ``[x_1, ..., x_k, alive]``: each replica's output (same shape), then the flags.
        training: whether to draw the replica offered each example.
    """

    def __init__(self, columns: Sequence[int], seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if len(columns) < 2:
            raise ValueError(f"A switch needs at least 2 replicas. Received: columns={columns}")
        self.columns = [int(c) for c in columns]
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: list[Any], training: bool | None = None) -> Any:
        *xs, alive = inputs
        flags = [ops.take(alive, column, axis=1) > 0 for column in self.columns]
        out = ops.zeros_like(xs[0])
        for x, flag in reversed(list(zip(xs, flags, strict=True))):
            out = select_rows(flag, x, out)
        if training:
            draw = keras.random.uniform((ops.shape(alive)[0],), seed=self.seed_generator)
            offered = ops.cast(ops.floor(draw * len(xs)), "int32")
            for i, (x, flag) in enumerate(zip(xs, flags, strict=True)):
                out = select_rows(ops.logical_and(flag, ops.equal(offered, i)), x, out)
        return out

    def compute_output_shape(self, input_shape: list[tuple]) -> tuple:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "columns": self.columns, "seed": self.seed}


@keras.saving.register_keras_serializable(package="resilinet")
class PadChannels(keras.layers.Layer):
    """Zero-pads the last axis to ``width``: a narrower standby's output, at its primary's width.

    The receiving node's layers are shared by every replica; the channels a narrower standby
    does not compute reach them as zeros.
    """

    def __init__(self, width: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.width = int(width)

    def call(self, x: Any) -> Any:
        extra = self.width - x.shape[-1]
        return ops.pad(x, [(0, 0)] * (len(x.shape) - 1) + [(0, extra)])

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.width)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "width": self.width}


@keras.saving.register_keras_serializable(package="resilinet")
class RoleFlags(keras.layers.Layer):
    """The alive flags as the receivers see them: a replicated node's own column becomes 1 when
    any of its replicas is alive (its role is up), so a mux or a stand-in reads it as one node.

    Args:
        roles: per replicated node, its replicas' columns, primary (the node's column) first.
    """

    def __init__(self, roles: Sequence[Sequence[int]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.roles = [[int(c) for c in columns] for columns in roles]

    def call(self, alive: Any) -> Any:
        for columns in self.roles:
            up = ops.max(ops.take(alive, columns, axis=1), axis=1, keepdims=True)
            index = ops.arange(ops.shape(alive)[1]) == columns[0]
            alive = ops.where(index[None, :], up, alive)
        return alive

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "roles": self.roles}
