"""Model families by name; importable without TensorFlow so configs validate quickly."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class FamilyInfo:
    """Where a family's builder lives, and its partition settings.

    A partition setting lists how many layers (or blocks) each non-input node hosts, from the
    node after the input to the output node.
    """

    module: str
    partitions: dict[int, tuple[int, ...]]
    keys: tuple[str, ...] = ()  # the ModelConfig options this family reads
    standbys: bool = False  # builds narrower copies of a node's layers (``replicas:``)
    devices: bool = False  # builds a fan-in topology's input devices (docs/sensors.md)

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


FAMILIES: dict[str, FamilyInfo] = {
    # docs/method.md §2.2: "1->2->3->4" and "2->3->2->3" (edge, fog2, fog1, cloud).
    "mlp": FamilyInfo(
        "resilinet_cli.models.mlp",
        {1: (1, 2, 3, 4), 2: (2, 3, 2, 3)},
        keys=("hidden_units", "layers_per_node"),
        standbys=True,
        devices=True,
    ),
    # docs/method.md §2.3: depthwise blocks on edge, fog, cloud: "1->3->5->5" and "2->2->4->6".
    "mobilenet": FamilyInfo(
        "resilinet_cli.models.mobilenet",
        {1: (3, 5, 5), 2: (2, 4, 6)},
        keys=("alpha", "depth_multiplier", "dropout", "strides", "bn_momentum"),
        standbys=True,
        devices=True,
    ),
    # docs/method.md §2.4: residual stages on edge, fog, cloud: "1->4->4->9" and "1->8->4->5".
    "resnet18": FamilyInfo(
        "resilinet_cli.models.resnet",
        {1: (1, 1, 2), 2: (2, 1, 1)},
        keys=("weight_decay",),
    ),
    # docs/byom.md: any Keras functional network, cut at the layers that `cut` names.
    "keras": FamilyInfo(
        "resilinet_cli.models.keras_family",
        {},
        keys=("source", "path", "args", "cut", "weights", "layer_config"),
    ),
}


def describe_model(model: Any) -> str:
    """The model of a config in a phrase, for report pages: ``mlp, partition 1``, or, for the
    keras family, the network and the layers it is cut after (docs/byom.md)."""
    if model.name != "keras":
        return f"{model.name}, partition {model.partition}"
    cut = model.cut[model.partition - 1] if isinstance(model.cut, list) else model.cut
    network = model.source or f"{model.path}"
    args = ", ".join(f"{key} {value}" for key, value in model.args.items())
    cuts = ", ".join(f"{layer} ({node})" for node, layer in cut.items())
    changes = ", ".join(
        f"{cls} {key} {value}"
        for cls, keys in model.layer_config.items()
        for key, value in keys.items()
    )
    text = f"{network}{f' ({args})' if args else ''} cut after {cuts}"
    return text + (f", with {changes}" if changes else "")
