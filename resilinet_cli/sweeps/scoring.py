"""A trained model as the two scorers the estimators need (TensorFlow lives here, not there).

- ``CombinationAccuracy``: the exact test accuracy of any batch of combinations, by the shared
  failure sweep (one plan per batch, so memory stays bounded however many combinations are
  asked for in all), cached, and timed so that ``evaluate`` can predict what a method costs.
- ``ExampleScorer``: hits of single examples under per-row alive masks, many rows per call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from resilinet_cli.sweeps.node_graph import cut_nodes
from resilinet_cli.sweeps.plan import plan_sweep
from resilinet_cli.sweeps.sweep import SharedSweep, correct_counts
from resilinet_cli.topology import Combination, Topology


class CombinationAccuracy:
    """Accuracy of a model on the unbatched test set ``data`` under given combinations."""

    def __init__(
        self, model: Any, topology: Topology, data: Any, size: int, *, batch_size: int
    ) -> None:
        self.model = model
        self.topology = topology
        self.data = data
        self.size = size
        self.batch_size = batch_size
        self.graph = cut_nodes(model, topology)
        self.cache: dict[Combination, float] = {}
        self.seconds = 0.0  # spent evaluating, and on how many combinations
        self.evaluated = 0

    def __call__(self, combinations: Sequence[Combination]) -> dict[Combination, float]:
        """Accuracy of each combination (each must have information flow)."""
        todo = [c for c in dict.fromkeys(combinations) if c not in self.cache]
        if todo:
            start = time.perf_counter()
            for combo, correct in self._correct(todo).items():
                self.cache[combo] = correct / self.size
            self.seconds += time.perf_counter() - start
            self.evaluated += len(todo)
        return {c: self.cache[c] for c in combinations}

    def _correct(self, combinations: list[Combination]) -> dict[Combination, int]:
        if self.graph is None or not self.graph.plannable:  # one alive mask per combination
            counts = correct_counts(self.model, self.data, combinations, batch_size=self.batch_size)
            return dict(zip(combinations, counts.tolist(), strict=True))
        plan = plan_sweep(self.topology, self.graph.merge, combinations)
        return SharedSweep(self.graph, plan).counts(self.data, batch_size=self.batch_size)

    def seconds_per_combination(self) -> float | None:
        """Measured time per combination so far; None before any was evaluated."""
        return self.seconds / self.evaluated if self.evaluated else None


class ExampleScorer:
    """1/0 hits of ``model`` on examples of (``x``, ``y``) under one alive mask per row."""

    def __init__(self, model: Any, x: np.ndarray, y: np.ndarray, *, chunk: int = 8192) -> None:
        import tensorflow as tf

        self.x = x
        self.y = np.asarray(y, dtype=np.int64)
        self.chunk = chunk
        failable = int(model.inputs[1].shape[-1])
        signature = [
            tf.TensorSpec([None, *x.shape[1:]], tf.as_dtype(x.dtype)),
            tf.TensorSpec([None, failable], tf.float32),
            tf.TensorSpec([None], tf.int64),
        ]

        def hits(features: Any, alive: Any, labels: Any) -> Any:
            predicted = tf.argmax(model([features, alive], training=False), axis=-1)
            return tf.cast(tf.equal(predicted, labels), tf.uint8)

        self._hits = tf.function(partial(hits), input_signature=signature)  # see sweep.compiled

    def __call__(self, examples: np.ndarray, alive: np.ndarray) -> np.ndarray:
        alive = np.asarray(alive, dtype=np.float32)
        out = np.empty(len(examples), dtype=np.uint8)
        for start in range(0, len(examples), self.chunk):
            rows = examples[start : start + self.chunk]
            out[start : start + len(rows)] = self._hits(
                self.x[rows], alive[start : start + len(rows)], self.y[rows]
            ).numpy()
        return out


def materialise(data: Any, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """An unbatched (features, label) tf.data set as two arrays, for random access by index."""
    xs, ys = [], []
    for x, y in data.batch(batch_size):
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs), np.concatenate(ys)
