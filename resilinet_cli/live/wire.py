"""Tensors on the wire: raw C-order bytes with their dtype and shape, never pickled.

Every tensor a node receives is checked against what it expects before it is used: the dtype,
the shape after the batch dimension, the batch size and the byte count. A bad tensor is a
``WireError``, which the server answers with INVALID_ARGUMENT and then keeps serving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from resilinet_cli.live import live_pb2


class WireError(ValueError):
    """A tensor that does not match what the receiver expects."""


@dataclass(frozen=True)
class TensorSpec:
    """What a receiver accepts: one example's shape and dtype, and at most ``max_rows`` rows."""

    shape: tuple[int, ...]
    dtype: str
    max_rows: int

    @property
    def max_bytes(self) -> int:
        return self.max_rows * math.prod(self.shape) * np.dtype(self.dtype).itemsize


def to_message(array: np.ndarray) -> live_pb2.Tensor:
    array = np.ascontiguousarray(array)
    return live_pb2.Tensor(dtype=array.dtype.name, shape=array.shape, data=array.tobytes())


def from_message(message: live_pb2.Tensor, spec: TensorSpec, rows: int | None = None) -> np.ndarray:
    """The array of ``message``, or WireError if it is not what ``spec`` (and ``rows``) say.

    The dtype is compared as a string before numpy reads it, so no declared name is ever
    interpreted; the array is a read-only view of the message's bytes.
    """
    if len(message.data) > spec.max_bytes:
        raise WireError(f"oversized tensor: {len(message.data)} bytes > {spec.max_bytes}")
    if message.dtype != spec.dtype:
        raise WireError(f"dtype {message.dtype!r}, expected {spec.dtype!r}")
    shape = tuple(message.shape)
    if len(shape) != len(spec.shape) + 1 or shape[1:] != spec.shape:
        raise WireError(f"shape {list(shape)}, expected [rows, {', '.join(map(str, spec.shape))}]")
    if not 1 <= shape[0] <= spec.max_rows:
        raise WireError(f"{shape[0]} rows, expected 1 to {spec.max_rows}")
    if rows is not None and shape[0] != rows:
        raise WireError(f"{shape[0]} rows, expected {rows}")
    expected = math.prod(shape) * np.dtype(spec.dtype).itemsize
    if len(message.data) != expected:
        raise WireError(f"{len(message.data)} bytes for shape {list(shape)}, expected {expected}")
    return np.frombuffer(message.data, dtype=spec.dtype).reshape(shape)
