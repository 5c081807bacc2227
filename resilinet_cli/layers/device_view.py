"""DeviceView: the part of the input one device of a fan-in topology sees (docs/sensors.md)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="resilinet")
class DeviceView(keras.layers.Layer):
    """Feature ``columns`` of a table, or a ``box`` of an image, zero-padded to ``pad_to``.

    Padding (bottom and right for images, on the right for columns) gives every device one
    shape, so that devices may share weights and a hub may take their max or mean.

    Args:
        columns: feature column indices, in order (tabular examples [batch, features]).
        box: ``[top, left, height, width]`` of images [batch, height, width, channels].
        pad_to: ``[width]`` or ``[height, width]`` after padding; None keeps the slice's.
    """

    def __init__(
        self,
        columns: list[int] | None = None,
        box: list[int] | None = None,
        pad_to: list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (columns is None) == (box is None):
            raise ValueError("give one of columns and box")
        self.columns = None if columns is None else [int(c) for c in columns]
        self.box = None if box is None else [int(b) for b in box]
        self.pad_to = None if pad_to is None else [int(p) for p in pad_to]

    def call(self, x: Any) -> Any:
        if self.columns is not None:
            x = ops.take(x, self.columns, axis=-1)
            extra = (self.pad_to[0] - len(self.columns)) if self.pad_to else 0
            return ops.pad(x, [[0, 0], [0, extra]]) if extra > 0 else x
        top, left, height, width = self.box
        x = x[:, top : top + height, left : left + width, :]
        if self.pad_to and (self.pad_to[0] > height or self.pad_to[1] > width):
            x = ops.pad(
                x, [[0, 0], [0, self.pad_to[0] - height], [0, self.pad_to[1] - width], [0, 0]]
            )
        return x

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if self.columns is not None:
            return (input_shape[0], self.pad_to[0] if self.pad_to else len(self.columns))
        height, width = self.pad_to or self.box[2:]
        return (input_shape[0], height, width, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "columns": self.columns,
            "box": self.box,
            "pad_to": self.pad_to,
        }
