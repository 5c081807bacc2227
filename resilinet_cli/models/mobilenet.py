"""MobileNet-v1 split over physical nodes (docs/method.md §2.3 CIFAR-10, §2.5 ImageNet).

Built from Keras layers with the layer names of ``keras.applications.MobileNet``: ``conv1`` after
an asymmetric ((0,1),(0,1)) zero-padding with valid padding, then depthwise blocks ``conv_dw_i``
/ ``conv_pw_i`` (stride-2 blocks padded ((0,1),(0,1)) first), and the top ``conv_preds``.

- ``strides: cifar`` keeps stride 1 in ``conv1`` and block 2 (32x32 inputs); ``standard`` is the
  ImageNet network.
- A skip hyperconnection is a trainable 1x1 convolution without bias, named
  ``skip_hyperconnection_<src><dst>``. Its stride is the downsampling of the nodes it skips and
  its filters match the chain input it joins: 96 filters, stride 1 for IoT→fog and 384 filters,
  stride 4 for edge→cloud on CIFAR (stride 2 and 4 on ImageNet).
- Padding rule. In a variant with skip hyperconnections (deepFogGuard, ResiliNet, ResiliNet+),
  each node's output is zero-padded ((0,k),(0,k)) up to the largest projection that a skip from
  *any* earlier node into the next node would have, whether the topology has that skip or not.
  On CIFAR this pads the fog's 7x7 to the edge->cloud projection's 8x8, so the cloud sees
  8x8x384 (alpha 0.75) in every skip subset of an ablation: the reference code pads whenever it
  uses the CIFAR strides and removes a skip by weighting it 0, so its cloud never changes shape.
  Vanilla, which the reference never pads, keeps 7x7x384. ImageNet's 160x160 and 224x224 inputs
  divide evenly and get no padding. A 1x1 projection of stride s gives ceil(size / s), and
  ceil(ceil(a / b) / c) = ceil(a / (b c)), so every skip into a node, from whichever earlier
  node, projects to the same size: the padded chain input's.
"""

from __future__ import annotations

import math
from typing import Any

import keras

from resilinet_cli.config import ModelConfig
from resilinet_cli.config.families import FAMILIES
from resilinet_cli.layers import PadChannels
from resilinet_cli.topology import Link, Topology

# (pointwise filters before alpha, stride) of depthwise blocks 1..13 (keras.applications).
BLOCKS = [
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
]  # fmt: skip
CIFAR_STRIDE_ONE = {"conv1", 2}  # docs/method.md §2.3: strides (1,1) for conv1 and block 2


class MobileNetFamily:
    """Per-node MobileNet stacks; `build_model` wires them with the topology."""

    def __init__(
        self,
        topology: Topology,
        blocks_per_node: dict[str, list[int]],
        *,
        alpha: float,
        depth_multiplier: int,
        dropout: float,
        cifar_strides: bool,
        num_classes: int,
        bn_momentum: float = 0.99,
        hyperconnected: bool = True,
    ) -> None:
        self.topology = topology
        self.blocks_per_node = blocks_per_node
        self.alpha = alpha
        self.depth_multiplier = depth_multiplier
        self.dropout = dropout
        self.cifar_strides = cifar_strides
        self.num_classes = num_classes
        self.bn_momentum = bn_momentum
        self.hyperconnected = hyperconnected  # the variant has skips (Vanilla: False)
        self.node_stride: dict[str, int] = {}
        self.node_size: dict[str, int] = {}
        self.shared_device: Any = None  # the devices' one stem, with topology.shared

    def block_stride(self, block: int | str) -> int:
        if self.cifar_strides and block in CIFAR_STRIDE_ONE:
            return 1
        return 2 if block == "conv1" else BLOCKS[block - 1][1]

    def input_node(self, features: Any) -> Any:
        """conv1 (and any blocks the partition places on the IoT node)."""
        return self._stem(features)

    def _stem(self, x: Any, prefix: str = "") -> Any:
        """conv1 and the input node's blocks, their names after ``prefix`` (a device's)."""
        node = self.topology.input_node
        stride = self.block_stride("conv1")
        x = keras.layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"{prefix}conv1_pad")(x)
        x = keras.layers.Conv2D(
            int(32 * self.alpha),
            3,
            strides=stride,
            padding="valid",
            use_bias=False,
            name=f"{prefix}conv1",
        )(x)
        x = keras.layers.BatchNormalization(momentum=self.bn_momentum, name=f"{prefix}conv1_bn")(x)
        x = keras.layers.ReLU(6.0, name=f"{prefix}conv1_relu")(x)
        for block in self.blocks_per_node[node]:
            x = self._depthwise_block(x, block, prefix=prefix)
            stride *= self.block_stride(block)
        self.node_stride[node] = stride
        self.node_size[node] = x.shape[1]
        return x

    def device(self, device: str, x: Any, shared: bool) -> Any:
        """A fan-in topology's device: the input node's layers on its view, its own or (with
        ``shared``) one set for every device."""
        if not shared:
            return self._stem(x, prefix=f"{device}_")
        if self.shared_device is None:
            view = keras.Input(tuple(x.shape[1:]), name="device_view")
            self.shared_device = keras.Model(view, self._stem(view, "device_"), name="device")
        return self.shared_device(x)

    def node(self, node: str, x: Any) -> Any:
        x = self._blocks(node, x)
        if node == self.topology.output_node:
            return self._top(x)
        x = self._pad_for_skips(node, x)
        self.node_size[node] = x.shape[1]  # what a skip from this node will project
        return x

    def skip_projection(self, link: Link, x: Any, chain_input: Any) -> Any:
        """1x1 conv: filters of the chain input, stride = downsampling of the skipped nodes."""
        order = self.topology.nodes[len(self.topology.devices) :]
        skipped = order[order.index(link.src) + 1 : order.index(link.dst)]
        stride = math.prod(self.node_stride[n] for n in skipped)
        return keras.layers.Conv2D(
            chain_input.shape[-1],
            1,
            strides=stride,
            padding="valid",
            use_bias=False,
            name=f"skip_hyperconnection_{link.src}{link.dst}",
        )(x)

    def failure_layers(self, node: str) -> list[str]:
        """The reference code fails a node by zeroing its last BN (``conv_pw_<i>_bn``); a
        device of a fan-in topology, its own stem's last BN (so a dead device sends zeros)."""
        if node in self.topology.devices:
            blocks = self.blocks_per_node[self.topology.input_node]
            return [f"{node}_conv_pw_{blocks[-1]}_bn" if blocks else f"{node}_conv1_bn"]
        return [f"conv_pw_{self.blocks_per_node[node][-1]}_bn"]

    def _blocks(self, node: str, x: Any, initial_stride: int = 1) -> Any:
        stride = initial_stride
        for block in self.blocks_per_node[node]:
            x = self._depthwise_block(x, block)
            stride *= self.block_stride(block)
        self.node_stride[node] = stride
        self.node_size[node] = x.shape[1]
        return x

    def _depthwise_block(self, x: Any, block: int, prefix: str = "", width: float = 1.0) -> Any:
        """Depthwise block ``block``; a standby's (``prefix`` ``edge_r2_``) has ``width`` of its
        pointwise filters."""
        filters = max(1, int(int(BLOCKS[block - 1][0] * self.alpha) * width))
        stride = self.block_stride(block)
        name = f"{prefix}conv"
        if stride > 1:
            x = keras.layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"{name}_pad_{block}")(x)
        x = keras.layers.DepthwiseConv2D(
            3,
            strides=stride,
            padding="same" if stride == 1 else "valid",
            depth_multiplier=self.depth_multiplier,
            use_bias=False,
            name=f"{name}_dw_{block}",
        )(x)
        x = keras.layers.BatchNormalization(
            momentum=self.bn_momentum, name=f"{name}_dw_{block}_bn"
        )(x)
        x = keras.layers.ReLU(6.0, name=f"{name}_dw_{block}_relu")(x)
        x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw_{block}")(x)
        x = keras.layers.BatchNormalization(
            momentum=self.bn_momentum, name=f"{name}_pw_{block}_bn"
        )(x)
        return keras.layers.ReLU(6.0, name=f"{name}_pw_{block}_relu")(x)

    def standby(self, node: str, replica: str, x: Any, width: float) -> Any:
        """A standby of ``node`` (built after it): its blocks named after ``replica``, ``width``
        of each block's filters, zero-padded to the primary's channels and spatial size."""
        for block in self.blocks_per_node[node]:
            x = self._depthwise_block(x, block, prefix=f"{replica}_", width=width)
        channels = int(BLOCKS[self.blocks_per_node[node][-1] - 1][0] * self.alpha)
        if x.shape[-1] < channels:
            x = PadChannels(channels, name=f"{replica}_pad")(x)
        extra = self.node_size[node] - x.shape[1]
        if extra > 0:
            padding = ((0, extra), (0, extra))
            x = keras.layers.ZeroPadding2D(padding, name=f"{replica}_output_pad")(x)
        return x

    def _pad_for_skips(self, node: str, x: Any) -> Any:
        """Zero-pad ``node``'s output up to the largest projection a skip into the next node
        could have.

        Every earlier node counts, not only the topology's skips: the chain's shapes then do
        not depend on which skips a skip-sensitivity subset keeps. Vanilla is never padded.
        """
        if not self.hyperconnected:
            return x
        order = self.topology.nodes[len(self.topology.devices) :]  # from the input (hub) on
        here = order.index(node)
        target = x.shape[1]
        for i, src in enumerate(order[:here]):
            stride = math.prod(self.node_stride[n] for n in order[i + 1 : here + 1])
            target = max(target, (self.node_size[src] - 1) // stride + 1)
        extra = target - x.shape[1]
        if extra <= 0:
            return x
        return keras.layers.ZeroPadding2D(((0, extra), (0, extra)), name=f"{node}_output_pad")(x)

    def _top(self, x: Any) -> Any:
        """GAP, dropout, 1x1 ``conv_preds`` and softmax, as in keras.applications."""
        channels = x.shape[-1]
        x = keras.layers.GlobalAveragePooling2D(name="global_average_pooling")(x)
        x = keras.layers.Reshape((1, 1, channels), name="reshape_1")(x)
        x = keras.layers.Dropout(self.dropout, name="dropout")(x)
        x = keras.layers.Conv2D(self.num_classes, 1, padding="same", name="conv_preds")(x)
        x = keras.layers.Reshape((self.num_classes,), name="reshape_2")(x)
        return keras.layers.Activation("softmax", name="predictions")(x)


def build_family(
    config: ModelConfig,
    topology: Topology,
    num_classes: int,
    input_shape: tuple[int, ...],
    *,
    hyperconnected: bool = True,
) -> MobileNetFamily:
    """Assign blocks 1..13 to the nodes after the input following the partition setting.

    ``hyperconnected`` says whether the variant has skip hyperconnections at all (Vanilla does
    not); it decides the padding, which must not depend on the subset of skips ``topology`` has.
    """
    counts = FAMILIES["mobilenet"].partitions[config.partition]
    first = len(BLOCKS) - sum(counts) + 1  # blocks before `first` stay on the IoT node
    blocks = {topology.input_node: list(range(1, first))}
    for node, count in zip(topology.receivers, counts, strict=True):
        blocks[node] = list(range(first, first + count))
        first += count
    return MobileNetFamily(
        topology,
        blocks,
        alpha=config.alpha,
        depth_multiplier=config.depth_multiplier,
        dropout=config.dropout,
        cifar_strides=config.strides == "cifar",
        num_classes=num_classes,
        bn_momentum=config.bn_momentum,
        hyperconnected=hyperconnected,
    )
