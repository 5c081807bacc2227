"""Cut a trained model into its physical nodes: one sub-model per node stack and per link.

The builder frames every node's layer stack with ``<node>_stack_in`` / ``<node>_stack_out``
Identity layers; a skip variant's links end in ``<src>_<dst>_weight``. From those named tensors
Keras builds sub-models that share the trained layers, so the failure sweep can run each node
on exactly the inputs that reach it (``plan.py``) instead of re-running the whole model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resilinet_cli.layers import InputMux
from resilinet_cli.models.builder import EXIT, STACK_IN, STACK_OUT, STAND_IN
from resilinet_cli.topology import Topology, layer_prefix


@dataclass(frozen=True)
class NodeGraph:
    """Per-node sub-models of one model, with what a dead sender or an empty mux feeds."""

    merge: str  # "mux" or "add"
    stacks: dict[str, Any]  # node -> keras.Model: its stack input -> its output
    links: dict[tuple[str, str], Any | None]  # (src, dst) -> sent -> received; None: identity
    sent: dict[str, tuple[tuple[int, ...], str]]  # node -> (shape without batch, dtype)
    stack_in: dict[str, tuple[tuple[int, ...], str]]
    received: dict[tuple[str, str], tuple[tuple[int, ...], str]]  # what a link delivers
    exits: dict[str, Any]  # node -> keras.Model of its exit head: its output -> probabilities
    # replicated node -> its replicas' columns, primary first; each has a stack in ``stacks``
    replicas: dict[str, tuple[str, ...]]
    # (src, dst) -> keras.Model of the stand-in's generator: the receiver's other inputs, in
    # ``topology.incoming`` order, as they arrive (after their link) -> the stand-in input
    stand_ins: dict[tuple[str, str], Any]
    aggregate: str = "concat"  # how a fan-in topology's hub combines its devices

    @property
    def plannable(self) -> bool:
        """Whether the shared-work plan (plan.py) covers this model: it knows no replicas or
        stand-ins, so those models are swept by feeding one alive mask per combination."""
        return not self.replicas and not self.stand_ins


def cut_nodes(model: Any, topology: Topology) -> NodeGraph | None:
    """The node graph of ``model`` (built on the variant's own ``topology``).

    None for a model without stack markers (saved by an earlier resilinet) or whose mux tests
    inputs for zeros (the reference-method check): those are swept with alive masks instead.
    """
    import keras

    names = {layer.name for layer in model.layers}
    if any(f"{node}_{STACK_OUT}" not in names for node in topology.nodes):
        return None
    muxes = [layer for layer in model.layers if isinstance(layer, InputMux)]
    if any(mux.detect != "alive" for mux in muxes):
        return None

    def tensor(name: str) -> Any:
        return model.get_layer(name).output

    def sent(node: str) -> Any:
        return tensor(f"{node}_gate" if node in topology.failable else f"{node}_{STACK_OUT}")

    stacks, stack_in = {}, {}
    replicas = {n: topology.replicas_of(n) for n in topology.failable}
    replicas = {node: served for node, served in replicas.items() if len(served) > 1}
    for node in (*topology.nodes, *(column for column, _ in topology.replicas)):
        if node in topology.sources:  # a device's stack starts with its view of the features
            start = model.inputs[0]
        else:
            start = tensor(f"{node}_{STACK_IN}")
            stack_in[node] = described(start)
        stacks[node] = keras.Model(start, tensor(f"{node}_{STACK_OUT}"), name=f"{node}_stack")
    links, received = {}, {}
    for link in topology.links:
        weight = f"{layer_prefix(link.src, link.dst)}_weight"
        end = tensor(weight) if weight in names else None
        name = f"{layer_prefix(link.src, link.dst)}_link"
        links[(link.src, link.dst)] = (
            None if end is None else keras.Model(sent(link.src), end, name=name)
        )
        received[(link.src, link.dst)] = described(sent(link.src) if end is None else end)
    exits = {
        node: keras.Model(
            tensor(f"{node}_{STACK_OUT}"), tensor(f"{node}_{EXIT}"), name=f"{node}_head"
        )
        for node in topology.nodes[:-1]
        if f"{node}_{EXIT}" in names
    }
    stand_ins = {}
    for link in topology.links:
        prefix = f"{layer_prefix(link.src, link.dst)}_{STAND_IN}"
        if prefix in names:
            others = [k for k in topology.incoming(link.dst) if k != link]
            stand_ins[(link.src, link.dst)] = keras.Model(
                [arrived(model, topology, k) for k in others],
                tensor(f"{prefix}_out"),
                name=f"{prefix}_generator",
            )
    return NodeGraph(
        merge="mux" if muxes else "add",
        aggregate=topology.aggregate,
        exits=exits,
        replicas=replicas,
        stand_ins=stand_ins,
        stacks=stacks,
        links=links,
        sent={node: described(sent(node)) for node in topology.nodes[:-1]},
        stack_in=stack_in,
        received=received,
    )


def arrived(model: Any, topology: Topology, link: Any) -> Any:
    """The tensor ``link`` delivers to its receiver: after its gate, else its weight, else the
    sender's output (what a stand-in's generator reads)."""
    prefix = layer_prefix(link.src, link.dst)
    names = {layer.name for layer in model.layers}
    for name in (f"{prefix}_link_gate", f"{prefix}_weight"):
        if name in names:
            return model.get_layer(name).output
    sender = link.src
    name = f"{sender}_gate" if sender in topology.failable else f"{sender}_{STACK_OUT}"
    return model.get_layer(name).output


def described(tensor: Any) -> tuple[tuple[int, ...], str]:
    return tuple(tensor.shape[1:]), str(tensor.dtype)
