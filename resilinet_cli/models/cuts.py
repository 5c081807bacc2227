"""Where a Keras network can be cut between physical nodes, and its pieces replayed.

A layer is a *cut point* when its output is the only tensor that crosses from the layers that
run before it to the layers that run after it: a node then needs nothing from an earlier node
but what the link carries. A residual connection or a parallel branch that jumps over a layer
makes it no cut point (docs/byom.md).

The graph is read from the network's own call graph (each tensor's ``_keras_history``), one
entry per layer call, in an order where every call comes after the calls it reads from.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras

from resilinet_cli.models.keras_source import NetworkError
from resilinet_cli.topology import layer_prefix


@dataclass(frozen=True)
class Call:
    """One call of a layer in the network: what it reads and what it writes."""

    layer: keras.Layer
    node: Any  # the keras Node of this call
    reads: tuple[int, ...]  # indices of the calls whose outputs it reads

    @property
    def name(self) -> str:
        return self.layer.name


class LayerGraph:
    """The calls of a single-input, single-output functional network, inputs first."""

    def __init__(self, network: keras.Model) -> None:
        if len(network.inputs) != 1 or len(network.outputs) != 1:
            raise NetworkError(
                "model",
                f"the network has {len(network.inputs)} inputs and {len(network.outputs)} "
                "outputs; resilinet feeds one features tensor and reads one prediction",
            )
        self.network = network
        self.calls: list[Call] = []
        self._index: dict[int, int] = {}  # id(node) -> call index
        self._visit(network.outputs[0])
        self.input = self._producer(network.inputs[0])
        self.output = self._producer(network.outputs[0])
        self._ancestors = self._ancestor_sets()
        counts: dict[str, int] = {}
        for call in self.calls:
            counts[call.name] = counts.get(call.name, 0) + 1
        self._by_name = {c.name: i for i, c in enumerate(self.calls) if counts[c.name] == 1}
        self.shared = {name for name, count in counts.items() if count > 1}

    def _visit(self, tensor: Any) -> None:
        """Post-order walk back from ``tensor``: each call after those it reads (no recursion,
        so a deep network does not hit Python's recursion limit)."""
        stack = [(self._node_of(tensor), False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in self._index:
                continue
            inputs = list(node.input_tensors)
            if not expanded:
                stack.append((node, True))
                stack.extend((self._node_of(t), False) for t in reversed(inputs))
                continue
            reads = tuple(dict.fromkeys(self._producer(t) for t in inputs))
            self._index[id(node)] = len(self.calls)
            self.calls.append(Call(node.operation, node, reads))

    @staticmethod
    def _node_of(tensor: Any) -> Any:
        operation, node_index, _ = tensor._keras_history
        return operation._inbound_nodes[node_index]

    def _producer(self, tensor: Any) -> int:
        return self._index[id(self._node_of(tensor))]

    def _ancestor_sets(self) -> list[int]:
        """Per call, a bit set of every call it depends on (itself included)."""
        sets: list[int] = []
        for i, call in enumerate(self.calls):
            bits = 1 << i
            for j in call.reads:
                bits |= sets[j]
            sets.append(bits)
        return sets

    def before(self, index: int) -> int:
        """Bit set of the calls that must run before the output of call ``index`` exists."""
        return self._ancestors[index]

    def crossing(self, index: int) -> tuple[int, int] | None:
        """(reader, read) of the first tensor that jumps over call ``index``, if any."""
        inside = self._ancestors[index]
        for reader, call in enumerate(self.calls):
            if inside >> reader & 1:
                continue
            for read in call.reads:
                if read != index and inside >> read & 1:
                    return reader, read
        return None

    def cut_points(self) -> list[str]:
        """Every layer the network can be cut after, inputs first; the last layer is none
        (the output node needs a layer of its own)."""
        points = []
        for i, call in enumerate(self.calls[:-1]):
            single = call.name in self._by_name and len(call.node.output_tensors) == 1
            if single and self.crossing(i) is None:
                points.append(call.name)
        return points

    def locate(self, layer: str, key: str) -> int:
        """The call of ``layer``, named in config key ``key``; one line if it is no layer."""
        if layer in self.shared:
            raise NetworkError(key, f"layer '{layer}' is called more than once; cut elsewhere")
        if layer not in self._by_name:
            close = difflib.get_close_matches(layer, [c.name for c in self.calls], n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise NetworkError(
                key, f"no layer '{layer}' in the network ({hint}resilinet partition lists them)"
            )
        return self._by_name[layer]

    def check_cuts(self, cut: Mapping[str, str], key: str = "model.cut") -> list[int]:
        """The calls of a node→layer mapping, checked: each a cut point, in running order."""
        indices = []
        for node, layer in cut.items():
            where = f"{key}.{node}"
            index = self.locate(layer, where)
            if index == self.output:
                raise NetworkError(where, f"'{layer}' is the network's last layer; the output "
                                   "node needs layers of its own")  # fmt: skip
            crossing = self.crossing(index)
            if crossing is not None:
                reader, read = (self.calls[i].name for i in crossing)
                raise NetworkError(
                    where,
                    f"cannot cut after '{layer}': layer '{reader}' reads '{read}' across it "
                    f"(a shortcut or branch jumps over the cut); nearest cut points: "
                    f"{self.nearest(index)}",
                )
            if indices and index == indices[-1]:
                raise NetworkError(where, f"'{layer}' ends the node before too; each node "
                                   "needs layers of its own")  # fmt: skip
            if indices and not self.before(index) >> indices[-1] & 1:
                previous = next(n for n, name in cut.items() if self._by_name[name] == indices[-1])
                raise NetworkError(
                    where,
                    f"cuts out of order: '{layer}' ({node}) runs before or beside "
                    f"'{cut[previous]}' ({previous}), the cut of the node before it",
                )
            indices.append(index)
        return indices

    def nearest(self, index: int) -> str:
        """The valid cut points just before and just after call ``index``."""
        points = [self._by_name[name] for name in self.cut_points()]
        at = bisect.bisect_left(points, index)
        near = [points[i] for i in (at - 1, at) if 0 <= i < len(points)]
        return ", ".join(f"'{self.calls[i].name}'" for i in near) or "none"

    def segment(self, start: int, end: int) -> list[int]:
        """Calls that run after call ``start``'s output exists, up to call ``end`` included."""
        done = self.before(start)
        wanted = self.before(end) & ~done
        return [i for i in range(len(self.calls)) if wanted >> i & 1]

    def replay(
        self,
        start: int,
        end: int,
        x: Any,
        clones: dict[int, keras.Layer],
        layer_config: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Any:
        """Run calls ``start`` (exclusive) to ``end`` on ``x`` with clones of their layers
        (same config and weights), so that they become layers of the model being built.

        ``clones`` maps id(layer) to its clone, so a layer called twice is cloned once;
        ``layer_config`` changes the config of every layer of a class (by class name).
        """
        layer_config = layer_config or {}
        values = {id(self.calls[start].node.output_tensors[0]): x}

        def fill(value: Any) -> Any:
            return values[id(value)] if isinstance(value, keras.KerasTensor) else value

        for i in self.segment(start, end):
            original, node = self.calls[i].layer, self.calls[i].node
            layer = clones.get(id(original))
            fresh = layer is None
            if layer is None:
                changes = layer_config.get(type(original).__name__, {})
                config = {**original.get_config(), **changes}
                layer = clones[id(original)] = original.__class__.from_config(config)
            args = keras.tree.map_structure(fill, node.arguments.args)
            kwargs = keras.tree.map_structure(fill, node.arguments.kwargs)
            outputs = layer(*args, **kwargs)
            if fresh:  # built by its first call: now it can take the weights
                layer.set_weights(original.get_weights())
            for old, new in zip(node.output_tensors, keras.tree.flatten(outputs), strict=True):
                values[id(old)] = new
        return values[id(self.calls[end].node.output_tensors[0])]


def reserved_names(nodes: Sequence[str], links: Sequence[Any]) -> set[str]:
    """Layer names the model builder adds around the network's layers (models/builder.py)."""
    names = {"features", "alive", "failout", "output_float32"}
    for node in nodes:
        names |= {f"{node}_stack_in", f"{node}_stack_out", f"{node}_gate", f"{node}_merge"}
    for link in links:
        names |= {
            f"{layer_prefix(link.src, link.dst)}_weight",
            f"skip_hyperconnection_{link.src}{link.dst}",
        }
    return names
