"""The failure sweep of a model with exit heads: both inference rules, every combination.

An exit head answers only if information reaches its node (the node is alive and a path of
alive nodes and live links joins it to the input). Two rules, both scored (docs/variants.md):

- *fallback*: the final output where information reaches the output node; otherwise the
  deepest exit that information reaches; otherwise the guess. One head per combination.
- *threshold*: per example, the first reached exit (in chain order) whose normalised entropy
  is below T answers; an example no exit takes gets the fallback's answer.

Like the plain sweep (``plan.py``), each node runs once per distinct input that reaches it, and
each head once per distinct node output: the plan names heads by (node, node signature).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from resilinet_cli.sweeps.execution import ACCURACY, compiled, run_plan
from resilinet_cli.sweeps.plan import Signature, SweepPlan, dependencies, node_signature
from resilinet_cli.topology import Combination, Topology
from resilinet_cli.variants import GUESS, reached_nodes

if TYPE_CHECKING:
    from resilinet_cli.sweeps.node_graph import NodeGraph

Head = tuple[str, Signature]  # a node's head (the output node's: the model's output) on an input
Rule = tuple[tuple[Head, ...], Head | None]  # threshold rule: reached exits, then the fallback

ANSWERED_BY = "answered_by"  # the fallback rule's answering node (or "guess")
THRESHOLD_ACCURACY = "threshold_accuracy"
THRESHOLD_EXIT_PREFIX = "threshold_exit_"  # then a node, or "guess": fraction answered there


@dataclass(frozen=True)
class ExitPlan:
    """What the exit sweep computes and reads, for given combinations."""

    nodes: tuple[Signature, ...]  # node outputs to compute, each after its inputs
    heads: tuple[Head, ...]  # distinct heads whose predictions are read
    fallback: dict[Combination, Head | None]  # None: no head is reached, the guess answers
    rules: dict[Combination, Rule]

    def distinct_rules(self) -> list[Rule]:
        return list(dict.fromkeys(self.rules.values()))


def plan_exits(
    topology: Topology, merge: str, exits: Sequence[str], combinations: Sequence[Combination]
) -> ExitPlan:
    """The exit sweep's plan; ``exits`` in chain order."""
    nodes: dict[Signature, None] = {}
    heads: dict[Head, None] = {}
    fallback: dict[Combination, Head | None] = {}
    rules: dict[Combination, Rule] = {}

    def head(combo: Combination, node: str) -> Head:
        signature = node_signature(topology, merge, combo, node)
        assert signature is not None  # a reached node is alive
        for needed in dependencies(signature):
            nodes.setdefault(needed, None)
        heads.setdefault((node, signature), None)
        return node, signature

    for combo in combinations:
        reached = reached_nodes(topology, combo)
        candidates = tuple(head(combo, node) for node in exits if node in reached)
        if topology.output_node in reached:
            fallback[combo] = head(combo, topology.output_node)
        else:
            fallback[combo] = candidates[-1] if candidates else None
        rules[combo] = (candidates, fallback[combo])
    return ExitPlan(tuple(nodes), tuple(heads), fallback, rules)


def normalised_entropy(probabilities: Any) -> Any:
    """DDNN's exit criterion per row: entropy over log(classes), 0 (sure) to 1 (uniform)."""
    import tensorflow as tf

    classes = int(probabilities.shape[-1])
    entropy = -tf.reduce_sum(tf.math.xlogy(probabilities, probabilities), axis=-1)
    return entropy / math.log(classes)


class ExitSweep:
    """The compiled exit sweep of one model: traced once, run on any data and threshold."""

    def __init__(
        self, graph: NodeGraph, topology: Topology, combinations: Sequence[Combination]
    ) -> None:

        self.graph = graph
        self.topology = topology
        self.exits = tuple(node for node in topology.nodes if node in graph.exits)
        self.plan = plan_exits(topology, graph.merge, self.exits, combinations)
        self.rules = self.plan.distinct_rules()
        self.width = len(self.exits) + 1  # answers per rule: each candidate exit, then the rest
        self._chunk = compiled(partial(ExitSweep._counts, self))

    def head_outputs(self, x: Any) -> dict[Head, Any]:
        """Every planned head's class probabilities for the examples ``x``."""

        values = run_plan(self.graph, SweepPlan({}, self.plan.nodes), x)
        return {
            (node, signature): values[signature]
            if node == self.topology.output_node
            else self.graph.exits[node](values[signature], training=False)
            for node, signature in self.plan.heads
        }

    def _counts(self, x: Any, y: Any, threshold: Any) -> tuple[Any, Any, Any]:
        import tensorflow as tf

        outputs = self.head_outputs(x)
        labels = tf.cast(y, tf.int64)
        correct = {h: tf.equal(tf.argmax(p, axis=-1), labels) for h, p in outputs.items()}
        confident = {h: normalised_entropy(p) < threshold for h, p in outputs.items()}
        head_hits = tf.stack([count(correct[h]) for h in self.plan.heads])
        rule_hits, rule_taken = [], []
        for candidates, fallback in self.rules:
            left = tf.ones_like(labels, dtype=tf.bool)
            hits = tf.constant(0, tf.int64)
            taken = []
            for candidate in candidates:
                take = tf.logical_and(left, confident[candidate])
                hits += count(tf.logical_and(take, correct[candidate]))
                taken.append(count(take))
                left = tf.logical_and(left, tf.logical_not(take))
            if fallback is not None:
                hits += count(tf.logical_and(left, correct[fallback]))
            taken += [tf.constant(0, tf.int64)] * (self.width - 1 - len(candidates))
            taken.append(count(left))
            rule_hits.append(hits)
            rule_taken.append(tf.stack(taken))
        return head_hits, tf.stack(rule_hits), tf.stack(rule_taken)

    def counts(
        self,
        data: Any,
        *,
        threshold: float,
        batch_size: int,
        on_chunk: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Correct answers per head, and per distinct rule: correct answers and how many
        examples each candidate exit (then the fallback) took, over the unbatched ``data``."""
        import tensorflow as tf

        heads = np.zeros(len(self.plan.heads), dtype=np.int64)
        hits = np.zeros(len(self.rules), dtype=np.int64)
        taken = np.zeros((len(self.rules), self.width), dtype=np.int64)
        bound = tf.constant(threshold, tf.float32)
        for x, y in data.batch(batch_size).prefetch(tf.data.AUTOTUNE):
            chunk = self._chunk(x, y, bound)
            heads += chunk[0].numpy()
            hits += chunk[1].numpy()
            taken += chunk[2].numpy()
            if on_chunk:
                on_chunk(int(y.shape[0]))
        return heads, hits, taken

    def rows(
        self,
        data: Any,
        size: int,
        *,
        guess: float,
        threshold: float,
        batch_size: int,
        on_chunk: Callable[[int], None] | None = None,
    ) -> dict[Combination, dict[str, Any]]:
        """Per combination: the fallback's accuracy and answering node, the threshold rule's
        accuracy and the fraction of examples answered at each exit, the output, the guess."""

        heads, hits, taken = self.counts(
            data, threshold=threshold, batch_size=batch_size, on_chunk=on_chunk
        )
        head_hits = dict(zip(self.plan.heads, heads.tolist(), strict=True))
        rule_index = {rule: i for i, rule in enumerate(self.rules)}
        rows = {}
        for combo, rule in self.plan.rules.items():
            fallback = self.plan.fallback[combo]
            i = rule_index[rule]
            fractions = dict.fromkeys([*self.exits, self.topology.output_node, GUESS], 0.0)
            for (node, _), examples in zip(rule[0], taken[i][:-1], strict=False):
                fractions[node] = examples / size
            rest = GUESS if fallback is None else fallback[0]
            fractions[rest] += taken[i][-1] / size
            rest_accuracy = guess * taken[i][-1] / size if fallback is None else 0.0
            rows[combo] = {
                ACCURACY: guess if fallback is None else head_hits[fallback] / size,
                ANSWERED_BY: GUESS if fallback is None else fallback[0],
                THRESHOLD_ACCURACY: hits[i] / size + rest_accuracy,
                **{f"{THRESHOLD_EXIT_PREFIX}{node}": f for node, f in fractions.items()},
            }
        return rows


def count(flags: Any) -> Any:
    import tensorflow as tf

    return tf.reduce_sum(tf.cast(flags, tf.int64))
