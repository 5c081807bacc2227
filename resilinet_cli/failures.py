"""The failure sweep (every combination of dead nodes) and weighted accuracy (paper_spec §6).

The sweep feeds fixed alive masks to the trained model: no weight surgery and no retracing. One
compiled call evaluates a chunk of the test set under every combination that has information
flow; combinations without it never run the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
    model: object,
    x: np.ndarray,
    y: np.ndarray,
    masks: Sequence[Combination],
    *,
    batch_size: int,
    on_chunk: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Number of correct argmax predictions under each alive mask, in one pass over ``x``."""
    import tensorflow as tf

    if not masks:
        return np.zeros(0, dtype=np.int64)
    mask_tensor = tf.constant(np.asarray(masks, dtype="float32"))
    count = len(masks)

    @tf.function
    def chunk_counts(xc: tf.Tensor, yc: tf.Tensor) -> tf.Tensor:
        rows = tf.shape(xc)[0]
        tiled = tf.tile(xc, tf.concat([[count], tf.ones([tf.rank(xc) - 1], tf.int32)], 0))
        alive = tf.repeat(mask_tensor, rows, axis=0)
        predicted = tf.argmax(model([tiled, alive], training=False), axis=-1)
        hits = tf.equal(predicted, tf.tile(tf.cast(yc, tf.int64), [count]))
        return tf.reduce_sum(tf.reshape(tf.cast(hits, tf.int64), [count, rows]), axis=1)

    step = min(len(x), max(1, batch_size // count))
    totals = np.zeros(count, dtype=np.int64)
    for start in range(0, len(x), step):
        xc, yc = x[start : start + step], y[start : start + step]
        done = len(yc)
        if done < step:  # pad the last chunk so the function is traced once; -1 never matches
            xc = np.concatenate([xc, np.zeros((step - done, *x.shape[1:]), x.dtype)])
            yc = np.concatenate([yc, np.full(step - done, -1, y.dtype)])
        totals += chunk_counts(xc, yc).numpy()
        if on_chunk:
            on_chunk(done)
    return totals


def sweep(
    model: object,
    topology: Topology,
    x: np.ndarray,
    y: np.ndarray,
    *,
    guess: float,
    batch_size: int,
    on_chunk: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Accuracy under every failure combination: one row each, in sweep order.

    ``topology`` must be the variant's own (Vanilla: no skips), since it decides information flow.
    """
    combos = topology.combinations()
    flow = [topology.has_information_flow(c) for c in combos]
    runnable = [c for c, f in zip(combos, flow, strict=True) if f]
    counts = correct_counts(model, x, y, runnable, batch_size=batch_size, on_chunk=on_chunk)
    correct = dict(zip(runnable, counts, strict=True))
    rows = []
    for combo, has_flow in zip(combos, flow, strict=True):
        accuracy = correct[combo] / len(y) if has_flow else guess
        rows.append(
            {**dict(zip(topology.failable, combo, strict=True)), FLOW: has_flow, ACCURACY: accuracy}
        )
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
