"""Failout: random alive masks during training (docs/method.md §3, docs/architecture.md §2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

GRANULARITIES = ("batch", "example")


@keras.saving.register_keras_serializable(package="resilinet")
class Failout(keras.layers.Layer):
    """Switches whole physical nodes off at random while training.

    The layer acts on the ``alive`` tensor, not on activations: a node whose flag it clears is
    then zeroed by its `NodeGate`, and a ResiliNet `InputMux` reads the same flag. Survivors are
    not rescaled (unlike dropout). At inference the layer is the identity.

    Args:
        survival: probability that each failable node is kept, one value per node, in (0, 1].
        granularity: ``"batch"`` draws one flag per node for the whole batch (the paper);
            ``"example"`` draws one per node and example.
        seed: seed of the layer's random stream.
        events: common-cause events of a failure model (``train.failout.model``), each
            ``(node indices, probability)``: drawn like the flags (per batch or example), an
            event that happens clears every node it lists (resilinet_cli/failure_model.py).

    Call arguments:
        alive: float tensor ``[batch, nodes]`` of 0/1 flags.
        training: whether to draw failures.

    Example:
        >>> alive = keras.ops.ones((4, 3))
        >>> Failout([0.9, 0.9, 0.9], seed=1)(alive, training=True).shape
        (4, 3)
    """

    def __init__(
        self,
        survival: Sequence[float],
        granularity: str = "batch",
        seed: int | None = None,
        events: Sequence[tuple[Sequence[int], float]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.events = [([int(i) for i in nodes], float(p)) for nodes, p in events]
        survival = [float(s) for s in survival]
        if not survival or not all(0.0 < s <= 1.0 for s in survival):
            raise ValueError(f"Each survival rate must be in (0, 1]. Received: survival={survival}")
        if granularity not in GRANULARITIES:
            raise ValueError(
                f"granularity must be one of {GRANULARITIES}. Received: granularity={granularity!r}"
            )
        self.survival = survival
        self.granularity = granularity
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, alive: Any, training: bool | None = None) -> Any:
        if not training:
            return alive
        rows = 1 if self.granularity == "batch" else ops.shape(alive)[0]
        draw = self.uniform(rows, len(self.survival))
        keep = ops.cast(draw < ops.convert_to_tensor(self.survival), alive.dtype)
        if self.events:  # without events the random stream is the paper's, draw for draw
            keep = keep * self.spared(rows, alive.dtype)
        return alive * keep

    def spared(self, rows: Any, dtype: Any) -> Any:
        """[rows, nodes]: 0 where a common-cause event that happened covers the node."""
        happened = self.uniform(rows, len(self.events))
        happened = ops.cast(happened < ops.convert_to_tensor([p for _, p in self.events]), dtype)
        cover = [[1.0 if i in nodes else 0.0 for i in range(len(self.survival))]
                 for nodes, _ in self.events]  # fmt: skip
        killed = ops.matmul(happened, ops.convert_to_tensor(cover, dtype=dtype))
        return ops.cast(killed < 0.5, dtype)

    def uniform(self, rows: Any, columns: int) -> Any:
        """One uniform draw per row and column (node or event), the same as on one device.

        Under ``train.distribute: mirrored`` every replica holds a contiguous share of the batch
        and the same random stream, so a per-example draw of its own rows would repeat on every
        share. Each replica draws the whole batch's rows instead and keeps its own.
        """
        import tensorflow as tf

        shape = (rows, columns)
        context = tf.distribute.get_replica_context()
        if self.granularity == "batch" or context is None or context.num_replicas_in_sync == 1:
            return keras.random.uniform(shape, seed=self.seed_generator)
        sizes = context.all_gather(tf.reshape(rows, [1]), axis=0)
        start = tf.reduce_sum(sizes[: context.replica_id_in_sync_group])
        whole = keras.random.uniform((tf.reduce_sum(sizes), shape[1]), seed=self.seed_generator)
        return whole[start : start + rows]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "survival": self.survival,
            "granularity": self.granularity,
            "seed": self.seed,
            "events": self.events,
        }
