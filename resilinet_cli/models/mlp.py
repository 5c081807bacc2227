"""The Health MLP (docs/method.md §2.2): Dense ReLU layers split over the physical nodes.

Layer names follow the reference code: a node with several layers has ``<node>_input_layer``,
``<node>_layer_<k>`` and ``<node>_output_layer``; the output node's stack ends in ``output``.
Skip hyperconnections from a node of another width pass through a linear Dense projection named
``skip_<src><dst>`` (``skip_iotfog2`` in the Health topology), which lives on the sending node.
"""

from __future__ import annotations

from typing import Any

import keras

from resilinet_cli.config import ModelConfig
from resilinet_cli.config.families import FAMILIES
from resilinet_cli.layers import PadChannels
from resilinet_cli.topology import Link, Topology


class MLPFamily:
    """Per-node layer stacks of the MLP; `build_model` wires them with the topology."""

    def __init__(
        self,
        hidden_units: int,
        layers_per_node: dict[str, int],
        output_node: str,
        num_classes: int,
        devices: tuple[str, ...] = (),
    ) -> None:
        self.hidden_units = hidden_units
        self.layers_per_node = layers_per_node
        self.output_node = output_node
        self.num_classes = num_classes
        self.shared_device: Any = None  # the devices' one set of layers, with topology.shared
        self.devices = devices  # a fan-in topology's input devices

    def layer_names(self, node: str) -> list[str]:
        count = self.layers_per_node[node]
        if node == self.output_node:
            return [f"{node}_input_layer"] + [f"{node}_layer_{k}" for k in range(1, count)]
        if count == 1:
            return [f"{node}_output_layer"]
        middle = [f"{node}_layer_{k}" for k in range(1, count - 1)]
        return [f"{node}_input_layer", *middle, f"{node}_output_layer"]

    def input_node(self, features: Any) -> Any:
        """The IoT node sends its raw features (flattened, for image data)."""
        if len(features.shape) > 2:
            return keras.layers.Flatten(name="iot_flatten")(features)
        return features

    def device(self, device: str, x: Any, shared: bool) -> Any:
        """A fan-in topology's device: Dense ReLU layers of its own on its columns (one unless
        ``layers_per_node`` gives the device another count), or, with ``shared``, one set
        that every device runs."""
        if len(x.shape) > 2:
            x = keras.layers.Flatten(name=f"{device}_flatten")(x)
        count = self.layers_per_node.get(device, 1)
        if not shared:
            for k in range(1, count + 1):
                dense = keras.layers.Dense(
                    self.hidden_units, activation="relu", name=f"{device}_layer_{k}"
                )
                x = dense(x)
            return x
        if self.shared_device is None:
            view = keras.Input(tuple(x.shape[1:]), name="device_view")
            y = view
            for k in range(1, count + 1):
                dense = keras.layers.Dense(
                    self.hidden_units, activation="relu", name=f"device_layer_{k}"
                )
                y = dense(y)
            self.shared_device = keras.Model(view, y, name="device")
        return self.shared_device(x)

    def node(self, node: str, x: Any) -> Any:
        for name in self.layer_names(node):
            x = keras.layers.Dense(self.hidden_units, activation="relu", name=name)(x)
        if node == self.output_node:
            x = keras.layers.Dense(self.num_classes, activation="softmax", name="output")(x)
        return x

    def standby(self, node: str, replica: str, x: Any, width: float) -> Any:
        """A standby of ``node``: its layers named after ``replica``, each ``width`` as wide,
        the output zero-padded to the primary's width."""
        units = max(1, round(self.hidden_units * width))
        for name in self.layer_names(node):
            name = replica + name.removeprefix(node)
            x = keras.layers.Dense(units, activation="relu", name=name)(x)
        if units < self.hidden_units:
            x = PadChannels(self.hidden_units, name=f"{replica}_pad")(x)
        return x

    def skip_projection(self, link: Link, x: Any, chain_input: Any) -> Any:
        """Project a skip input to the width of the chain input it is merged with."""
        if x.shape[-1] == chain_input.shape[-1]:
            return x
        return keras.layers.Dense(chain_input.shape[-1], name=f"skip_{link.src}{link.dst}")(x)

    def failure_layers(self, node: str) -> list[str]:
        """Layers the reference code zeroes to fail ``node``: its last Dense (kernel and bias);
        a device's, its own last Dense layer."""
        if node in self.devices:
            return [f"{node}_layer_{self.layers_per_node.get(node, 1)}"]
        return [self.layer_names(node)[-1]]


def build_family(
    config: ModelConfig,
    topology: Topology,
    num_classes: int,
    input_shape: tuple[int, ...],
    *,
    hyperconnected: bool = True,
) -> MLPFamily:
    """The MLP's node stacks for ``topology`` (the variant's own); any input is flattened.

    ``hyperconnected`` (whether the variant has skips) changes nothing here: the MLP's shapes
    never depend on it.
    """
    receivers = topology.receivers
    if isinstance(config.layers_per_node, int):
        layers = dict.fromkeys(receivers, config.layers_per_node)
    elif config.layers_per_node is not None:
        layers = dict(config.layers_per_node)
    else:
        layers = dict(zip(receivers, FAMILIES["mlp"].partitions[config.partition], strict=True))
    return MLPFamily(
        config.hidden_units, layers, topology.output_node, num_classes, topology.devices
    )
