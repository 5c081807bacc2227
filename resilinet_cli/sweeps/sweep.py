"""The failure sweep (every combination of dead nodes) and weighted accuracy (docs/method.md §6).

The sweep cuts the trained model into its nodes and computes each node's output once per
distinct input that reaches it (``plan.py``): the IoT and edge outputs once, not once per
combination. One compiled call does a chunk of the test set under every combination with
information flow; combinations without it never run the model. No weight surgery, no retracing.
Models without node markers are swept by feeding one alive mask per combination instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from resilinet_cli.sweeps.execution import ACCURACY, FLOW, compiled, run_plan
from resilinet_cli.sweeps.plan import SweepPlan, plan_sweep
from resilinet_cli.topology import Combination, Topology, probability
from resilinet_cli.variants import DEFAULT_THRESHOLD, topology_of

if TYPE_CHECKING:  # node_graph imports Keras; the sweep loads it only when it runs
    from resilinet_cli.config import ExperimentConfig
    from resilinet_cli.sweeps.node_graph import NodeGraph

# history.csv's column of a reliability setting's weighted accuracy after each epoch
# (``train.epoch_sweep``, sweeps/epoch_sweep.py): this prefix, then the setting's name
EPOCH_COLUMN_PREFIX = "val_weighted_"
# ``run`` sweeps every combination up to this many failable nodes (65,536 combinations);
# beyond, models are trained with --no-sweep and ``evaluate`` bounds or samples them.
MAX_SWEEP_NODES = 16


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

    def counts(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        rows = tf.shape(x)[0]
        tiled = tf.tile(x, tf.concat([[count], tf.ones([tf.rank(x) - 1], tf.int32)], 0))
        alive = tf.repeat(mask_tensor, rows, axis=0)
        predicted = tf.argmax(model([tiled, alive], training=False), axis=-1)
        hits = tf.equal(predicted, tf.tile(tf.cast(y, tf.int64), [count]))
        return tf.reduce_sum(tf.reshape(tf.cast(hits, tf.int64), [count, rows]), axis=1)

    chunk_counts = compiled(counts)
    step = max(1, batch_size // count)
    totals = np.zeros(count, dtype=np.int64)
    for x, y in data.batch(step).prefetch(tf.data.AUTOTUNE):
        totals += chunk_counts(x, y).numpy()
        if on_chunk:
            on_chunk(int(y.shape[0]))
    return totals


class SharedSweep:
    """The compiled shared-work sweep of one model: traced once, run on any test set."""

    def __init__(self, graph: NodeGraph, plan: SweepPlan) -> None:
        self.graph = graph
        self.plan = plan
        self.distinct = plan.distinct_outputs()
        self._chunk_counts = compiled(partial(SharedSweep._hits, self))

    def _hits(self, x: Any, y: Any) -> Any:
        import tensorflow as tf

        outputs = run_plan(self.graph, self.plan, x)
        labels = tf.cast(y, tf.int64)
        hits = [
            tf.reduce_sum(tf.cast(tf.equal(tf.argmax(outputs[s], axis=-1), labels), tf.int64))
            for s in self.distinct
        ]
        return tf.stack(hits)

    def counts(
        self, data: Any, *, batch_size: int, on_chunk: Callable[[int], None] | None = None
    ) -> dict[Combination, int]:
        """Correct predictions under each planned combination, over the unbatched ``data``."""
        import tensorflow as tf

        if not self.distinct:
            return {}
        totals = np.zeros(len(self.distinct), dtype=np.int64)
        for x, y in data.batch(batch_size).prefetch(tf.data.AUTOTUNE):
            totals += self._chunk_counts(x, y).numpy()
            if on_chunk:
                on_chunk(int(y.shape[0]))
        by_signature = dict(zip(self.distinct, totals, strict=True))
        return {combo: int(by_signature[s]) for combo, s in self.plan.outputs.items()}


def predict_combinations(
    model: Any, topology: Topology, x: np.ndarray, combinations: Sequence[Combination]
) -> dict[Combination, np.ndarray]:
    """The model's outputs for ``x`` under each combination, by the shared-work plan."""
    from resilinet_cli.sweeps.node_graph import cut_nodes

    graph = cut_nodes(model, topology)
    if graph is None:
        raise ValueError(f"model {model.name!r} has no node markers to cut it by")
    if not graph.plannable:  # replicas or stand-ins: the whole model, one alive mask each
        masks = {c: np.asarray([c] * len(x), dtype="float32") for c in combinations}
        return {c: np.asarray(model([x, mask], training=False)) for c, mask in masks.items()}
    plan = plan_sweep(topology, graph.merge, combinations)
    values = run_plan(graph, plan, x)
    return {combo: np.asarray(values[s]) for combo, s in plan.outputs.items()}


def sweep(
    model: Any,
    topology: Topology,
    data: Any,
    size: int,
    *,
    guess: float,
    batch_size: int,
    on_chunk: Callable[[int], None] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Accuracy under every failure combination: one row each, in sweep order.

    ``data`` is the unbatched test set of ``size`` examples. ``topology`` must be the
    variant's own (Vanilla: no skips), since it decides information flow. A model with exit
    heads is scored by both rules (``exits.py``; ``threshold`` is the threshold rule's T).
    """
    sweeper = Sweeper(model, topology, guess=guess, batch_size=batch_size, threshold=threshold)
    return sweeper.table(data, size, on_chunk=on_chunk)


class Sweeper:
    """One model's failure sweep, cut and compiled once, run on any data.

    A unit sweeps its test set once; ``train.epoch_sweep`` sweeps the validation set after
    every epoch, with the weights of that epoch, and must not cut and trace the model anew.
    """

    def __init__(
        self,
        model: Any,
        topology: Topology,
        *,
        guess: float,
        batch_size: int,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        from resilinet_cli.sweeps.exits import ExitSweep
        from resilinet_cli.sweeps.node_graph import cut_nodes

        self.model = model
        self.topology = topology
        self.guess = guess
        self.batch_size = batch_size
        self.threshold = threshold
        self.combos = topology.combinations()
        self.flow = [topology.has_information_flow(c) for c in self.combos]
        self.runnable = [c for c, f in zip(self.combos, self.flow, strict=True) if f]
        graph = cut_nodes(model, topology)
        self.shared = None
        self.exits = None  # a model with exit heads answers without flow too
        if graph is not None and graph.exits:
            self.exits = ExitSweep(graph, topology, self.combos)
        elif graph is not None and graph.plannable:
            self.shared = SharedSweep(graph, plan_sweep(topology, graph.merge, self.runnable))

    def table(
        self, data: Any, size: int, *, on_chunk: Callable[[int], None] | None = None
    ) -> pd.DataFrame:
        """Accuracy under every combination over the unbatched ``data`` of ``size`` examples."""
        columns = self.topology.columns
        if self.exits is not None:
            scored = self.exits.rows(
                data,
                size,
                guess=self.guess,
                threshold=self.threshold,
                batch_size=self.batch_size,
                on_chunk=on_chunk,
            )
            rows = [
                {**dict(zip(columns, combo, strict=True)), FLOW: flow, **scored[combo]}
                for combo, flow in zip(self.combos, self.flow, strict=True)
            ]
            return pd.DataFrame(rows)
        if self.shared is not None:
            correct = self.shared.counts(data, batch_size=self.batch_size, on_chunk=on_chunk)
        else:
            counts = correct_counts(
                self.model, data, self.runnable, batch_size=self.batch_size, on_chunk=on_chunk
            )
            correct = dict(zip(self.runnable, counts, strict=True))
        rows = []
        for combo, has_flow in zip(self.combos, self.flow, strict=True):
            accuracy = correct[combo] / size if has_flow else self.guess
            rows.append(
                {**dict(zip(columns, combo, strict=True)), FLOW: has_flow, ACCURACY: accuracy}
            )
        return pd.DataFrame(rows, columns=[*columns, FLOW, ACCURACY])


def sweep_model(
    config: ExperimentConfig,
    variant: str,
    model: object,
    inputs: Any,
    *,
    on_chunk: Callable[[int], None] | None = None,
    threshold: float | None = None,
) -> pd.DataFrame:
    """Accuracy of a trained model under every failure combination of its topology (an exit
    model's threshold rule at ``threshold``, by default its variant's)."""
    return sweep(
        model,
        topology_of(config, variant),
        inputs.test,
        inputs.test_size,
        guess=inputs.guess,
        batch_size=config.evaluation.batch_size,
        on_chunk=on_chunk,
        threshold=config.variant(variant).exit_threshold if threshold is None else threshold,
    )


def weighted_accuracy(
    combinations: pd.DataFrame, topology: Topology, reliability: Sequence[float]
) -> float:
    """Σ_c P(c)·acc(c): expected accuracy when nodes fail independently (docs/method.md §6.3).

    Failable links always carry data under a reliability setting of the nodes alone.
    """
    return weighted_sum(combinations, topology.columns, topology.survival(reliability))


def weighted_sum(
    combinations: pd.DataFrame, columns: Sequence[str], survival: Sequence[float]
) -> float:
    """``weighted_accuracy`` over a combinations table, with one survival value per column."""
    flags = combinations[list(columns)].to_numpy(dtype=int).tolist()
    accuracy = combinations[ACCURACY].to_numpy(dtype=float).tolist()
    total = 0.0
    for combo, value in zip(flags, accuracy, strict=True):
        total += probability(tuple(combo), survival) * value
    return total
