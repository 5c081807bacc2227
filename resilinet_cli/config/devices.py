"""Input devices of a fan-in topology: who they are, and which part of the input each sees.

docs/sensors.md. A topology's ``inputs:`` (feature columns per device) or ``views:`` (image
slices) name its devices. They are nodes like any other: the config lists them first in
``nodes``, links each to the hub (the first node of the chain, which aggregates them), and, with
two devices or more, makes each failable, with a survival in every reliability setting by the
device rule unless the setting gives one. The expansion is idempotent, so the resolved config
(which already lists them) validates to itself.

Which columns or pixels a device sees depends on the data (its column names, its image size),
so ``device_views`` resolves it when the model is built.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from resilinet_cli.data import mhealth
from resilinet_cli.errors import ConfigError, unknown_choice
from resilinet_cli.topology import AGGREGATES

__all__ = ["AGGREGATES", "device_views", "expand_devices"]


class DeviceError(ConfigError):
    """A device's view that the data cannot give, blamed on a ``topology.`` key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


BLOCKS = "blocks"  # inputs_fallback: contiguous near-equal column blocks, in device order
MAX_GRID = 9


def grid_names(rows: int, columns: int) -> list[str]:
    """The devices of a ``grid: [rows, columns]`` view, row by row: view00, view01, ..."""
    return [f"view{r}{c}" for r in range(rows) for c in range(columns)]


def device_names(topology: Mapping[str, Any]) -> list[str]:
    """The devices a raw ``topology:`` mapping declares (empty when it declares none or the
    declaration is malformed: validation reports that)."""
    inputs, views = topology.get("inputs"), topology.get("views")
    if isinstance(inputs, Mapping):
        return [str(name) for name in inputs]
    if not isinstance(views, Mapping):
        return []
    grid, boxes = views.get("grid"), views.get("boxes")
    if isinstance(boxes, Mapping):
        return [str(name) for name in boxes]
    if isinstance(grid, Sequence) and len(grid) == 2 and all(isinstance(n, int) for n in grid):
        rows, columns = grid
        if 0 < rows <= MAX_GRID and 0 < columns <= MAX_GRID:
            return grid_names(rows, columns)
    return []


def device_survival(nodes: Sequence[str], failable: Sequence[str], vector: Sequence[Any]) -> Any:
    """The device rule: a device's survival in a setting is that of the failable node nearest
    the input side of the chain (Health's and the CNN's edge), 1 if none is failable."""
    value = dict(zip(failable, vector, strict=False))
    return next((value[node] for node in nodes if node in value), 1.0)


def expand_devices(data: Any) -> Any:
    """The raw topology with its devices as nodes: first in ``nodes``, linked to the hub,
    failable (two or more) and given survivals. Anything malformed is left for validation."""
    if not isinstance(data, dict):
        return data
    devices = device_names(data)
    nodes, links = data.get("nodes"), data.get("links")
    if not devices or not isinstance(nodes, list) or not isinstance(links, list):
        return data
    chain = [node for node in nodes if node not in devices]
    if not chain:
        return data
    hub = chain[0]
    data = dict(data, nodes=[*devices, *chain])
    into_hub = {(d, hub) for d in devices}
    kept = [k for k in links if not (isinstance(k, list | tuple) and tuple(k) in into_hub)]
    data["links"] = [*kept, *([d, hub] for d in devices)]  # in device order: the hub's order
    failable = data.get("failable")
    if len(devices) < 2 or not isinstance(failable, list):
        return data
    own = [node for node in failable if node not in devices]
    data["failable"] = [*failable, *(d for d in devices if d not in failable)]
    reliability = data.get("reliability")
    if isinstance(reliability, dict):
        filled = {}
        for name, vector in reliability.items():
            if isinstance(vector, list) and len(vector) == len(own) != len(data["failable"]):
                given = dict(zip(own, vector, strict=True))
                rule = device_survival(chain, own, vector)
                vector = [given.get(node, rule) for node in data["failable"]]
            filled[name] = vector
        data["reliability"] = filled
    return data


@dataclass(frozen=True)
class View:
    """What one device sees: feature ``columns`` (tabular) or a ``box`` (top, left, height,
    width) of the image; ``pad_to`` pads it (zeros, bottom and right) to the shared shape."""

    columns: tuple[int, ...] | None = None
    box: tuple[int, int, int, int] | None = None
    pad_to: tuple[int, ...] | None = None


def near_equal_blocks(width: int, devices: Sequence[str]) -> dict[str, list[int]]:
    """Contiguous column blocks, the first ones a column longer: 64 over 3 is 22/21/21."""
    size, extra = divmod(width, len(devices))
    blocks, start = {}, 0
    for i, device in enumerate(devices):
        end = start + size + (1 if i < extra else 0)
        blocks[device] = list(range(start, end))
        start = end
    return blocks


def resolve_columns(
    inputs: Mapping[str, Sequence[int | str]],
    width: int,
    names: Sequence[str] | None,
    *,
    fallback: str | None = None,
    overlap: bool = False,
) -> dict[str, list[int]]:
    """Each device's column indices; names and glob patterns are looked up in ``names``."""
    entries = [entry for columns in inputs.values() for entry in columns]
    named = all(isinstance(entry, str) for entry in entries)
    if fallback == BLOCKS and named and not any(fnmatch.filter(names or (), e) for e in entries):
        return near_equal_blocks(width, list(inputs))  # the data names no such column
    owner: dict[int, str] = {}
    resolved = {}
    for device, entries in inputs.items():
        columns: list[int] = []
        for i, entry in enumerate(entries):
            key = f"topology.inputs.{device}[{i}]"
            if isinstance(entry, int):
                if not 0 <= entry < width:
                    raise DeviceError(
                        key,
                        f"column {entry} is out of range "
                        f"(the data has {width} feature columns: 0..{width - 1})",
                    )
                found = [entry]
            else:
                if not names:
                    raise DeviceError(
                        key,
                        f"'{entry}' is a column name, but this data set names no columns; "
                        "give column indices",
                    )
                found = [names.index(n) for n in fnmatch.filter(names, entry)]
                if not found:
                    raise DeviceError(key, unknown_choice("column", entry, names))
            for column in found:
                if column in owner and not overlap:
                    raise DeviceError(
                        key,
                        f"column {column} belongs to device '{owner[column]}' already "
                        "(set topology.overlap: true to let devices share columns)",
                    )
                owner.setdefault(column, device)
                if column not in columns:
                    columns.append(column)
        if not columns:
            raise DeviceError(f"topology.inputs.{device}", "lists no columns")
        resolved[device] = columns
    return resolved


def grid_boxes(rows: int, columns: int, shape: Sequence[int]) -> dict[str, list[int]]:
    """The ``rows`` x ``columns`` equal tiles of an image of ``shape`` (height, width, ...)."""
    height, width = shape[0], shape[1]
    for count, size, axis in ((rows, height, "height"), (columns, width, "width")):
        if size % count:
            raise DeviceError(
                "topology.views.grid",
                f"{count} does not divide the image {axis} {size} "
                f"(images are {height}x{width}); choose a grid that does, or give boxes",
            )
    h, w = height // rows, width // columns
    names = grid_names(rows, columns)
    return {
        names[r * columns + c]: [r * h, c * w, h, w] for r in range(rows) for c in range(columns)
    }


def check_box(device: str, box: Sequence[int], shape: Sequence[int]) -> None:
    top, left, height, width = box
    if height < 1 or width < 1 or top + height > shape[0] or left + width > shape[1]:
        raise DeviceError(
            f"topology.views.boxes.{device}",
            f"[{top}, {left}, {height}, {width}] "
            f"(top, left, height, width) does not fit in the {shape[0]}x{shape[1]} image",
        )


def device_views(
    topology: Any, input_shape: Sequence[int], names: Sequence[str] | None
) -> dict[str, View]:
    """Each device's view of examples of ``input_shape``; empty for a topology without devices.

    With ``shared`` weights or a ``max``/``mean`` hub, every view is padded to the largest one,
    so that the devices' outputs (and shared layers' inputs) have one shape.
    """
    if topology.inputs is not None:
        if len(input_shape) != 1:
            raise DeviceError(
                "topology.inputs",
                "gives feature columns, but examples are "
                f"{'x'.join(map(str, input_shape))} images: give topology.views instead",
            )
        columns = resolve_columns(
            topology.inputs,
            input_shape[0],
            names,
            fallback=topology.inputs_fallback,
            overlap=topology.overlap,
        )
        views = {d: View(columns=tuple(c)) for d, c in columns.items()}
        widest = max(len(c) for c in columns.values())
        if padded(topology) and len(views) > 1:
            views = {d: View(v.columns, pad_to=(widest,)) for d, v in views.items()}
        return views
    if topology.views is None:
        return {}
    if len(input_shape) != 3:
        raise DeviceError(
            "topology.views",
            f"slices images, but examples have shape {tuple(input_shape)}: "
            "give topology.inputs (feature columns) instead",
        )
    if topology.views.grid is not None:
        boxes = grid_boxes(*topology.views.grid, input_shape)
    else:
        boxes = {d: list(b) for d, b in topology.views.boxes.items()}
        for device, box in boxes.items():
            check_box(device, box, input_shape)
        if not topology.overlap:
            overlapping(boxes)
    tallest = max(b[2] for b in boxes.values())
    widest = max(b[3] for b in boxes.values())
    pad = (tallest, widest) if padded(topology) or topology.views.boxes else None
    return {d: View(box=tuple(b), pad_to=pad) for d, b in boxes.items()}


def padded(topology: Any) -> bool:
    return bool(topology.shared) or topology.aggregate in ("max", "mean")


def overlapping(boxes: Mapping[str, Sequence[int]]) -> None:
    """Refuse two boxes that share pixels (without ``overlap: true``)."""
    items = list(boxes.items())
    for i, (a, (t1, l1, h1, w1)) in enumerate(items):
        for b, (t2, l2, h2, w2) in items[i + 1 :]:
            if t1 < t2 + h2 and t2 < t1 + h1 and l1 < l2 + w2 and l2 < l1 + w1:
                raise DeviceError(
                    f"topology.views.boxes.{b}",
                    f"overlaps device '{a}' "
                    "(set topology.overlap: true to let devices share pixels)",
                )


def dataset_feature_names(dataset: Any) -> tuple[str, ...] | None:
    """The feature columns' names of a ``dataset:`` section, where they are known without
    reading the data: MHEALTH's (by sensor), or a table's listed ``features``."""
    if dataset is None:
        return None
    if dataset.name == mhealth.NAME:
        return mhealth.FEATURE_NAMES
    features = getattr(dataset, "features", None)
    if features and not any(any(c in name for c in "*?[") for name in features):
        return tuple(features)
    return None


# Each built-in data set's example shape, known before its data are read; images as
# ``dataset.image_size`` and ``channels`` reshape them (training/inputs.py)
EXAMPLE_SHAPES: dict[str, tuple[int, ...]] = {
    "cifar10": (32, 32, 3),
    "digits": (64,),
    "fashion_mnist": (28, 28, 1),
    mhealth.NAME: (mhealth.NUM_FEATURES,),
}


def known_example_shape(dataset: Any) -> tuple[int, ...] | None:
    """The example shape of a built-in ``dataset:`` section, None where only its data tell."""
    if dataset is None or dataset.name not in EXAMPLE_SHAPES:
        return None
    shape = EXAMPLE_SHAPES[dataset.name]
    if len(shape) == 3:
        size = dataset.image_size
        shape = (size or shape[0], size or shape[1], dataset.channels or shape[2])
    return shape


def check_devices(config: Any, shape: Sequence[int] | None = None) -> None:
    """Resolve every device's view once, before anything trains: on ``shape`` (the data's
    example shape) or, without it, the built-in data set's known shape."""
    if not config.topology.devices:
        return
    shape = shape or known_example_shape(config.dataset)
    if shape is not None:
        device_views(config.topology, shape, dataset_feature_names(config.dataset))
