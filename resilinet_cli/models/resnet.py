"""ResNet-18 for CIFAR-10 split over iot → edge → fog → cloud (docs/method.md §2.4).

The network is the reference code's adaptation of keras-contrib ``resnet.py``: basic blocks of
"v2" pre-activation residual units (BN → ReLU → Conv), repetitions [2, 2, 2, 2], 64 initial
filters doubling per stage, a 7x7/2 initial conv (+BN+ReLU) and a 3x3/2 max-pool (kept even for
32x32 inputs), every stage, stage 0 included, opening with a stride-2 block; he_normal
initialisation, L2(``weight_decay``) on every conv kernel, convs with bias; a shortcut is a 1x1
conv + BN when the block changes the stride or the channel count (the first block of every
stage) and the identity otherwise; final BN+ReLU, global average pooling and a softmax Dense.

Layers per node (a partition setting gives the number of residual stages on edge, fog, cloud;
see `resilinet_cli.config.families`):

- IoT: ``conv_1`` 7x7/2, ``batch_norm_1``, ``relu_1``.
- first receiver (edge): ``max_pooling``, then its stages.
- every receiver: its stages; the output node ends with ``final_batch_norm``, ``final_relu``,
  ``global_average_pooling`` and ``output``.

Layer names follow the reference code: residual-unit convs are numbered by one global counter,
``conv_<id>`` with pre-activation ``batch_norm_<id>`` and ``relu_<id>``; a projection shortcut
is ``skip_conv_<id>``/``skip_bn_<id>``; the very first conv (stage 0, block 0), which has no
pre-activation because it follows the IoT node's BN+ReLU and the max-pool, keeps keras-contrib's
name ``res0a_branch2a`` and consumes id 2. Stage ``s`` thus holds ids ``2+5s`` to ``6+5s``.

A failable node's output tensor is the residual sum that ends its last stage (the builder gates
it with the node's alive flag). The reference code fails such a node by zeroing the last conv of
each block and the first block's shortcut BN (`ResNetFamily.failure_layers`); both residual
branches and both shortcuts then carry exactly zero, so the node outputs exactly zero.

Skip hyperconnections (deepFogGuard, ResiliNet, ResiliNet+) pass through a 1x1 conv without bias
named ``skip_hyperconnection_<src><dst>``, with as many filters as the chain input it is merged
with and stride ceil(source size / chain-input size), padding valid. As in the reference code,
which builds them as a plain ``Conv2D(..., use_bias=False)``, they keep Keras' default
glorot_uniform initialisation and have no regulariser, unlike the he_normal, L2-regularised convs
of the chain. This matters: with failout a skip gets a data gradient only on the batches where
the node it skips is dropped, while an L2 term would shrink its kernel on every step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import keras

from resilinet_cli.config import ModelConfig
from resilinet_cli.config.families import FAMILIES
from resilinet_cli.topology import Link, Topology, link_name

REPETITIONS = (2, 2, 2, 2)  # basic blocks per residual stage (ResNet-18)
INITIAL_FILTERS = 64


@dataclass(frozen=True)
class Block:
    """One basic block: its two residual-unit convs and, if it projects, its shortcut id."""

    stage: int
    filters: int
    strides: int
    first_conv: str  # conv_<id>, or res0a_branch2a for the network's very first block
    first_id: int | None  # id of the first conv's pre-activation (None: no pre-activation)
    second_id: int
    skip_id: int | None  # id of skip_conv_/skip_bn_, None for an identity shortcut


def plan_blocks(repetitions: tuple[int, ...] = REPETITIONS) -> list[Block]:
    """Every basic block in order, with the layer ids the global counter gives them."""
    blocks: list[Block] = []
    next_id = 2  # conv_1 is the IoT node's initial conv
    filters = INITIAL_FILTERS
    for stage, count in enumerate(repetitions):
        for index in range(count):
            first = next_id
            very_first = stage == 0 and index == 0
            projects = index == 0  # a stride-2 block: the shape changes
            blocks.append(
                Block(
                    stage=stage,
                    filters=filters,
                    strides=2 if index == 0 else 1,
                    first_conv="res0a_branch2a" if very_first else f"conv_{first}",
                    first_id=None if very_first else first,
                    second_id=first + 1,
                    skip_id=first + 2 if projects else None,
                )
            )
            next_id += 3 if projects else 2
        filters *= 2
    return blocks


class ResNetFamily:
    """Per-node layer stacks of ResNet-18; `build_model` wires them with the topology."""

    def __init__(
        self,
        stages_per_node: dict[str, int],
        input_node_name: str,
        output_node: str,
        num_classes: int,
        weight_decay: float,
    ) -> None:
        if sum(stages_per_node.values()) != len(REPETITIONS):
            raise ValueError(
                f"The nodes must host {len(REPETITIONS)} residual stages in all. "
                f"Received: stages_per_node={stages_per_node}"
            )
        self.stages_per_node = dict(stages_per_node)
        self.input_node_name = input_node_name
        self.output_node = output_node
        self.num_classes = num_classes
        self.weight_decay = weight_decay
        self.blocks = plan_blocks()
        self.stages: dict[str, range] = {}
        start = 0
        for node, count in self.stages_per_node.items():
            self.stages[node] = range(start, start + count)
            start += count
        self.first_receiver = next(iter(self.stages_per_node))

    # --- layer factories -------------------------------------------------------------------

    def _regulariser(self) -> keras.regularizers.Regularizer | None:
        return keras.regularizers.L2(self.weight_decay) if self.weight_decay > 0 else None

    def _conv(
        self, filters: int, kernel: int, strides: int, name: str, padding: str = "same"
    ) -> keras.layers.Conv2D:
        return keras.layers.Conv2D(
            filters,
            kernel,
            strides=strides,
            padding=padding,
            kernel_initializer="he_normal",
            kernel_regularizer=self._regulariser(),
            name=name,
        )

    def _unit(self, x: Any, filters: int, strides: int, unit_id: int) -> Any:
        """A "v2" pre-activation residual unit: BN → ReLU → 3x3 conv."""
        x = keras.layers.BatchNormalization(name=f"batch_norm_{unit_id}")(x)
        x = keras.layers.Activation("relu", name=f"relu_{unit_id}")(x)
        return self._conv(filters, 3, strides, f"conv_{unit_id}")(x)

    def _block(self, x: Any, block: Block) -> Any:
        if block.first_id is None:  # follows the IoT node's BN+ReLU and the max-pool
            residual = self._conv(block.filters, 3, block.strides, block.first_conv)(x)
        else:
            residual = self._unit(x, block.filters, block.strides, block.first_id)
        residual = self._unit(residual, block.filters, 1, block.second_id)
        shortcut = x
        if block.skip_id is not None:
            name = f"skip_conv_{block.skip_id}"
            shortcut = self._conv(block.filters, 1, block.strides, name, padding="valid")(x)
            shortcut = keras.layers.BatchNormalization(name=f"skip_bn_{block.skip_id}")(shortcut)
        elif x.shape[-1] != block.filters:
            raise ValueError(f"Block {block} has an identity shortcut but changes the channels.")
        return keras.layers.Add(name=f"add_{block.second_id}")([shortcut, residual])

    # --- the family interface -------------------------------------------------------------

    def input_node(self, features: Any) -> Any:
        """The IoT node: ``conv_1`` 7x7/2 + ``batch_norm_1`` + ``relu_1``."""
        x = self._conv(INITIAL_FILTERS, 7, 2, "conv_1")(features)
        x = keras.layers.BatchNormalization(name="batch_norm_1")(x)
        return keras.layers.Activation("relu", name="relu_1")(x)

    def node(self, node: str, x: Any) -> Any:
        """The node's residual stages (after the max-pool on the first receiver, before the top
        on the output node)."""
        if node == self.first_receiver:
            x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="max_pooling")(x)
        for block in self.blocks:
            if block.stage in self.stages[node]:
                x = self._block(x, block)
        if node == self.output_node:
            x = keras.layers.BatchNormalization(name="final_batch_norm")(x)
            x = keras.layers.Activation("relu", name="final_relu")(x)
            x = keras.layers.GlobalAveragePooling2D(name="global_average_pooling")(x)
            x = keras.layers.Dense(
                self.num_classes,
                activation="softmax",
                kernel_initializer="he_normal",
                name="output",
            )(x)
        return x

    def skip_projection(self, link: Link, x: Any, chain_input: Any) -> Any:
        """Project a skip input to the shape of the chain input it is merged with.

        A 1x1 conv without bias, ``chain_input`` channels, stride ceil(source / chain-input
        size), padding valid, named ``skip_hyperconnection_<src><dst>``; glorot_uniform and no
        regulariser, as the reference code builds it.
        """
        source, target = tuple(x.shape[1:3]), tuple(chain_input.shape[1:3])
        strides = tuple(math.ceil(s / t) for s, t in zip(source, target, strict=True))
        y = keras.layers.Conv2D(
            chain_input.shape[-1],
            1,
            strides=strides,
            padding="valid",
            use_bias=False,
            kernel_initializer="glorot_uniform",  # the reference's plain Conv2D: Keras' default
            kernel_regularizer=None,
            name=f"skip_hyperconnection_{link.src}{link.dst}",
        )(x)
        if tuple(y.shape[1:]) != tuple(chain_input.shape[1:]):
            raise ValueError(
                f"The skip hyperconnection {link_name(link.src, link.dst)} cannot project "
                f"{tuple(x.shape[1:])} onto {tuple(chain_input.shape[1:])} with a strided 1x1 "
                "conv; choose an input size whose node outputs divide evenly."
            )
        return y

    def failure_layers(self, node: str) -> list[str]:
        """Layers the reference code zeroes to fail ``node`` (docs/method.md §6.2).

        For the node's last stage: the last conv of each later block, then the first block's
        second conv and shortcut BN, e.g. ``conv_6, conv_3, skip_bn_4`` for stage 0. Zeroing
        conv kernel and bias, and all four BN parameters, makes the node's output exactly 0.
        """
        if node not in self.stages or not self.stages[node]:
            raise ValueError(f"Node '{node}' hosts no residual stage, so it cannot fail.")
        last = self.stages[node][-1]
        blocks = [b for b in self.blocks if b.stage == last]
        names = [f"conv_{b.second_id}" for b in reversed(blocks[1:])]
        return [*names, f"conv_{blocks[0].second_id}", f"skip_bn_{blocks[0].skip_id}"]


def build_family(
    config: ModelConfig,
    topology: Topology,
    num_classes: int,
    input_shape: tuple[int, ...],
    *,
    hyperconnected: bool = True,
) -> ResNetFamily:
    """ResNet-18's node stacks for ``topology`` (the variant's own); images are HxWxC.

    ``hyperconnected`` (whether the variant has skips) changes nothing here: a skip projection
    adapts to the chain, never the chain to it.
    """
    if len(input_shape) != 3:
        raise ValueError(
            f"ResNet-18 needs image input (height, width, channels). Received: {input_shape}"
        )
    stages = FAMILIES["resnet18"].partitions[config.partition]
    receivers = topology.nodes[1:]
    if len(receivers) != len(stages):
        raise ValueError(
            f"ResNet-18 partition {config.partition} places stages on {len(stages)} nodes, but "
            f"the topology has {len(receivers)} after the input: {receivers}"
        )
    return ResNetFamily(
        dict(zip(receivers, stages, strict=True)),
        topology.input_node,
        topology.output_node,
        num_classes,
        config.weight_decay,
    )
