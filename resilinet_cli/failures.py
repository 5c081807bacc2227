"""The failure sweep (every combination of dead nodes) and weighted accuracy (paper_spec §6).

The sweep feeds fixed alive masks to the trained model: no weight surgery and no retracing. One
compiled call evaluates a chunk of the test set under every combination that has information
flow; combinations without it never run the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from resilinet_cli.topology import Combination, Topology

ACCURACY = "accuracy"
FLOW = "information_flow"


def guess_accuracy(y_train: np.ndarray, y_test: np.ndarray, num_classes: int) -> float:
    """Exact expected accuracy of guessing from the training class frequencies.

    Σ_k p_train(k)·p_test(k), over the real label values. The reference code shifted the
    Health labels by one here (paper_spec §6.2); we use the correct mapping.
    """
    p_train = np.bincount(y_train, minlength=num_classes) / len(y_train)
    p_test = np.bincount(y_test, minlength=num_classes) / len(y_test)
    return float(np.dot(p_train, p_test))


def correct_counts(
    model: Any,
    data: Any,
    masks: Sequence[Combination],
    *,
    batch_size: int,
    on_chunk: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Number of correct argmax predictions under each alive mask, in one pass over ``data``.

    ``data`` is an unbatched ``tf.data.Dataset`` of (features, label). Each chunk of examples
    is tiled once per mask and evaluated in one compiled call.
    """
    import tensorflow as tf

    if not masks:
        return np.zeros(0, dtype=np.int64)
    mask_tensor = tf.constant(np.asarray(masks, dtype="float32"))
    count = len(masks)

    @tf.function(reduce_retracing=True)
    def chunk_counts(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        rows = tf.shape(x)[0]
        tiled = tf.tile(x, tf.concat([[count], tf.ones([tf.rank(x) - 1], tf.int32)], 0))
        alive = tf.repeat(mask_tensor, rows, axis=0)
        predicted = tf.argmax(model([tiled, alive], training=False), axis=-1)
        hits = tf.equal(predicted, tf.tile(tf.cast(y, tf.int64), [count]))
        return tf.reduce_sum(tf.reshape(tf.cast(hits, tf.int64), [count, rows]), axis=1)

    step = max(1, batch_size // count)
    totals = np.zeros(count, dtype=np.int64)
    for x, y in data.batch(step).prefetch(tf.data.AUTOTUNE):
        totals += chunk_counts(x, y).numpy()
        if on_chunk:
            on_chunk(int(y.shape[0]))
    return totals


def sweep(
    model: Any,
    topology: Topology,
    data: Any,
    size: int,
    *,
    guess: float,
    batch_size: int,
    on_chunk: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Accuracy under every failure combination: one row each, in sweep order.

    ``data`` is the unbatched test set of ``size`` examples. ``topology`` must be the
    variant's own (Vanilla: no skips), since it decides information flow.
    """
    combos = topology.combinations()
    flow = [topology.has_information_flow(c) for c in combos]
    runnable = [c for c, f in zip(combos, flow, strict=True) if f]
    counts = correct_counts(model, data, runnable, batch_size=batch_size, on_chunk=on_chunk)
    correct = dict(zip(runnable, counts, strict=True))
    rows = []
    for combo, has_flow in zip(combos, flow, strict=True):
        accuracy = correct[combo] / size if has_flow else guess
        bits = dict(zip(topology.failable, combo, strict=True))
        rows.append({**bits, FLOW: has_flow, ACCURACY: accuracy})
    return pd.DataFrame(rows, columns=[*topology.failable, FLOW, ACCURACY])


def weighted_accuracy(
    combinations: pd.DataFrame, topology: Topology, reliability: Sequence[float]
) -> float:
    """Σ_c P(c)·acc(c): expected accuracy when nodes fail independently (paper_spec §6.3)."""
    total = 0.0
    for row in combinations.itertuples(index=False):
        combo = tuple(int(getattr(row, node)) for node in topology.failable)
        total += topology.probability(combo, reliability) * getattr(row, ACCURACY)
    return total
