"""What each cut point of a Keras model costs: bytes sent across it and FLOPs computed before it.

``resilinet partition`` lists the cut points (``cuts.py``) with these costs and can suggest one
cut per topology node. FLOPs come from TensorFlow's own profiler, not from a formula per layer
type, so any layer made of ops the profiler knows is counted the same way.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import keras
import tensorflow as tf
from tabulate import tabulate

from resilinet_cli.layers import (
    Failout,
    InputMux,
    LinkGate,
    NodeGate,
    ReplicaSwitch,
    RoleFlags,
    StandIn,
)

log = logging.getLogger(__name__)
# layers that only read the alive mask and pick or zero their inputs (a stand-in's choice too;
# its generator's Dense or Conv2D layers are ordinary layers and are counted as such)
FAILURE_LAYERS = (Failout, InputMux, LinkGate, NodeGate, ReplicaSwitch, RoleFlags, StandIn)

# Ops whose bodies live in other graphs (branches, loop bodies, called functions): the profiler
# only counts the top-level graph, so the FLOPs inside them are missing from its count.
_OPAQUE_OPS = frozenset(
    {"If", "StatelessIf", "Case", "StatelessCase", "While", "StatelessWhile"}
    | {"PartitionedCall", "StatefulPartitionedCall"}
)
_Plan = tuple[int, tuple[int, ...], tuple[int, ...]]  # bytes, tie-break key, cut indices
# The input (IoT) node is the weakest device. The paper's own partitions give it 0 % (the Health
# MLP), 0.8-2.7 % (MobileNet-v1, settings 1 and 2) and 14 % (ResNet-18's 7x7 first convolution)
# of the network's FLOPs; without a budget, fewest bytes alone can put nearly the whole network
# there (the last layers are the smallest). --suggest caps it at this share unless told otherwise.
INPUT_NODE_PERCENT = 15
_SCOPE = "cost."  # scopes we open around each layer call; "." never occurs in a traced arg name


def _functional(model: keras.Model) -> Any:
    """The functional graph of ``model``; a built Sequential keeps one inside."""
    graph = model._functional if isinstance(model, keras.Sequential) else model
    if not hasattr(graph, "_run_through_graph"):
        raise TypeError(
            f"{model.name} is not a functional Keras model (subclassed models have no graph)"
        )
    return graph


def layer_flops(model: keras.Model) -> dict[str, int]:
    """Floating-point operations per example of each top-level layer, as TensorFlow counts them.

    The model is traced once as a ``tf.function`` with batch size 1 and the graph is handed to
    ``tf.compat.v1.profiler`` (``ProfileOptionBuilder.float_operation()``). Its convention: a
    multiply-add is 2 ops (MatMul ``2*k*outputs``, Conv2D ``2*kh*kw*cin*outputs``), BiasAdd and
    elementwise Add/Mul/Sub 1 per output element, Rsqrt 2, Softmax 5 per element, MaxPool/AvgPool
    the kernel area per output element, Mean 1 per input element; ops it has no rule for (Relu,
    Exp, Sigmoid, Tanh, ...) count 0. With batch 1, per-batch work counts once per example (e.g.
    BatchNormalization folding its statistics: 6 ops per channel on top of 2 per element).

    Attribution: Keras 3 names a layer's ops by a graph-uniquified scope (layer ``dense`` becomes
    ``dense_1/``, layer ``dense_1`` becomes ``dense_1_2/``), so layer names can't be read back
    from op names. Each layer call is therefore wrapped in a scope of our own (``cost.<k>/``).
    FLOPs outside every layer, and ops whose bodies the profiler does not see (``If``, ``While``,
    function calls, e.g. from ``keras.ops.cond``), are logged as a warning and not invented.
    """
    graph_model = _functional(model)
    callers: dict[str, str] = {}  # our scope -> layer name

    def scoped(operation: Any) -> Callable[..., Any]:
        """Run ``operation`` in inference mode, as Functional.call does, inside a known scope."""

        def call(*args: Any, **kwargs: Any) -> Any:
            if "training" in getattr(operation, "_call_context_args", ()):
                kwargs["training"] = False
            scope = f"{_SCOPE}{len(callers)}"
            callers[scope] = operation.name
            with tf.name_scope(scope + "/"):  # a trailing "/" is taken as is, never uniquified
                return operation(*args, **kwargs)

        return call

    specs = []
    for tensor in graph_model.inputs:
        if any(dim is None for dim in tensor.shape[1:]):
            raise ValueError(f"input {tensor.name} has an unknown size {tensor.shape}: no FLOPs")
        specs.append(tf.TensorSpec((1, *tensor.shape[1:]), tensor.dtype))
    forward = tf.function(
        lambda *xs: graph_model._run_through_graph(list(xs), operation_fn=scoped),
        autograph=False,
    )
    graph = forward.get_concrete_function(*specs).graph
    options = (
        tf.compat.v1.profiler.ProfileOptionBuilder(
            tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        )
        .with_empty_output()
        .build()
    )
    tf_log = logging.getLogger("tensorflow")
    level = tf_log.level
    tf_log.setLevel(logging.ERROR)  # the profiler calls a deprecated TF1 shape helper, says so
    try:
        profile = tf.compat.v1.profiler.profile(graph=graph, options=options)
    finally:
        tf_log.setLevel(level)

    flops = {layer.name: 0 for layer in model.layers}
    stray: dict[str, int] = {}
    pending = list(profile.children)
    while pending:
        node = pending.pop()
        pending.extend(node.children)
        if node.float_ops:
            layer = callers.get(node.name.split("/", 1)[0])
            if layer is None:
                stray[node.name] = node.float_ops
            else:
                flops[layer] = flops.get(layer, 0) + node.float_ops
    if stray:
        log.warning("%d FLOPs outside any layer are not counted: %s", sum(stray.values()), stray)
    # Our failure layers (gates, the mux, failout) branch on the alive mask; their arithmetic
    # is at most one elementwise product per value, so leaving it out is not worth a warning.
    ours = {layer.name for layer in model.layers if isinstance(layer, FAILURE_LAYERS)}
    opaque = sorted(
        {
            callers.get(op.name.split("/", 1)[0], op.name)
            for op in graph.get_operations()
            if op.type in _OPAQUE_OPS
        }
        - ours
    )
    if opaque:
        log.warning("FLOPs inside control flow or function calls are not counted in: %s", opaque)
    return flops


def output_bytes(model: keras.Model, layer_name: str) -> int:
    """Bytes per example of the layer's output: what a link carries when the model is cut there."""
    tensor = _cut_tensor(model, layer_name)
    return math.prod(_example_shape(tensor, layer_name)) * tf.as_dtype(tensor.dtype).size


def _cut_node(model: keras.Model, layer_name: str) -> Any:
    """The layer's call in ``model``'s graph. Not ``layer.output``: a nested model's is the
    output of its own inner graph, and a layer used in several models has several."""
    model.get_layer(layer_name)  # the usual error for a name that is not there
    nodes = [
        node
        for depth in _functional(model)._nodes_by_depth.values()
        for node in depth
        if node.operation is not None and node.operation.name == layer_name
    ]
    if len(nodes) != 1:
        raise ValueError(f"layer {layer_name} runs {len(nodes)} times in the model; a cut needs 1")
    return nodes[0]


def _cut_tensor(model: keras.Model, layer_name: str) -> Any:
    outputs = _cut_node(model, layer_name).outputs
    if len(outputs) != 1:
        raise ValueError(f"layer {layer_name} has {len(outputs)} outputs; a cut sends exactly one")
    return outputs[0]


def _example_shape(tensor: Any, layer_name: str) -> tuple[int, ...]:
    shape = tuple(tensor.shape[1:])
    if any(dim is None for dim in shape):
        raise ValueError(f"layer {layer_name} has an output of unknown size {tensor.shape}")
    return shape


def _ancestors(call: Any) -> set[str]:
    """Names of the layers that a layer's ``call`` (a Keras node) depends on, its own included."""
    pending = [call]
    seen: set[int] = set()
    names: set[str] = set()
    while pending:
        node = pending.pop()
        if id(node) not in seen:
            seen.add(id(node))
            names.add(node.operation.name)
            pending.extend(node.parent_nodes)
    return names


@dataclass(frozen=True)
class CutCost:
    """One cut point: what crosses it per example, and the work done up to it."""

    layer: str
    shape: tuple[int, ...]  # without the batch dimension
    bytes_per_example: int
    cumulative_flops: int  # the cut layer and every layer it depends on


def cut_costs(
    model: keras.Model, cut_layers: Sequence[str], flops: Mapping[str, int] | None = None
) -> list[CutCost]:
    """The cost of each cut point, in the given order; ``flops`` defaults to ``layer_flops``.

    A cut's cumulative FLOPs sum its ancestors in the graph: for a valid cut they are exactly
    the layers that run before the link, whatever order ``model.layers`` lists them in.
    """
    if flops is None:
        flops = layer_flops(model)
    costs = []
    for name in cut_layers:
        ancestors = _ancestors(_cut_node(model, name))
        costs.append(
            CutCost(
                layer=name,
                shape=_example_shape(_cut_tensor(model, name), name),
                bytes_per_example=output_bytes(model, name),
                cumulative_flops=sum(flops.get(layer, 0) for layer in ancestors),
            )
        )
    return costs


def total_flops(flops: Mapping[str, int]) -> int:
    """FLOPs per example of the whole model (every layer of a functional model feeds an output)."""
    return sum(flops.values())


def suggest(
    costs: Sequence[CutCost],
    nodes: Sequence[str],
    total_flops: int,
    *,
    max_link_bytes: int | None,
    max_flops: Mapping[str, int],
) -> dict[str, str] | None:
    """One cut per node of ``nodes`` (the chain in order, the output node left out), or None.

    Cuts are taken strictly in order along ``costs`` (topological order). Constraints: every
    chosen cut sends at most ``max_link_bytes`` per example; a node in ``max_flops`` computes at
    most its limit, a node's FLOPs being its cut's cumulative FLOPs minus the previous node's.
    One key of ``max_flops`` outside ``nodes`` is the output node's limit, checked against
    ``total_flops`` minus the last cut's cumulative FLOPs.

    Objective: minimise the bytes per example sent over the chain's links (the sum of the chosen
    cuts' bytes); among equals, prefer more computation early: the larger cumulative FLOPs on
    the first node, then on the second, and so on (then the later cut, so that a free layer
    such as ReLU runs early too). Exact, by dynamic programming over (node, previous cut).
    """
    extra = [node for node in max_flops if node not in nodes]
    if len(extra) > 1:
        raise ValueError(
            f"FLOP limits for unknown nodes {extra}; only the output node may be added"
        )
    output_limit = max_flops[extra[0]] if extra else None
    link_ok = [max_link_bytes is None or c.bytes_per_example <= max_link_bytes for c in costs]

    @cache
    def best(position: int, previous: int) -> _Plan | None:
        """Cheapest cuts for ``nodes[position:]`` after cut ``previous`` (-1: none yet)."""
        done = costs[previous].cumulative_flops if previous >= 0 else 0
        if position == len(nodes):
            fits = output_limit is None or total_flops - done <= output_limit
            return (0, (), ()) if fits else None
        limit = max_flops.get(nodes[position])
        options = []
        for index in range(previous + 1, len(costs) - (len(nodes) - position - 1)):
            cost = costs[index]
            if not link_ok[index] or (limit is not None and cost.cumulative_flops - done > limit):
                continue
            rest = best(position + 1, index)
            if rest is not None:
                key = (-cost.cumulative_flops, -index, *rest[1])
                options.append((cost.bytes_per_example + rest[0], key, (index, *rest[2])))
        return min(options, default=None)

    plan = best(0, -1)
    if plan is None:
        return None
    return {node: costs[index].layer for node, index in zip(nodes, plan[2], strict=True)}


def default_budget(total_flops: int) -> int:
    """The FLOPs per example the input node may compute when no limit names it."""
    return total_flops * INPUT_NODE_PERCENT // 100


def with_default_budget(
    max_flops: Mapping[str, int], input_node: str, total_flops: int
) -> dict[str, int]:
    """``max_flops`` plus the input node's default budget, unless ``max_flops`` names it."""
    return {input_node: default_budget(total_flops), **max_flops}


def node_flops(
    costs: Sequence[CutCost], plan: Mapping[str, str], output_node: str, total_flops: int
) -> dict[str, int]:
    """FLOPs per example each node computes under ``plan`` (node -> cut, in chain order): its
    cut's cumulative FLOPs minus the previous cut's; the output node computes the rest."""
    cumulative = {cost.layer: cost.cumulative_flops for cost in costs}
    own, done = {}, 0
    for node, layer in plan.items():
        own[node], done = cumulative[layer] - done, cumulative[layer]
    own[output_node] = total_flops - done
    return own


def crowded(flops_by_node: Mapping[str, int], total_flops: int) -> list[str]:
    """The nodes that compute most (over half) of the FLOPs: a split that hardly splits."""
    return [node for node, flops in flops_by_node.items() if 2 * flops > total_flops]


def human_flops(value: int) -> str:
    """``value`` FLOPs with a decimal prefix, e.g. 12.3 MFLOPs."""
    return _human(value, "FLOPs", 1000, ["", "k", "M", "G", "T"])


def _human(value: int, unit: str, base: int, prefixes: Sequence[str]) -> str:
    """``value`` with the largest prefix that keeps it at or above 1, to one decimal."""
    if value < base:
        return f"{value} {unit}"
    scaled = float(value)
    for prefix in prefixes[1:]:
        scaled /= base
        if scaled < base or prefix == prefixes[-1]:
            break
    return f"{scaled:.1f} {prefix}{unit}"


def format_table(
    costs: Sequence[CutCost],
    total_flops: int,
    suggestion: Mapping[str, str] | None = None,
) -> str:
    """Plain-text table of the cut points for ``resilinet partition``; ``suggestion`` (node ->
    cut layer) adds a column naming the node that ends at each chosen cut."""
    ends = {layer: node for node, layer in (suggestion or {}).items()}
    headers = ["layer", "output shape", "bytes/example", "cumulative FLOPs", "% of total"]
    if suggestion is not None:
        headers.append("node ends")
    rows = []
    for cost in costs:
        size = _human(cost.bytes_per_example, "B", 1024, ["", "Ki", "Mi", "Gi"])
        row = [
            cost.layer,
            "x".join(map(str, cost.shape)),
            size if cost.bytes_per_example < 1024 else f"{size} ({cost.bytes_per_example} B)",
            human_flops(cost.cumulative_flops),
            f"{100 * cost.cumulative_flops / total_flops:.1f}%" if total_flops else "-",
        ]
        if suggestion is not None:
            row.append(ends.get(cost.layer, ""))
        rows.append(row)
    return tabulate(rows, headers, disable_numparse=True)


@dataclass(frozen=True)
class NodeCosts:
    """What a partitioned model costs on each physical device and link, per example.

    The devices are the topology's nodes, each followed by its standby replicas (``edge_r2``):
    a standby runs on a device of its own, so it is a column of its own.
    """

    params: dict[str, int]  # device -> trainable and non-trainable weights it holds
    flops: dict[str, int]  # device -> FLOPs it computes (``layer_flops``' convention)
    link_bytes: dict[tuple[str, str], int]  # (src, dst) -> bytes the link carries
    standbys: tuple[str, ...] = ()  # the devices beyond the topology's nodes: standby replicas


def devices(nodes: Sequence[str], replicas: Sequence[tuple[str, str]] = ()) -> list[str]:
    """The nodes in order, each followed by its standby replicas ((column, primary) pairs)."""
    return [
        device
        for node in nodes
        for device in (node, *(column for column, primary in replicas if primary == node))
    ]


def node_costs(model: keras.Model, topology: Any) -> NodeCosts:
    """Parameters and FLOPs per device, bytes per link, of a model built with stack markers.

    A device is a node or a standby replica (``devices``), each with its own ``<device>_stack_in``
    ... ``<device>_stack_out`` markers. A layer belongs to the device whose ``<device>_stack_out``
    it feeds and whose upstream devices' markers it does not (so a mux, a hyperconnection, a
    ``ReplicaSwitch`` and a stand-in's generator sit at their receiver, and a standby's layers,
    its ``PadChannels`` included, at the standby). An exit head (``<node>_exit``,
    ``<node>_exit_pool``, ``<node>_exit_flatten``) runs at its node; any other layer past every
    marker (the final classifier) runs at the output node. A link ``src -> dst`` of ``topology``
    carries ``src``'s stack output (a standby sends the same shape, zero-padded).
    """
    names = devices(topology.nodes, topology.replicas)
    ancestors = {n: _ancestors(_cut_node(model, f"{n}_stack_out")) for n in names}
    owner: dict[str, str] = {}
    for device in names:
        upstream = [m for m in names if m != device and f"{m}_stack_out" in ancestors[device]]
        below = set().union(*(ancestors[m] for m in upstream))
        owner.update({layer: device for layer in ancestors[device] - below})
    for node in topology.nodes:  # exit heads run where their node computes
        for suffix in ("exit", "exit_pool", "exit_flatten"):
            owner[f"{node}_{suffix}"] = node
    flops = layer_flops(model)
    params = dict.fromkeys(names, 0)
    work = dict.fromkeys(names, 0)
    for layer in model.layers:
        device = owner.get(layer.name, topology.output_node)
        params[device] += layer.count_params()
        work[device] += flops.get(layer.name, 0)
    link_bytes = {
        (link.src, link.dst): output_bytes(model, f"{link.src}_stack_out")
        for link in topology.links
    }
    standbys = tuple(device for device in names if device not in topology.nodes)
    return NodeCosts(params, work, link_bytes, standbys)
