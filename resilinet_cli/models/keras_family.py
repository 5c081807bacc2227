"""The ``keras`` family: a user's Keras network cut at named layers into the topology's nodes.

``model.cut`` names the last layer of every node but the output node, in topology order; the
output node runs the rest. Each node's layers are clones of the network's (same names, same
weights), so every part of the tool (variants, failout, sweeps, estimators, ablations) works on
the result as on the paper's families (docs/byom.md).

Skip hyperconnections between outputs of different shapes get a projection on the link:

- feature maps: a 1x1 convolution without bias, ``filters`` of the chain input it joins, stride
  ceil(source size / target size) per axis, padding valid; where the sizes do not divide, the
  result is zero-padded at the end (bottom, right) up to the target size;
- a flat target: a Dense layer without bias (a feature map is flattened first);
- a flat source into a feature map: a Dense layer without bias to the map's size, reshaped.

No projection has a bias: a failed sender's output is exactly zero, and under an ``add`` merge
its link must then deliver zeros, not a learnt constant.

``model.layer_config`` changes the config of every layer of a class in the cut network, e.g.
``{BatchNormalization: {momentum: 0.9}}`` for short runs (Keras' MobileNetV2 uses 0.999, whose
inference statistics lag far behind a few thousand steps).

The projection is named ``skip_hyperconnection_<src><dst>``, as in the MobileNet family. Unlike
that family, the chain is never padded: a user's network keeps its own shapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras

from resilinet_cli.config import ModelConfig
from resilinet_cli.errors import unknown_choice
from resilinet_cli.models.cuts import LayerGraph, reserved_names
from resilinet_cli.models.keras_source import NetworkError, load_network
from resilinet_cli.topology import Link, Topology

CONVOLUTIONS = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D, 3: keras.layers.Conv3D}
PADDINGS = {
    1: keras.layers.ZeroPadding1D,
    2: keras.layers.ZeroPadding2D,
    3: keras.layers.ZeroPadding3D,
}


def chosen_cut(model: ModelConfig) -> tuple[dict[str, str], str]:
    """The node→layer mapping of the config's partition setting, and its config key."""
    if isinstance(model.cut, list):
        return model.cut[model.partition - 1], f"model.cut[{model.partition - 1}]"
    return model.cut, "model.cut"


class KerasFamily:
    """Replays each node's share of the network; `build_model` wires the nodes."""

    def __init__(
        self,
        graph: LayerGraph,
        cuts: dict[str, int],
        topology: Topology,
        layer_config: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.graph = graph
        self.layer_config = layer_config or {}
        self.topology = topology
        self.ends = {**cuts, topology.output_node: graph.output}  # last call of each node
        self.starts = {topology.input_node: graph.input}
        self.clones: dict[int, keras.Layer] = {}
        for previous, node in zip(topology.nodes, topology.nodes[1:], strict=False):
            self.starts[node] = self.ends[previous]

    def input_node(self, features: Any) -> Any:
        return self.node(self.topology.input_node, features)

    def node(self, node: str, x: Any) -> Any:
        if self.starts[node] == self.ends[node]:  # the IoT node sends its raw input
            return x
        start, end = self.starts[node], self.ends[node]
        return self.graph.replay(start, end, x, self.clones, self.layer_config)

    def skip_projection(self, link: Link, x: Any, chain_input: Any) -> Any:
        return project(f"skip_hyperconnection_{link.src}{link.dst}", x, chain_input)

    def failure_layers(self, node: str) -> list[str]:
        """The reference code's weight zeroing fails a node only in the paper's families,
        whose last layers it knows; an arbitrary network has no such layer."""
        raise NotImplementedError("weight zeroing applies to the paper's model families only")


def project(name: str, x: Any, target: Any) -> Any:
    """``x`` shaped like ``target`` (per example), by the rule in this module's docstring."""
    source, goal = tuple(x.shape[1:]), tuple(target.shape[1:])
    if source == goal:
        return x
    if None in source or None in goal:
        raise NetworkError("model", f"{name}: needs fixed shapes, got {source} and {goal}")
    if len(goal) == 1:
        if len(source) > 1:
            x = keras.layers.Flatten(name=f"{name}_flatten")(x)
        return keras.layers.Dense(goal[0], use_bias=False, name=name)(x)
    if len(source) == 1:
        x = keras.layers.Dense(math.prod(goal), use_bias=False, name=name)(x)
        return keras.layers.Reshape(goal, name=f"{name}_reshape")(x)
    if len(source) != len(goal) or len(goal) - 1 not in CONVOLUTIONS:
        raise NetworkError("model", f"{name}: cannot project a {source} map onto {goal}")
    axes = len(goal) - 1
    strides = tuple(math.ceil(s / g) for s, g in zip(source[:-1], goal[:-1], strict=True))
    x = CONVOLUTIONS[axes](
        goal[-1], 1, strides=strides, padding="valid", use_bias=False, name=name
    )(x)
    extra = [g - s for s, g in zip(x.shape[1:-1], goal[:-1], strict=True)]
    if any(extra):
        padding = (0, extra[0]) if axes == 1 else tuple((0, e) for e in extra)
        x = PADDINGS[axes](padding, name=f"{name}_pad")(x)
    return x


def check_network(
    model: ModelConfig, topology: Topology, input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
) -> tuple[LayerGraph, dict[str, int]]:  # fmt: skip
    """Load the network and check it against the cuts, the topology and (if given) the data."""
    network = load_network(model)
    graph = LayerGraph(network)
    cut, key = chosen_cut(model)
    cut = {node: cut[node] for node in topology.nodes[:-1]}  # a YAML dump may sort the keys
    cuts = dict(zip(cut, graph.check_cuts(cut, key), strict=True))
    clash = sorted(reserved_names(topology.nodes, topology.links) & {c.name for c in graph.calls})
    if clash:
        raise NetworkError("model", f"layer names {', '.join(clash)} are taken by resilinet's "
                           "own layers; rename them in the network")  # fmt: skip
    _check_output(graph)
    _check_layer_config(graph, model.layer_config)
    if input_shape is not None:
        expected = tuple(network.inputs[0].shape[1:])
        if expected != tuple(input_shape):
            raise NetworkError(
                "model",
                f"the network takes inputs of shape {expected}, the dataset gives "
                f"{tuple(input_shape)}; change the network's input shape or set "
                "dataset.image_size and dataset.channels",
            )
    classes = network.outputs[0].shape[-1]
    if num_classes is not None and classes != num_classes:
        raise NetworkError(
            "model", f"the network predicts {classes} classes, the dataset has {num_classes}"
        )
    return graph, cuts


def _check_layer_config(graph: LayerGraph, layer_config: dict[str, dict[str, Any]]) -> None:
    """Each class ``model.layer_config`` names is in the network and takes the keys given."""
    layers = {type(call.layer).__name__: call.layer for call in graph.calls}
    for name, changes in layer_config.items():
        key = f"model.layer_config.{name}"
        if name not in layers:
            raise NetworkError(key, unknown_choice("layer class", name, sorted(layers)))
        try:
            type(layers[name]).from_config({**layers[name].get_config(), **changes})
        except (TypeError, ValueError) as error:
            raise NetworkError(key, str(error).splitlines()[0]) from None


def _check_output(graph: LayerGraph) -> None:
    """The tool trains with cross-entropy on probabilities: the network must end in a softmax."""
    layer = graph.calls[graph.output].layer
    activation = getattr(layer, "activation", None)
    if isinstance(layer, keras.layers.Softmax) or getattr(activation, "__name__", "") == "softmax":
        return
    raise NetworkError(
        "model",
        f"the network's last layer '{layer.name}' does not end in a softmax; resilinet trains "
        "and scores class probabilities",
    )


def build_family(
    config: ModelConfig,
    topology: Topology,
    num_classes: int,
    input_shape: tuple[int, ...],
    *,
    hyperconnected: bool = True,
) -> KerasFamily:
    """The network's node shares for ``topology``; ``hyperconnected`` changes nothing (the
    chain's shapes are the network's own)."""
    graph, cuts = check_network(config, topology, input_shape, num_classes)
    return KerasFamily(graph, cuts, topology, config.layer_config)
