"""One node's share of the model: its stack and the projections of its incoming links.

A node computes exactly what the sweep's ``run_plan`` computes for it (sweeps/sweep.py):
each received tensor goes through its link's sub-model; a dead sender's input is zeros, which
still go through the link (one row, broadcast); a ResiliNet mux takes the first input in
``topology.incoming`` order whose sender is alive, and zeros when none is; an Add merge sums
the links in that order. So a live prediction equals the simulated one for the same dead set.
A node with an exit also runs its head (``NodeGraph.exits``) on its stack's output.

A standby replica (``edge_r2``) is a process of its own with its primary's inputs and links and
its own stack (``NodeGraph.stacks``), padded to the primary's width as the model pads it. A slot
with a learned stand-in (``NodeGraph.stand_ins``) whose sender is dead gets the generator's
output on the other slots as they arrive (zeros through the link for a dead one), as the
model's ``StandIn`` does; on a mux only the chain slot has one, and the mux then takes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from resilinet_cli.live.errors import LiveError
from resilinet_cli.live.wire import TensorSpec
from resilinet_cli.sweeps.plan import AGGREGATE
from resilinet_cli.topology import Topology


def compiled(model: Any, shape: tuple[int, ...], dtype: str) -> Callable[[np.ndarray], np.ndarray]:
    """``model`` traced once for any number of rows: a few hundred microseconds a call."""
    import tensorflow as tf

    function = tf.function(
        lambda x: model(x, training=False),
        input_signature=[tf.TensorSpec([None, *shape], dtype)],
    )
    return lambda x: function(x).numpy()


def compiled_many(model: Any) -> Callable[[list[np.ndarray]], np.ndarray]:
    """``model`` of several inputs (a stand-in's generator) traced once for any number of rows."""
    import tensorflow as tf

    signature = [tf.TensorSpec([None, *t.shape[1:]], t.dtype) for t in model.inputs]
    function = tf.function(
        lambda *xs: model(xs[0] if len(xs) == 1 else list(xs), training=False),
        input_signature=signature,
    )
    return lambda xs: function(*(np.ascontiguousarray(x) for x in xs)).numpy()


class NodeCompute:
    """The sub-models of ``node`` cut from ``model`` (built on the variant's ``topology``)."""

    def __init__(self, model: Any, topology: Topology, process: str, *, max_rows: int) -> None:
        from resilinet_cli.sweeps.node_graph import cut_nodes

        graph = cut_nodes(model, topology)
        if graph is None:
            raise LiveError(f"model {model.name!r} has no node markers to cut it by")
        node = dict(topology.replicas).get(process, process)  # a standby serves its primary's
        self.node = node
        self.kind = topology.aggregate
        self.is_input = node in topology.sources  # reads the features (a device: its view)
        self.senders = [link.src for link in topology.incoming(node)]
        self.merge = graph.merge if len(self.senders) > 1 else "one"
        if topology.fan_in and node == topology.input_node:  # the hub: an aggregate
            self.merge = AGGREGATE
        if self.is_input:
            features = model.inputs[0]
            shape, dtype = tuple(features.shape[1:]), str(features.dtype)
        else:
            shape, dtype = graph.stack_in[process]
        self.stack_in = (shape, dtype)
        probabilities = model.outputs[0]  # an exit's answer: as many classes as the output
        self.answer_spec = TensorSpec(
            tuple(probabilities.shape[1:]), str(probabilities.dtype), max_rows
        )
        self.input_spec = TensorSpec(shape, dtype, max_rows)
        features = model.inputs[0]  # what the entry (input node or hub) takes from a client
        self.features_spec = TensorSpec(tuple(features.shape[1:]), str(features.dtype), max_rows)
        self.stack = compiled(graph.stacks[process], shape, dtype)
        self.sender_specs = {s: TensorSpec(*graph.sent[s], max_rows) for s in self.senders}
        self.links: list[Callable[[np.ndarray], np.ndarray] | None] = []
        self.zero_links: list[np.ndarray] = []
        for sender in self.senders:
            link = graph.links[(sender, node)]
            sent_shape, sent_dtype = graph.sent[sender]
            run = None if link is None else compiled(link, sent_shape, sent_dtype)
            zeros = np.zeros((1, *sent_shape), sent_dtype)
            self.links.append(run)
            self.zero_links.append(run(zeros) if run else zeros)
        self.stand_ins: dict[int, Callable[[list[np.ndarray]], np.ndarray]] = {}
        for i, sender in enumerate(self.senders):
            generator = graph.stand_ins.get((sender, node))
            if generator is not None and (self.merge != "mux" or i == 0):  # a mux reads no other
                self.stand_ins[i] = compiled_many(generator)
                others = [self.zero_links[j] for j in range(len(self.senders)) if j != i]
                self.stand_ins[i](others)  # trace now
        self.stack(np.zeros((1, *shape), dtype))  # trace now, not on the first request
        self.head: Callable[[np.ndarray], np.ndarray] | None = None  # the node's exit head
        if node in graph.exits:
            head_in = graph.exits[node].inputs[0]
            head_shape, head_dtype = tuple(head_in.shape[1:]), str(head_in.dtype)
            self.head = compiled(graph.exits[node], head_shape, head_dtype)
            self.head(np.zeros((1, *head_shape), head_dtype))

    def run_input(self, features: np.ndarray) -> np.ndarray:
        """The input node: its stack on the features."""
        return self.stack(features)

    def run(self, received: Sequence[np.ndarray | None], rows: int) -> np.ndarray:
        """The stack on the merged inputs; ``None`` marks a dead sender (in sender order)."""
        values = [
            self._link(i, value, rows) if self.merge != "mux" or value is not None else None
            for i, value in enumerate(received)
        ]
        if any(received[i] is None for i in self.stand_ins):
            arrived = [self._link(i, value, rows) for i, value in enumerate(received)]
            for i, generate in self.stand_ins.items():
                if received[i] is None:  # dead: the generator on the others, as they arrived
                    values[i] = generate([a for j, a in enumerate(arrived) if j != i])
        if self.merge == AGGREGATE:  # concat: every device (a dead one's zeros); else the live
            return self.stack(np.ascontiguousarray(self._aggregate(received, values, rows)))
        if self.merge == "mux":  # the first live sender in priority order, else zeros
            chosen = next((v for v in values if v is not None), None)
            shape, dtype = self.stack_in
            merged = chosen if chosen is not None else np.zeros((rows, *shape), dtype)
        else:  # one input, or Add: summed in incoming order, as Keras' Add layer does
            merged = values[0]
            for value in values[1:]:
                merged = merged + value
        return self.stack(np.ascontiguousarray(merged))

    def _aggregate(
        self, received: Sequence[np.ndarray | None], values: list[Any], rows: int
    ) -> np.ndarray:
        """The hub's ``Aggregate`` as the sweep computes it (sweeps/execution.py)."""
        if self.kind == "concat":
            return np.concatenate(values, axis=-1)
        live = [v for v, r in zip(values, received, strict=True) if r is not None]
        if not live:
            shape, dtype = self.stack_in
            return np.zeros((rows, *shape), dtype)
        if self.kind == "max":
            return np.maximum.reduce(live)
        total = live[0]
        for value in live[1:]:
            total = total + value
        return total / np.asarray(len(live), dtype=total.dtype)

    def _link(self, index: int, value: np.ndarray | None, rows: int) -> np.ndarray:
        if value is None:
            zero = self.zero_links[index]
            return np.broadcast_to(zero, (rows, *zero.shape[1:]))
        link = self.links[index]
        return link(value) if link else value
