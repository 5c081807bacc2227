"""Running a model's node graph: each planned node output, in one compiled function.

The plain sweep (``sweep.py``) and the exit sweep (``exits.py``) both run a plan's node
outputs here, and name their table's columns with the constants below.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from resilinet_cli.sweeps.plan import AGGREGATE, CUT, Signature, SweepPlan, input_links

if TYPE_CHECKING:  # node_graph imports Keras; the sweep loads it only when it runs
    from resilinet_cli.sweeps.node_graph import NodeGraph

ACCURACY = "accuracy"
FLOW = "information_flow"


def compiled(function: Callable[..., Any]) -> Any:
    """``function`` as a ``tf.function`` of its own, traced once per model.

    Every model swept needs its own graph, so each sweep compiles a new function from the same
    Python code. TensorFlow counts traces per code object (``__code__``), not per function, and
    after five models calls that "retracing" and warns (in a notebook, on every fifth unit of
    ``rn.run``). A ``functools.partial`` has no ``__code__``, so TensorFlow counts its traces on
    the partial itself: one model's function that really retraces is still reported.
    """
    import tensorflow as tf

    own = function if isinstance(function, partial) else partial(function)
    return tf.function(own, reduce_retracing=True)


def run_plan(graph: NodeGraph, plan: SweepPlan, x: Any) -> dict[Signature, Any]:
    """Every planned node output for the examples ``x`` (traced inside ``tf.function``)."""
    import tensorflow as tf

    rows = tf.shape(x)[0]
    values: dict[Signature, Any] = {}
    received: dict[Signature, Any] = {}

    def zeros(shape: tuple[int, ...], dtype: str, count: Any) -> Any:
        return tf.zeros(tf.concat([[count], list(shape)], 0), dtype=dtype)

    def link_value(link: Signature) -> Any:
        if link not in received:
            src, dst, sender = link
            model = graph.links[(src, dst)]
            if sender == CUT:  # a dead link: its receiver gets zeros
                value = zeros(*graph.received[(src, dst)], rows)
            elif sender is None:  # a dead sender sends zeros; its projection is one row, broadcast
                shape, dtype = graph.sent[src]
                value = zeros(shape, dtype, 1)
                value = model(value, training=False) if model is not None else value
                value = tf.broadcast_to(value, tf.concat([[rows], tf.shape(value)[1:]], 0))
            else:
                value = values[sender]
                value = model(value, training=False) if model is not None else value
            received[link] = value
        return received[link]

    for signature in plan.nodes:
        node, inputs = signature
        if not inputs:
            merged = x
        elif inputs[0] == "zeros":
            merged = zeros(*graph.stack_in[node], rows)
        elif inputs[0] == AGGREGATE:
            merged = aggregated(graph, inputs[1], link_value, rows)
        else:
            links = [link_value(link) for link in input_links(signature)]
            merged = links[0]
            for value in links[1:]:  # summed in the order of Keras' Add layer
                merged = merged + value
        values[signature] = graph.stacks[node](merged, training=False)
    return values


def aggregated(graph: NodeGraph, links: Any, link_value: Callable[[Any], Any], rows: Any) -> Any:
    """What a hub's ``Aggregate`` layer computes from its device links (layers/aggregate.py):
    concat takes every device (a dead one's zeros), max and mean only the live ones."""
    import tensorflow as tf

    if graph.aggregate == "concat":
        return tf.concat([link_value(link) for link in links], axis=-1)
    live = [link_value(link) for link in links if link[2] is not None and link[2] != CUT]
    if not live:
        shape, dtype = graph.received[links[0][:2]]
        return tf.zeros(tf.concat([[rows], list(shape)], 0), dtype=dtype)
    if graph.aggregate == "max":
        return tf.reduce_max(tf.stack(live), 0)
    total = live[0]
    for value in live[1:]:  # summed in device order, as the layer and the live hub sum them
        total = total + value
    return total / tf.cast(len(live), total.dtype)
