"""Aggregate: how a fan-in topology's hub combines its devices' outputs (docs/sensors.md)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from resilinet_cli.topology import AGGREGATES


@keras.saving.register_keras_serializable(package="resilinet")
class Aggregate(keras.layers.Layer):
    """DDNN's aggregators: ``concat`` (a dead device's zeros stay in their place), and ``max``
    and ``mean`` over the live devices only (a dead one is left out, not counted as zeros).

    Args:
        kind: ``concat``, ``max`` or ``mean``.
        columns: per device, the alive columns that must all be 1 for its output to arrive
            (the device's own, and its link's if that can fail). A device listed with no column
            never fails.

    Call arguments:
        inputs: ``[x_1, ..., x_k, alive]``. With no live device, max and mean give zeros.
    """

    def __init__(self, kind: str, columns: list[list[int]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if kind not in AGGREGATES:
            raise ValueError(f"kind must be one of {AGGREGATES}. Received: kind={kind!r}")
        self.kind = kind
        self.columns = [[int(c) for c in device] for device in columns]

    def arrived(self, alive: Any, like: Any, device: int) -> Any:
        """1 where device ``device``'s output arrives, shaped [batch, 1, ..., 1]."""
        flag = ops.ones_like(alive[:, :1])
        for column in self.columns[device]:
            flag = flag * alive[:, column : column + 1]
        flag = ops.cast(flag, like.dtype)
        return ops.reshape(flag, (-1,) + (1,) * (len(like.shape) - 1))

    def call(self, inputs: list[Any]) -> Any:
        *xs, alive = inputs
        if self.kind == "concat":
            return ops.concatenate(xs, axis=-1)
        flags = [self.arrived(alive, x, i) for i, x in enumerate(xs)]
        count = sum(flags[1:], flags[0])
        if self.kind == "mean":
            total = sum((x * f for x, f in zip(xs[1:], flags[1:], strict=True)), xs[0] * flags[0])
            return total / ops.maximum(count, 1.0)
        lowest = ops.cast(-3.0e38 if xs[0].dtype == "float32" else -6.0e4, xs[0].dtype)
        masked = [ops.where(f > 0, x, lowest) for x, f in zip(xs, flags, strict=True)]
        best = masked[0]
        for x in masked[1:]:
            best = ops.maximum(best, x)
        return ops.where(count > 0, best, ops.zeros_like(best))

    def compute_output_shape(self, input_shape: list[tuple]) -> tuple:
        shapes = input_shape[:-1]
        if self.kind != "concat":
            return shapes[0]
        width = sum(shape[-1] for shape in shapes)
        return (*shapes[0][:-1], width)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kind": self.kind, "columns": self.columns}
