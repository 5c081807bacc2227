"""``train.distribute``: train one unit on every local device with ``tf.distribute``.

``mirrored`` builds and trains the model under ``tf.distribute.MirroredStrategy``: one copy of
the model per local GPU (on a machine without GPUs, per logical CPU device; normally one). Each
batch of ``train.batch_size`` is cut into one contiguous share per copy; Keras averages the
copies' mean losses, sums their gradients across devices and applies one Adam step to every
copy. Keras 3 does this itself, provided the model is built and compiled inside
`distribution_scope` (``model.fit`` then distributes the dataset).

What differs from one device: gradients are summed in another order (float rounding); a batch
that does not split evenly (the last of an epoch, say) weights its examples by their share's
size; batch norm normalises each share with its own statistics, as each GPU of the reference's
multi-GPU run did. Every random layer draws the same stream on every copy: per-batch failout
kills the same nodes everywhere, as on one device; per-example failout draws the whole batch's
flags on each copy and keeps its share's (``layers/failout.py``), also as on one device; but
dropout's per-example draw repeats on every share. So two runs are byte-identical only on the
same number of devices. Keras cannot accumulate gradients under a strategy (``train_model``
refuses).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import keras
import tensorflow as tf

DISTRIBUTIONS = ("none", "mirrored")


def distribution_scope(how: str) -> AbstractContextManager[object]:
    """The scope to build, compile and fit a unit's model in, for ``train.distribute: how``.

    ``"none"`` gives a scope that does nothing, so that the default path runs exactly the code
    it ran before distribution existed.
    """
    if how == "none":
        return nullcontext()
    if how == "mirrored":
        return mirrored_strategy().scope()
    raise ValueError(f"train.distribute must be one of {DISTRIBUTIONS}. Received: {how!r}")


@functools.cache
def mirrored_strategy() -> tf.distribute.MirroredStrategy:
    """One `MirroredStrategy` per process, over all local GPUs, else all logical CPU devices.

    Created once: a strategy sets up its devices (and, on GPUs, NCCL communicators) when made,
    and the variables of a model belong to the strategy that created them. TensorFlow's own
    default without GPUs is the first CPU device alone, which would ignore CPU devices a user
    split the processor into; listing them keeps ``mirrored`` meaning "every local device".
    """
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])


def replicas_in_sync() -> int:
    """How many model copies train in lock-step in the current scope (1 outside any strategy)."""
    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def distributed(model: keras.Model) -> bool:
    """Whether ``model`` was built under a strategy; Keras then trains it with that strategy.

    Keras keeps that strategy in ``_distribute_strategy`` (None without one), and decides by it
    alone whether ``fit`` distributes and draws the batch that `single_pass` avoids.
    """
    return getattr(model, "_distribute_strategy", None) is not None


@contextmanager
def single_pass(model: keras.Model, data: tf.data.Dataset) -> Iterator[None]:
    """While open, a distributed ``model.fit(data)`` reads ``data`` once, as an undistributed one.

    Under a strategy, Keras' ``fit`` (and the ``evaluate`` of its validation) first draws one
    batch from a fresh iterator of the data, only to build the compiled loss and metrics, and
    then iterates the data afresh. A second pass over a tf.data pipeline does not replay the
    first: a seeded shuffle reshuffles (``reshuffle_each_iteration``), so training would see
    another order than without a strategy (the quickstart's ResiliNet: a first-epoch loss
    0.007 off); and random augmentation, whose state lives in variables, would
    go on from wherever the discarded pass and its prefetching left it. So the compiled loss and
    metrics are built here from the data's element spec, and Keras' draw is skipped. A model
    without a strategy is left alone: Keras draws nothing for it.
    """
    if not distributed(model):
        yield
        return
    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=data.element_spec)

    def built(*args: Any, **kwargs: Any) -> None:
        """Everything is built: nothing to draw a batch for."""

    model._maybe_symbolic_build = built  # Keras' method (backend/tensorflow/trainer.py)
    try:
        yield
    finally:
        del model._maybe_symbolic_build
