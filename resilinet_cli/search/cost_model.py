"""What a design costs: FLOPs per device, bytes per link and an estimated latency per example.

Two ways to the same numbers (issue 32):

- ``design_costs`` builds the variant's (untrained) model and reads its costs back
  (``models/costs.node_costs``): exact for anything the builder adds, but a model per design;
- ``NetworkProfile.costs`` profiles a keras-family network ONCE and then prices any tuple of
  cut points and any set of skips by arithmetic, so a search can enumerate and prune thousands
  of designs before it builds one. It counts the network's own layers and the skip projections
  (``models/keras_family.project``); the builder's failure glue (gates, link weights, merges)
  is left out, a few FLOPs per element of a node's input (tests/search/test_cost_model.py
  measures the difference exactly).

Latency is a DAG longest path over the healthy network (``CostModel.latency``), from the
figures of the config's ``costs:`` section or of ``resilinet measure``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.config.schema import GIVEN
from resilinet_cli.errors import ConfigError
from resilinet_cli.topology import LINK_ARROW, Link, Topology, link_name

MEASURE_HINT = "resilinet measure CONFIG"


@dataclass(frozen=True)
class DesignCosts:
    """Per example: FLOPs and weights per device, bytes per link, the healthy latency.

    ``latency_ms`` and ``critical_path`` are None and () without a cost model.
    """

    flops: dict[str, int]  # device (node or standby replica) -> FLOPs (TensorFlow's count)
    params: dict[str, int]  # device -> weights it holds (trainable and not)
    link_bytes: dict[str, int]  # "src->dst" -> bytes per example, the links the design uses
    latency_ms: float | None = None
    critical_path: tuple[str, ...] = ()  # the nodes of the longest path, input to output

    def row(self) -> dict[str, float | int | str]:
        """Flat, CSV-friendly columns: ``flops_<device>``, ``params_<device>``,
        ``bytes_<src>-><dst>`` (the config's spelling of a link), ``latency_ms`` (NaN without
        a cost model) and ``critical_path`` (nodes joined by ``->``, empty without one)."""
        row: dict[str, float | int | str] = {}
        row |= {f"flops_{device}": value for device, value in self.flops.items()}
        row |= {f"params_{device}": value for device, value in self.params.items()}
        row |= {f"bytes_{link}": value for link, value in self.link_bytes.items()}
        row["latency_ms"] = math.nan if self.latency_ms is None else self.latency_ms
        row["critical_path"] = LINK_ARROW.join(self.critical_path)
        return row


@dataclass(frozen=True)
class DeviceFigure:
    flops_per_second: float
    source: str = GIVEN


@dataclass(frozen=True)
class LinkFigure:
    bandwidth: float  # payload bits per second
    latency_ms: float
    source: str = GIVEN

    def transfer_ms(self, size: int) -> float:
        """Milliseconds to deliver ``size`` bytes: the link's latency, then 8 bits a byte."""
        return self.latency_ms + 1000.0 * 8 * size / self.bandwidth


class CostModel:
    """Device throughputs and link figures, and the latency they give a design.

    ``source_file`` names the file the figures came from, so that a missing one is reported
    against it (the config, or a ``--costs`` file written by ``resilinet measure``).
    """

    def __init__(
        self,
        devices: Mapping[str, DeviceFigure],
        links: Mapping[str, LinkFigure],
        source_file: str = "costs",
    ) -> None:
        self.devices = dict(devices)
        self.links = dict(links)
        self.source_file = source_file

    @classmethod
    def from_config(cls, config: ExperimentConfig, source_file: str) -> CostModel:
        """The figures of ``config.costs`` (names already checked against the topology)."""
        devices = {
            name: DeviceFigure(figure.flops_per_second, figure.source)
            for name, figure in config.costs.devices.items()
        }
        links = {
            name: LinkFigure(figure.bandwidth, figure.latency_ms, figure.source)
            for name, figure in config.costs.links.items()
        }
        return cls(devices, links, source_file)

    @classmethod
    def from_file(cls, path: Path, config: ExperimentConfig) -> CostModel:
        """The figures of a ``costs:`` file (``resilinet measure`` writes one; ``resilinet
        search --costs FILE``) for ``config``'s topology, checked as the config's own section
        is: an unknown key, device or link is one line naming the file and the key."""
        from resilinet_cli.config.schema import validate_config
        from resilinet_cli.config.yaml_file import read_yaml

        data = read_yaml(path)
        if not isinstance(data, dict) or set(data) != {"costs"}:
            keys = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
            raise ConfigError(f"{path.name}: expected one top-level key costs: (got {keys})")
        raw = config.to_dict()
        raw["costs"] = data["costs"]
        return cls.from_config(validate_config(raw, path.name), path.name)

    def sources(self) -> dict[str, str]:
        """Where every figure came from, keyed as in the config: ``costs.devices.iot``,
        ``costs.links.iot->edge`` (each output states them, as DADS users ask)."""
        found = {f"costs.devices.{name}": f.source for name, f in self.devices.items()}
        found |= {f"costs.links.{name}": f.source for name, f in self.links.items()}
        return found

    def node_ms(self, node: str, flops: int) -> float:
        """Milliseconds ``node`` computes ``flops``; a node that computes nothing needs no
        figure (an IoT node that sends its raw input)."""
        if flops == 0:
            return 0.0
        figure = self.devices.get(node)
        if figure is None:
            raise self._missing(f"costs.devices.{node}", "flops_per_second: N")
        return 1000.0 * flops / figure.flops_per_second

    def link_ms(self, link: str, size: int) -> float:
        figure = self.links.get(link)
        if figure is None:
            raise self._missing(f"costs.links.{link}", "bandwidth: BITS_PER_S, latency_ms: MS")
        return figure.transfer_ms(size)

    def _missing(self, key: str, figures: str) -> ConfigError:
        section, name = key.rsplit(".", 1)
        return ConfigError(
            f"{self.source_file}: {key}: no figure, and the latency needs it; give it under "
            f"{section} ({name}: {{{figures}}}) or run `{MEASURE_HINT}` and pass the file it "
            "writes"
        )

    def latency(
        self, flops: Mapping[str, int], link_bytes: Mapping[str, int], topology: Topology
    ) -> tuple[float, tuple[str, ...]]:
        """(ms, critical path) per example of a healthy network: the longest path from the
        input node to the output node over ``topology``'s links (the variant's own: chain
        links and the skips it has). A node starts when ALL its inputs have arrived (the model
        merges them), then computes ``flops[node] / flops_per_second``; a link takes
        ``latency_ms + 8 * bytes / bandwidth``. Standby replicas are off the healthy path (the
        primary serves), so they need no figure here.
        """
        done: dict[str, float] = {}
        before: dict[str, str | None] = {}
        for node in topology.nodes:  # topological order: every link goes forward
            ready, previous = 0.0, None
            for link in topology.incoming(node):
                name = link_name(link.src, link.dst)
                arrival = done[link.src] + self.link_ms(name, link_bytes.get(name, 0))
                if previous is None or arrival > ready:
                    ready, previous = arrival, link.src
            done[node] = ready + self.node_ms(node, flops.get(node, 0))
            before[node] = previous
        path = [topology.output_node]
        while (previous := before[path[-1]]) is not None:
            path.append(previous)
        return done[topology.output_node], tuple(reversed(path))


def with_latency(costs: DesignCosts, model: CostModel | None, topology: Topology) -> DesignCosts:
    """``costs`` with the latency ``model`` gives it on ``topology`` (unchanged without one)."""
    if model is None:
        return costs
    ms, path = model.latency(costs.flops, costs.link_bytes, topology)
    return DesignCosts(costs.flops, costs.params, costs.link_bytes, ms, path)


def design_costs(
    config: ExperimentConfig,
    variant: str,
    cost_model: CostModel | None = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    num_classes: int | None = None,
) -> DesignCosts:
    """The exact costs of ``variant`` as ``config`` builds it, from its untrained model.

    Weights do not change FLOPs or bytes, so nothing is trained. The shapes come from the
    keras family's network itself; other families read them from the data unless given.
    """
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.models.costs import node_costs
    from resilinet_cli.variants import topology_of

    if input_shape is None or num_classes is None:
        input_shape, num_classes = _shapes(config)
    model, _ = build_from_config(
        config, variant, input_shape=input_shape, num_classes=num_classes, seed=config.seed
    )
    topology = topology_of(config, variant)
    found = node_costs(model, topology)
    costs = DesignCosts(
        flops=found.flops,
        params=found.params,
        link_bytes={link_name(src, dst): size for (src, dst), size in found.link_bytes.items()},
    )
    return with_latency(costs, cost_model, topology)


def _shapes(config: ExperimentConfig) -> tuple[tuple[int, ...], int]:
    """A config's input shape (without the batch) and class count."""
    if config.model.name == "keras":
        from resilinet_cli.models.keras_source import load_network

        network = load_network(config.model)
        return tuple(network.inputs[0].shape[1:]), int(network.outputs[0].shape[-1])
    from resilinet_cli.data import load_splits
    from resilinet_cli.training.inputs import build_inputs

    inputs = build_inputs(load_splits(config.dataset), config, 1, config.seed)
    return tuple(inputs.input_shape), int(inputs.num_classes)


class NetworkProfile:
    """One keras-family network profiled once; ``costs`` then prices any design by arithmetic.

    Per cut point (``LayerGraph.cut_points``, in running order) it keeps the cumulative FLOPs
    (``models/costs.cut_costs``), the cumulative weights, the bytes of the cut tensor and its
    shape. A node computes its cut's cumulative FLOPs minus the previous node's cut's, the
    output node the rest of the network; a chain link carries its sender's cut tensor, and so
    does a skip (a node sends one tensor). A skip whose sender's shape differs from the chain
    input it joins adds the projection ``keras_family.project`` builds, at its receiver.
    """

    def __init__(self, network: Any) -> None:
        from resilinet_cli.models.costs import cut_costs, layer_flops, total_flops
        from resilinet_cli.models.cuts import LayerGraph

        self.network = network
        self.graph = LayerGraph(network)
        self.points: list[str] = self.graph.cut_points()
        self.position = {name: i for i, name in enumerate(self.points)}
        self.layer_flops = layer_flops(network)
        self.total_flops = total_flops(self.layer_flops)
        self.total_params = sum(layer.count_params() for layer in network.layers)
        table = cut_costs(network, self.points, self.layer_flops)
        self.cumulative_flops = {cost.layer: cost.cumulative_flops for cost in table}
        self.cut_bytes = {cost.layer: cost.bytes_per_example for cost in table}
        self.shapes = {cost.layer: cost.shape for cost in table}
        self.cumulative_params = {name: self._params_before(name) for name in self.points}

    @classmethod
    def from_config(cls, config: ExperimentConfig) -> NetworkProfile:
        """The profile of the config's keras-family network (``model.source``/``path``)."""
        from resilinet_cli.models.keras_source import load_network

        if config.model.name != "keras":
            raise ConfigError(
                f"model.name: is {config.model.name}; the analytic costs cut a keras-family "
                "network (model.name: keras); use design_costs for the others"
            )
        return cls(load_network(config.model))

    def _params_before(self, layer: str) -> int:
        """Weights of the layers that run up to ``layer``'s output (each layer once)."""
        bits = self.graph.before(self.graph.locate(layer, "cut"))
        layers = {id(c.layer): c.layer for i, c in enumerate(self.graph.calls) if bits >> i & 1}
        return sum(layer.count_params() for layer in layers.values())

    def costs(
        self,
        cut: Mapping[str, str],
        topology: Topology,
        cost_model: CostModel | None = None,
    ) -> DesignCosts:
        """The costs of cutting after ``cut[node]`` for every node but the output node, on
        ``topology`` (the variant's own: its skips are the links it has).

        Cheap: dictionary look-ups and a few products per skip. The cuts must be cut points in
        running order (``ValueError`` otherwise); a search enumerates them from ``points``.
        """
        chain = topology.nodes[:-1]
        if set(cut) != set(chain):
            raise ValueError(f"cut names {sorted(cut)}; it needs exactly {list(chain)}")
        order = [self.position.get(cut[node], -1) for node in chain]
        if min(order) < 0 or any(b <= a for a, b in itertools.pairwise(order)):
            raise ValueError(f"cuts {dict(cut)} are not cut points in running order")
        flops: dict[str, int] = {}
        params: dict[str, int] = {}
        done_flops = done_params = 0
        for node in chain:
            layer = cut[node]
            flops[node] = self.cumulative_flops[layer] - done_flops
            params[node] = self.cumulative_params[layer] - done_params
            done_flops, done_params = self.cumulative_flops[layer], self.cumulative_params[layer]
        output = topology.output_node
        flops[output] = self.total_flops - done_flops
        params[output] = self.total_params - done_params
        link_bytes = {}
        previous = {b: a for a, b in zip(topology.nodes, topology.nodes[1:], strict=False)}
        for link in topology.links:
            link_bytes[link_name(link.src, link.dst)] = self.cut_bytes[cut[link.src]]
            if link.skip:
                joins = self.shapes[cut[previous[link.dst]]]
                extra_flops, extra_params = projection_costs(self.shapes[cut[link.src]], joins)
                flops[link.dst] += extra_flops
                params[link.dst] += extra_params
        return with_latency(DesignCosts(flops, params, link_bytes), cost_model, topology)


def projection_costs(source: Sequence[int], goal: Sequence[int]) -> tuple[int, int]:
    """(FLOPs, weights) per example of the skip projection ``keras_family.project`` builds
    from a ``source`` output onto a ``goal`` chain input (shapes without the batch).

    TensorFlow's profiler counts a bias-free Dense as a MatMul, ``2 * inputs * units``, and a
    1x1 Conv as ``2 * c_in * c_out`` per output position; the output has ``ceil(s / stride)``
    positions per axis with stride ``ceil(source / goal)`` (padding valid); Flatten, Reshape
    and the zero padding compute nothing.
    """
    source, goal = tuple(source), tuple(goal)
    if source == goal:
        return 0, 0
    if len(goal) == 1 or len(source) == 1:
        weights = math.prod(source) * math.prod(goal)
        return 2 * weights, weights
    strides = [math.ceil(s / g) for s, g in zip(source[:-1], goal[:-1], strict=True)]
    positions = math.prod(math.ceil(s / k) for s, k in zip(source[:-1], strides, strict=True))
    weights = source[-1] * goal[-1]
    return 2 * weights * positions, weights


def chain_topology(nodes: Sequence[str]) -> Topology:
    """A chain of ``nodes`` without skips, none failable: the classics' setting."""
    links = tuple(Link(a, b) for a, b in itertools.pairwise(nodes))
    return Topology(tuple(nodes), links, ())
