"""Wire a model family's node stacks into one Keras model, following the topology.

Each node's layer stack is framed by two named Identity layers (``<node>_stack_in``,
``<node>_stack_out``) so that it can be cut out of the model (see ``node_graph.py``).

Every model takes ``features`` and ``alive`` ([batch, failable nodes + failable links], 1 = alive):
the alive mask is the single source of truth for failures (docs/architecture.md §2). Failable
nodes are gated after their last activation, failable links at their receiver (after the link's
projection and weight); ResiliNet's failout randomises the mask while training. A node served by
standby replicas has a stack per replica and a ``ReplicaSwitch`` for its gate; a stand-in slot's
``StandIn`` passes its generator's output where the sender is dead (docs/variants.md §7-§8).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import keras

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.config.devices import View, dataset_feature_names, device_views
from resilinet_cli.config.families import FAMILIES
from resilinet_cli.failure_model import FailureModel
from resilinet_cli.layers import (
    Aggregate,
    DeviceView,
    Failout,
    InputMux,
    LinkGate,
    LinkWeight,
    NodeGate,
    ReplicaSwitch,
    RoleFlags,
    StandIn,
)
from resilinet_cli.layers.stand_in import generator
from resilinet_cli.models.hyperconnections import LEARNED, hyperconnection_weights
from resilinet_cli.topology import Link, Topology, layer_prefix, link_name
from resilinet_cli.variants import Variant, stand_in_links, topology_of


class Family(Protocol):
    def input_node(self, features: Any) -> Any: ...
    def node(self, node: str, x: Any) -> Any: ...
    def skip_projection(self, link: Link, x: Any, chain_input: Any) -> Any: ...
    # families with ``standbys`` (config/families.py) also build a node's narrower copy:
    # def standby(self, node: str, replica: str, x: Any, width: float) -> Any: ...
    def failure_layers(self, node: str) -> list[str]: ...


def build_model(
    *,
    topology: Topology,
    variant: Variant,
    family: Family,
    input_shape: tuple[int, ...],
    weights: dict[Link, float],
    survival: dict[str, float],
    granularity: str = "batch",
    seed: int | None = None,
    mux_detect: str = "alive",
    learned_weights: bool = False,
    events: Sequence[tuple[Sequence[int], float]] = (),
    views: Mapping[str, View] | None = None,
    shared_devices: bool = False,
) -> keras.Model:
    """The model of ``variant`` on ``topology`` (the variant's own: Vanilla has no skips).

    ``survival`` is failout's keep rate per failable node (and link: 1 if not given);
    ``learned_weights`` (scheme 5) makes each link's weight trainable, starting at ``weights``;
    ``events`` are a failure model's common-cause events for failout to draw; ``views`` are
    what each device of a fan-in topology sees, and ``shared_devices`` gives them one set of
    weights (docs/sensors.md).
    """
    views = views or {}
    column = {name: i for i, name in enumerate(topology.columns)}
    features = keras.Input(input_shape, name="features")
    alive = keras.Input((len(topology.columns),), name="alive")
    flags = alive
    if variant.failout:  # a replica is kept at its primary's rate unless given its own
        primary = dict(topology.replicas)
        rates = [survival.get(name, survival.get(primary.get(name, ""), 1.0))
                 for name in topology.columns]  # fmt: skip
        flags = Failout(rates, granularity, seed=seed, events=events, name="failout")(alive)
    stand_ins = set(stand_in_links(variant, topology))
    roles = [[column[r] for r in topology.replicas_of(n)] for n in topology.failable]
    roles = [columns for columns in roles if len(columns) > 1]
    served = RoleFlags(roles, name="role_flags")(flags) if roles else flags  # what receivers read

    outputs, computed = {}, {}  # computed: each node's output before its gate (exit heads)
    for source in topology.sources:
        x = features
        if source in views:
            view = views[source]
            x = DeviceView(view.columns, view.box, view.pad_to, name=f"{source}_view")(x)
        x = family.device(source, x, shared_devices) if topology.fan_in else family.input_node(x)
        computed[source] = outputs[source] = out = marker(x, source, STACK_OUT)
        if source in column:
            outputs[source] = NodeGate(column[source], name=f"{source}_gate")([out, flags])
    for node in topology.nodes[len(topology.sources) :]:
        links = topology.incoming(node)
        if node == topology.input_node:  # a fan-in topology's hub: it aggregates the devices
            merged = hub_input(topology, links, outputs, column, served)
            out = marker(marker(merged, node, STACK_IN), node, STACK_OUT)
            computed[node] = outputs[node] = out
            continue
        chain_input = outputs[links[0].src]
        received = []
        for link in links:
            x = outputs[link.src]
            if link.skip:
                x = family.skip_projection(link, x, chain_input)
            if variant.skips:
                name = f"{layer_prefix(link.src, link.dst)}_weight"
                if learned_weights:  # scheme 5: trained with the network, from 1
                    x = LinkWeight(weights[link], name=name)(x)
                else:
                    x = keras.layers.Rescaling(weights[link], name=name)(x)
            name = link_name(link.src, link.dst)
            if name in column:  # a dead link: its receiver gets zeros
                gate = LinkGate(
                    column[name], name, name=f"{layer_prefix(link.src, link.dst)}_link_gate"
                )
                x = gate([x, served])
            received.append(x)
        received = with_stand_ins(links, received, stand_ins, column, served, variant)
        if len(received) == 1:
            merged = received[0]
        elif variant.merge == "mux":
            senders = [mux_columns(link, column) for link in links]
            if link_name(links[0].src, node) in stand_ins:
                senders[0] = None  # the stand-in fills a dead chain input's slot
            mux = InputMux(senders, detect=mux_detect, name=f"{node}_merge")
            merged = mux([*received, served])
        else:
            merged = keras.layers.Add(name=f"{node}_merge")(received)
        out = marker(family.node(node, marker(merged, node, STACK_IN)), node, STACK_OUT)
        computed[node] = out
        replicas = topology.replicas_of(node)
        if len(replicas) > 1:
            width = variant.width_of(node)
            standbys = [
                marker(family.standby(node, r, marker(merged, r, STACK_IN), width), r, STACK_OUT)
                for r in replicas[1:]
            ]
            switch = ReplicaSwitch([column[r] for r in replicas], seed=seed, name=f"{node}_gate")
            out = switch([out, *standbys, flags])
        elif node in column:
            out = NodeGate(column[node], name=f"{node}_gate")([out, flags])
        outputs[node] = out
    output = outputs[topology.output_node]
    if keras.config.dtype_policy().compute_dtype != "float32":  # mixed precision: float32 out
        output = keras.layers.Activation("linear", dtype="float32", name="output_float32")(output)
    if not variant.exits:
        return keras.Model([features, alive], output, name=model_name(variant.name))
    classes = int(output.shape[-1])
    heads = [exit_head(node, computed[node], classes) for node in variant.exits]
    return keras.Model([features, alive], [output, *heads], name=model_name(variant.name))


def hub_input(
    topology: Topology,
    links: Sequence[Link],
    outputs: dict[str, Any],
    column: dict[str, int],
    flags: Any,
) -> Any:
    """What a hub's stack receives: its devices' outputs (each through its link's gate, if that
    can fail) combined by the topology's aggregate; one device's output as it is."""
    received = []
    for link in links:
        x = outputs[link.src]
        name = link_name(link.src, link.dst)
        if name in column:
            gate = LinkGate(
                column[name], name, name=f"{layer_prefix(link.src, link.dst)}_link_gate"
            )
            x = gate([x, flags])
        received.append(x)
    if len(received) == 1:
        return received[0]
    senders = [mux_columns(link, column, always_list=True) for link in links]
    kind = topology.aggregate
    return Aggregate(kind, senders, name=f"{topology.input_node}_merge")([*received, flags])


def model_name(variant: str) -> str:
    """A Keras model's name for a variant: Keras refuses the '+' of ``vanilla+exits``."""
    return variant.replace("+", "-")


EXIT = "exit"  # an exit head's output layer is ``<node>_exit``
# a stand-in's layers: ``<src>_<dst>_stand_in`` (its choice), ``..._hidden`` and ``..._out``
STAND_IN = "stand_in"


def exit_head(node: str, x: Any, classes: int) -> Any:
    """DDNN's exit: a softmax classifier on what ``node`` computes, for every model family.

    Feature maps are averaged over their spatial axes first (global average pooling), vectors
    go straight to the Dense layer; anything else is flattened. In float32 under mixed precision.
    """
    pooling = {3: keras.layers.GlobalAveragePooling1D, 4: keras.layers.GlobalAveragePooling2D}
    if len(x.shape) in pooling:
        x = pooling[len(x.shape)](name=f"{node}_{EXIT}_pool")(x)
    elif len(x.shape) > 2:
        x = keras.layers.Flatten(name=f"{node}_{EXIT}_flatten")(x)
    dense = keras.layers.Dense(
        classes, activation="softmax", dtype="float32", name=f"{node}_{EXIT}"
    )
    return dense(x)


def with_stand_ins(
    links: Sequence[Link],
    received: list[Any],
    stand_ins: set[str],
    column: dict[str, int],
    flags: Any,
    variant: Variant,
) -> list[Any]:
    """A node's received inputs with each stand-in slot's ``StandIn`` in place (docs/variants.md
    §8): its generator reads the node's other inputs as they arrive (zeros from a dead sender)."""
    filled = list(received)
    for i, link in enumerate(links):
        name = link_name(link.src, link.dst)
        if name not in stand_ins:
            continue
        prefix = f"{layer_prefix(link.src, link.dst)}_{STAND_IN}"
        generated = generator(prefix, received[:i] + received[i + 1 :], received[i])
        layer = StandIn(mux_columns(link, column, always_list=True), variant.reconstruction,
                        name=prefix)  # fmt: skip
        filled[i] = layer([received[i], generated, flags])
    return filled


def mux_columns(
    link: Link, column: dict[str, int], *, always_list: bool = False
) -> int | list[int] | None:
    """The alive columns that must be 1 for the mux to take ``link``: sender's and link's
    (a replicated sender's column as ``RoleFlags`` gives it: up while any replica is)."""
    columns = [column[name] for name in (link.src, link_name(link.src, link.dst)) if name in column]
    if always_list:
        return columns
    return None if not columns else columns[0] if len(columns) == 1 else columns


STACK_IN = "stack_in"
STACK_OUT = "stack_out"


def marker(x: Any, node: str, where: str) -> Any:
    """Name the tensor entering or leaving a node's layer stack, e.g. ``fog1_stack_in``.

    Identity layers cost nothing; they let the failure sweep cut a trained (or loaded) model
    into per-node sub-models, so each node's output is computed once per distinct input.
    """
    return keras.layers.Identity(name=f"{node}_{where}")(x)


def build_from_config(
    config: ExperimentConfig,
    variant_name: str,
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    seed: int,
    mux_detect: str = "alive",
) -> tuple[keras.Model, Family]:
    """Build one variant as the config describes it (hyperconnection weights, failout)."""
    variant = config.variant(variant_name)
    topology = topology_of(config, variant_name)
    module = FAMILIES[config.model.name].load()
    family = module.build_family(
        config.model, topology, num_classes, input_shape, hyperconnected=variant.skips
    )
    scheme = config.train.hyperconnection_weights
    survival, events = config.survival_per_node(), ()
    drawn = config.train.failout.model
    if drawn is not None:  # failout draws from a failure model: its survival, events and links
        model_of = FailureModel.from_config(drawn, config.failure_models[drawn], topology.failable)
        survival = dict(zip(topology.failable, model_of.survival, strict=True))
        survival.update(zip(model_of.links, model_of.link_survival, strict=True))
        events = model_of.events
    weights = hyperconnection_weights(
        topology, scheme.scheme, topology.reliability[scheme.setting], random.Random(seed)
    )
    model = build_model(
        topology=topology,
        variant=variant,
        family=family,
        input_shape=input_shape,
        weights=weights,
        survival=survival,
        granularity=config.train.failout.granularity,
        seed=seed,
        mux_detect=mux_detect,
        learned_weights=scheme.scheme == LEARNED,
        events=events,
        views=device_views(config.topology, input_shape, dataset_feature_names(config.dataset)),
        shared_devices=config.topology.shared,
    )
    return model, family
