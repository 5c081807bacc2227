"""Config problems as ``(key path, message)`` pairs: pydantic's errors made readable, the checks
that span several keys, and who to blame (the file or a ``--set``).
"""

from __future__ import annotations

import itertools
import math
import re
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from resilinet_cli.config import presets
from resilinet_cli.config.families import FAMILIES
from resilinet_cli.config.overrides import Edit, plain_edit
from resilinet_cli.config.yaml_file import read_yaml
from resilinet_cli.errors import ConfigError, unknown_choice
from resilinet_cli.topology import Topology, link_name, replica_name, topology_problems
from resilinet_cli.variants import VARIANTS, base_of, stand_in_slots, variant_topology

# list keys that a command-line flag sets too, for the "write a list" hint
LIST_FLAGS = {"variants": "--variants"}


def blame(source: str, overrides: Sequence[Edit | str], loc: str, message: str) -> str:
    """``file: key: message``, or ``--set key=value: message`` when an override set that key.

    An override is an ``Edit`` or the plain ``key=value`` text of the API and profiles.
    """
    edits = [o if isinstance(o, Edit) else plain_edit(o) for o in overrides]
    for override in reversed(edits):  # the last override of a key is the one that counts
        key = override.key
        if loc == key:
            return f"{override.label}: {message}"
        if loc.startswith((f"{key}.", f"{key}[")) or key.startswith(f"{loc}."):
            return f"{override.label}: {loc}: {message}"
    return f"{source}: {loc or '(top level)'}: {message}"


Model = typing.TypeVar("Model", bound=BaseModel)


def validated_file(path: Path, root: type[Model], shape: str) -> Model:
    """A YAML file of its own (a search space, a links file) read as ``root``: every problem
    one line naming the file and the key; ``shape`` says what the file must be otherwise."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: {shape}")
    try:
        return root.model_validate(raw)
    except ValidationError as error:
        lines = [f"{path.name}: {key}: {text}" for key, text in format_errors(error, root)]
        raise ConfigError("\n".join(lines)) from None


def format_errors(error: ValidationError, root: type[BaseModel]) -> list[tuple[str, str]]:
    """(key path, message) per problem, with did-you-mean for unknown keys and choices."""
    lines = []
    for problem in _merge_union_members(error.errors()):
        loc = problem["loc"]
        if problem["type"] == "extra_forbidden":
            known = _known_keys(root, loc[:-1])
            message = unknown_choice("key", loc[-1], known)
        elif problem["type"] == "literal_error" and isinstance(problem.get("input"), str):
            known = re.findall(r"'([^']*)'", problem.get("ctx", {}).get("expected", ""))
            message = unknown_choice(_choice_kind(loc), problem["input"], known)
        elif problem["type"] == "list_type" and isinstance(problem.get("input"), str | int):
            message = list_hint(loc_text(loc), str(problem["input"]))
        else:
            message = problem["msg"].removeprefix("Value error, ")
        lines.append((loc_text(loc), message))
    return lines


def list_hint(key: str, value: str) -> str:
    """What to write when a list key got one value (``variants=resilinet``), not pydantic's
    "Input should be a valid list"."""
    flag = LIST_FLAGS.get(key)
    return f"write a list: {key}=[{value}]" + (f" or {flag} {value}" if flag else "")


def _merge_union_members(problems: list[Any]) -> list[Any]:
    """One problem per key for ``A | B`` fields.

    Pydantic reports a failed union once per member, under a tag such as ``constrained-float``:
    ``survival: greater than 0`` and ``survival: should be a valid dictionary`` for
    ``survival: 0``. Keep the members whose type matched the input; when none did, join the
    expected types into one line.
    """
    groups: dict[Any, list[Any]] = {}
    for i, problem in enumerate(problems):
        loc = problem["loc"]
        tag = next((j for j, part in enumerate(loc) if _is_tag(part)), None)
        groups.setdefault(("union", loc[:tag]) if tag is not None else i, []).append(problem)
    merged = []
    for key, group in groups.items():
        if not isinstance(key, tuple) or len(group) == 1:
            merged.extend(group)
            continue
        matched = [p for p in group if not _is_type_mismatch(p)]
        if matched:
            merged.extend(matched)
        else:
            wanted = [p["msg"].removeprefix("Input should be ").split(",")[0] for p in group]
            merged.append(
                {**group[0], "loc": key[1], "msg": "Input should be " + " or ".join(wanted)}
            )
    return merged


def _is_type_mismatch(problem: Any) -> bool:
    """The input does not have this union member's type at all (not a bad value of it)."""
    return _is_tag(problem["loc"][-1]) and problem["type"].endswith(("_type", "_parsing"))


def _is_tag(part: str | int) -> bool:
    """A location part that names a schema (a union member), not a key the user wrote."""
    return isinstance(part, str) and (
        part.startswith(("function-", "constrained-", "tuple[", "list[", "dict["))
        or part in ("float", "str", "int")
    )


def _choice_kind(loc: Sequence[str | int]) -> str:
    """What a literal names: 'granularity', or 'variant' for an item of ``variants``."""
    names = [part for part in loc if isinstance(part, str) and not _is_tag(part)]
    name = names[-1] if names else "value"
    return name[:-1] if isinstance(loc[-1], int) and name.endswith("s") else name


def loc_text(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _is_tag(part):
            text += f".{part}" if text else part
    return text


def _known_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names of the section at ``loc``: what an unknown key could have meant."""
    annotation: Any = model
    for part in loc:
        annotation = _section_type(annotation)
        if (
            isinstance(part, str)
            and isinstance(annotation, type)
            and issubclass(annotation, BaseModel)
        ):
            field = annotation.model_fields.get(part)
            if field is None:
                return []
            annotation = field.annotation
    annotation = _section_type(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _section_type(annotation: Any) -> Any:
    """Unwrap Optional[...] down to the BaseModel it holds."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        models = [a for a in typing.get_args(annotation) if isinstance(a, type)]
        models = [a for a in models if issubclass(a, BaseModel)]
        return models[0] if models else annotation
    return annotation


def semantic_problems(config: Any) -> list[tuple[str, str]]:
    """Checks that span several keys: the topology graph, node names, partitions."""
    problems = topology_problems(config.topology)
    failable = config.topology.failable
    survival = config.train.failout.survival
    if isinstance(survival, dict):
        for node in survival:
            if node not in failable:
                message = unknown_choice("failable node", node, failable)
                problems.append((f"train.failout.survival.{node}", message))
    problems += variant_problems(config)
    for variant in config.variant_iterations:
        if variant not in config.variants:
            message = unknown_choice("variant of this run", variant, list(config.variants))
            problems.append((f"variant_iterations.{variant}", message))
    setting = config.train.hyperconnection_weights.setting
    if setting not in config.topology.reliability:
        message = unknown_choice("reliability setting", setting, list(config.topology.reliability))
        problems.append(("train.hyperconnection_weights.setting", message))
    if config.train.distribute != "none" and (config.train.gradient_accumulation_steps or 1) > 1:
        problems.append((
            "train.gradient_accumulation_steps",
            "does not work with train.distribute: mirrored (Keras 3 cannot accumulate gradients "
            "under tf.distribute); with N devices, multiply train.batch_size by N instead",
        ))  # fmt: skip
    optimizer = config.train.optimizer
    if optimizer.momentum and optimizer.name != "sgd":
        message = f"applies to sgd only (train.optimizer.name is {optimizer.name})"
        problems.append(("train.optimizer.momentum", message))
    if config.train.epoch_sweep and config.dataset and config.dataset.name == "imagenet":
        problems.append((
            "train.epoch_sweep",
            "needs a dataset held in memory; imagenet is streamed from folders, so sweep "
            "saved models with `resilinet evaluate` instead",
        ))  # fmt: skip
    family = FAMILIES[config.model.name]
    for key in sorted(config.model.model_fields_set - {"name", "partition", *family.keys}):
        message = f"does not apply to model '{config.model.name}' (its keys: "
        problems.append((f"model.{key}", message + ", ".join(("partition", *family.keys)) + ")"))
    if config.experiment.type == "failure_model" and not any(
        m.joint is None for m in config.failure_models.values()
    ):
        message = "failure_model compares failout drawn from failure_models; this config has "
        problems.append(
            ("experiment.type", message + "none but joint tables, which it cannot draw")
        )
    if config.experiment.type == "methods":
        problems += methods_problems(config)
    drawn = config.train.failout.model
    if drawn is not None:
        problems += _failout_model_problems(config, drawn)
    for name, model in config.failure_models.items():
        if name in config.topology.reliability:
            message = "is a reliability setting of the topology already; choose another name"
            problems.append((f"failure_models.{name}", message))
        problems += failure_model_problems(
            model, f"failure_models.{name}", config.topology, config.replica_columns()
        )
    problems += costs_problems(config)
    problems += live_problems(config)
    if config.model.name == "keras":
        if config.topology.devices:
            message = (
                "model 'keras' (a network of your own) takes one input: fan-in topologies "
                "need model mlp or mobilenet"
            )
            return [*problems, (config.topology.devices_key, message)]
        return problems + keras_problems(config.model, config.topology.nodes)
    devices = config.topology.devices
    receivers = config.topology.nodes[len(devices) + 1 :]
    if devices and not family.devices:
        able = ", ".join(name for name, info in FAMILIES.items() if info.devices)
        message = (
            f"model '{config.model.name}' cannot build input devices (families that can: "
            f"{able}); a network of your own takes one input"
        )
        problems.append((config.topology.devices_key, message))
    layers = config.model.layers_per_node
    if isinstance(layers, dict):
        for node in layers:
            if node not in receivers and node not in devices:
                problems.append(
                    (f"model.layers_per_node.{node}", unknown_choice("node", node, receivers))
                )
        missing = [node for node in receivers if node not in layers]
        if missing:
            problems.append(("model.layers_per_node", f"missing nodes: {', '.join(missing)}"))
    elif layers is None:
        partition = family.partitions.get(config.model.partition)
        if partition is None:
            known = ", ".join(str(p) for p in family.partitions)
            message = f"{config.model.name} has no partition setting {config.model.partition} "
            problems.append(("model.partition", message + f"(known: {known})"))
        elif len(partition) != len(receivers):
            fits = [f"topology={name}" for name in topology_presets(len(partition) + 1)]
            message = (
                f"partition {config.model.partition} places layers on {len(partition)} nodes, "
                f"but the topology has {len(receivers)} non-input nodes; "
                + (f"use a topology it fits ({' or '.join(fits)}) or " if fits else "")
                + "set model.layers_per_node instead"
            )
            problems.append(("model.partition", message))
    return problems


def costs_problems(config: Any) -> list[tuple[str, str]]:
    """Each ``costs:`` device is a node or standby replica, each link one of the topology's:
    a misspelt name would otherwise leave its figure unused and the real one missing. Missing
    figures are refused later, only where a cost model needs them (search/cost_model.py)."""
    if not config.costs.devices and not config.costs.links:
        return []
    topology = config.topology
    devices = [*topology.nodes, *(column for column, _ in config.replica_columns())]
    links = [link_name(a, b) for a, b in [*topology.links, *topology.skips]]
    problems = []
    for device in config.costs.devices:
        if device not in devices:
            problems.append((f"costs.devices.{device}", unknown_choice("device", device, devices)))
    for link in config.costs.links:
        if link not in links:
            problems.append((f"costs.links.{link}", unknown_choice("link", link, links)))
    return problems


def live_problems(config: Any) -> list[tuple[str, str]]:
    """Each ``live.links`` name is a link of the topology (a chain link or a skip)."""
    links = [link_name(a, b) for a, b in [*config.topology.links, *config.topology.skips]]
    return [
        (f"live.links.{link}", unknown_choice("link", link, links))
        for link in config.live.links
        if link not in links
    ]


def methods_problems(config: Any) -> list[tuple[str, str]]:
    """A methods experiment tests every row against one variant of the run, and draws one
    setting: both must be names the run has."""
    problems = []
    experiment = config.experiment
    if experiment.reference not in config.variants:
        message = unknown_choice("variant of this run", experiment.reference, config.variants)
        problems.append(("experiment.reference", message))
    settings = [*config.topology.reliability, *config.failure_models]
    if experiment.setting is not None and experiment.setting not in settings:
        message = unknown_choice(
            "reliability setting or failure model", experiment.setting, settings
        )
        problems.append(("experiment.setting", message))
    return problems


def topology_presets(nodes: int) -> list[str]:
    """The shipped topology presets with ``nodes`` nodes: the fix to suggest for a model preset
    whose partition does not fit the topology (``model=mobilenet`` on Health: ``topology=cnn``)."""
    folder = presets.PACKAGE / presets.FOLDERS["topology"]
    names = []
    for path in sorted(folder.glob("*.yaml")):
        section = read_yaml(path)
        chain = isinstance(section, dict) and not ({"inputs", "views"} & set(section))
        if chain and len(section.get("nodes") or ()) == nodes:  # fan-in ones have devices too
            names.append(path.stem)
    return names


def keras_problems(model: Any, nodes: Sequence[str]) -> list[tuple[str, str]]:
    """The keras family's keys, checked without loading the network (docs/byom.md)."""
    problems = []
    if (model.source is None) == (model.path is None):
        message = "give exactly one of model.source (keras.applications.<Name> or "
        problems.append(
            ("model.source", message + "module:function) and model.path (a .keras file)")
        )
    elif model.source is not None and not _is_source(model.source):
        message = f"'{model.source}' is neither keras.applications.<Name> nor module:function"
        problems.append(("model.source", message))
    for key, suffixes in (("path", (".keras",)), ("weights", (".keras", ".weights.h5"))):
        file = getattr(model, key)
        if file is None:
            continue
        if not str(file).endswith(suffixes):  # whether it exists: when it is loaded (a report
            message = f"{file}: expected a {' or '.join(suffixes)} file"  # needs no network)
            problems.append((f"model.{key}", message))
    cuts = model.cut if isinstance(model.cut, list) else [model.cut]
    if isinstance(model.cut, list) and not 1 <= model.partition <= len(cuts):
        message = f"partition {model.partition} picks none of model.cut's {len(cuts)} mappings"
        return [*problems, ("model.partition", message)]
    cut = cuts[model.partition - 1] if isinstance(model.cut, list) else model.cut
    key = f"model.cut[{model.partition - 1}]" if isinstance(model.cut, list) else "model.cut"
    senders = list(nodes[:-1])
    if not cut:
        message = f"name the last layer of each node but the output node: {', '.join(senders)}"
        return [*problems, (key, message)]
    for node in cut:
        if node not in senders:
            problems.append((f"{key}.{node}", unknown_choice("node", node, senders)))
    missing = [node for node in senders if node not in cut]
    if missing:
        problems.append(
            (key, f"missing nodes: {', '.join(missing)} (the output node takes the rest)")
        )
    return problems


def _is_source(source: str) -> bool:
    module, colon, function = source.partition(":")
    if colon:
        return all(part.isidentifier() for part in [*module.split("."), function])
    return source.startswith("keras.applications.") and source.split(".")[-1].isidentifier()


def failure_model_problems(
    model: Any, key: str, topology: Any, replicas: Sequence[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    """One failure model's problems against the topology and the standby ``replicas`` of the
    config's variants (failure_model.py), by key path."""
    failable = [*topology.failable, *(column for column, _ in replicas)]
    links = [f"{src}->{dst}" for src, dst in [*topology.links, *topology.skips]]
    failable_links = list(topology.failable_links)
    key = f"{key}." if key else ""  # a failure model's own file has no key above it
    problems = []
    if model.joint is not None:
        given = [name for name in ("survival", "common_cause", "links") if getattr(model, name)]
        if given:
            message = f"a joint table replaces {', '.join(given)}; give one or the other"
            problems.append((f"{key}joint", message))
        widths = (len(failable), len(failable) + len(failable_links))
        return problems + _joint_problems(model.joint, f"{key}joint", widths, failable)
    for node in model.survival:
        if node not in failable:
            problems.append((f"{key}survival.{node}", unknown_choice("node", node, failable)))
    for i, event in enumerate(model.common_cause):
        where = f"{key}common_cause[{i}].nodes"
        if not event.nodes:
            problems.append((where, "an event kills at least one node; this one lists none"))
        for node in event.nodes:
            if node not in failable:
                problems.append((where, unknown_choice("failable node", node, failable)))
    for link in model.links:
        if link not in links:
            problems.append((f"{key}links.{link}", unknown_choice("link", link, links)))
        elif link not in failable_links:
            message = f"link '{link}' is not failable: list it under topology.failable_links"
            problems.append((f"{key}links.{link}", message))
    return problems


def _joint_problems(
    joint: dict[str, float], key: str, widths: tuple[int, int], nodes: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """A joint table lists every combination once, by its bit string, and sums to 1.

    Its bit strings hold the failable nodes' flags, or those then the failable links'.
    """
    first = next(iter(joint), "")
    width = len(first) if len(first) in widths else widths[0]
    every = ["".join(bits) for bits in itertools.product("01", repeat=width)]
    bad = [text for text in joint if text not in every]
    if bad:
        expected = f"{widths[0]} failable-node flags"
        if nodes:  # in their order: a standby replica's column is easy to forget
            expected += f" ({', '.join(nodes)})"
        if widths[1] > widths[0]:
            expected += f" (or {widths[1]} with the failable links)"
        return [(f"{key}.{bad[0]}", f"expected a bit string of {expected}")]
    missing = [text for text in every if text not in joint]
    if missing:
        shown = ", ".join(missing[:8]) + (", ..." if len(missing) > 8 else "")
        return [(key, f"misses combinations {shown} (list every one, 0 where it never happens)")]
    total = math.fsum(joint.values())
    if abs(total - 1.0) > 1e-9:
        return [(key, f"the probabilities sum to {total:.12g}, not 1 (within 1e-9)")]
    return []


def _failout_model_problems(config: Any, name: str) -> list[tuple[str, str]]:
    """``train.failout.model`` names a failure model that failout can draw from."""
    key = "train.failout.model"
    if name not in config.failure_models:
        return [(key, unknown_choice("failure model", name, list(config.failure_models)))]
    model = config.failure_models[name]
    if model.joint is not None:
        return [(key, "failout cannot draw a joint table; give a model of survival, "
                      "common_cause events and links")]  # fmt: skip
    never = [name for name, p in [*model.survival.items(), *model.links.items()] if p == 0]
    if never:
        return [(key, f"{name} gives {', '.join(never)} survival 0: failout would never "
                      "train them")]  # fmt: skip
    return []


def variant_problems(config: Any) -> list[tuple[str, str]]:
    """Every name in ``variants:`` is built in or defined under ``techniques:``; every
    definition extends a built-in variant with exits at non-final nodes of the topology."""
    problems: list[tuple[str, str]] = []
    known = [*VARIANTS, *config.techniques]
    for i, name in enumerate(config.variants):
        if name not in known:
            problems.append((f"variants[{i}]", unknown_choice("variant", name, known)))
    nodes = list(config.topology.nodes)
    for name, spec in config.techniques.items():
        where = f"techniques.{name}"
        if name in VARIANTS:
            problems.append((where, "is a built-in variant already; choose another name"))
            continue
        base = base_of(name, spec)
        if base not in VARIANTS:
            message = unknown_choice("base variant", base, VARIANTS)
            problems.append((f"{where}.base", f"{message}; name one with `base:`"))
        for i, node in enumerate(spec.exits):
            if node not in nodes:
                problems.append((f"{where}.exits[{i}]", unknown_choice("node", node, nodes[:-1])))
            elif node == nodes[-1]:
                message = f"'{node}' is the final node, whose output is the model's own"
                problems.append((f"{where}.exits[{i}]", message))
            elif spec.exits.index(node) != i:
                problems.append((f"{where}.exits[{i}]", f"'{node}' is listed twice"))
        listed = [node for node in spec.exits if node in nodes]
        in_order = [node for node in nodes if node in listed]
        if len(set(listed)) == len(listed) and listed != in_order:
            message = f"list the exits in the order of topology.nodes: {in_order}"
            problems.append((f"{where}.exits", message))
        if spec.target_exit_rate is not None and spec.max_accuracy_drop is not None:
            message = "give one of target_exit_rate and max_accuracy_drop, not both"
            problems.append((f"{where}.max_accuracy_drop", message))
        if spec.exit_weights and len(spec.exit_weights) != len(spec.exits) + 1:
            message = (
                f"needs {len(spec.exits) + 1} weights (the final output's, then one per exit), "
                f"got {len(spec.exit_weights)}"
            )
            problems.append((f"{where}.exit_weights", message))
        problems += replica_problems(config, where, spec)
        problems += stand_in_problems(config, name, where, spec)
        if spec.exits and (spec.replicas or spec.stand_in):
            message = "exits do not combine with replicas or stand-ins in one variant yet"
            problems.append((f"{where}.exits", message))
    return problems


MAX_REPLICAS = 4


def replica_problems(config: Any, where: str, spec: Any) -> list[tuple[str, str]]:
    """Replicas serve failable nodes, at least two each; a standby belongs to one of them."""
    problems = []
    topology = config.topology
    for node, count in spec.replicas.items():
        key = f"{where}.replicas.{node}"
        if node in topology.devices:
            problems.append((key, f"'{node}' is an input device, which has no standby replicas"))
        elif node in (topology.nodes[len(topology.devices)], topology.nodes[-1]):
            message = f"'{node}' is the input or output node, which never fails: replicate a "
            problems.append((key, message + f"failable node ({', '.join(topology.failable)})"))
        elif node in topology.nodes and node not in topology.failable:
            message = f"'{node}' is not in topology.failable, so it never fails: replicate a "
            problems.append((key, message + f"failable node ({', '.join(topology.failable)})"))
        elif node not in topology.failable:
            problems.append((key, unknown_choice("failable node", node, topology.failable)))
        if count < 2:
            message = f"needs at least 2 replicas (the primary and a standby), got {count}"
            problems.append((key, message))
        elif count > MAX_REPLICAS:  # each replica doubles the combinations to sweep
            message = f"at most {MAX_REPLICAS} replicas per node (each doubles the combinations)"
            problems.append((key, f"{message}, got {count}"))
        taken = [replica_name(node, k) for k in range(2, count + 1) if replica_name(node, k)
                 in topology.nodes]  # fmt: skip
        if taken:
            message = f"the replica's column '{taken[0]}' is already a node's name; rename the node"
            problems.append((key, message))
    if spec.replicas and not FAMILIES[config.model.name].standbys:
        able = ", ".join(name for name, info in FAMILIES.items() if info.standbys)
        message = (
            f"model '{config.model.name}' cannot build standbys yet (families that can: {able})"
        )
        problems.append((f"{where}.replicas", message))
    for node in spec.standby:
        if node not in spec.replicas:
            message = f"'{node}' has no standby: list it under replicas first"
            problems.append((f"{where}.standby.{node}", message))
    return problems


def stand_in_problems(config: Any, name: str, where: str, spec: Any) -> list[tuple[str, str]]:
    """A stand-in predicts a dead sender's output from its receiver's other inputs: it needs a
    receiver with two or more inputs and a failable sender or link among them."""
    if not spec.stand_in or base_of(name, spec) not in VARIANTS:
        return []
    if topology_problems(config.topology):
        return []  # reported already
    base = VARIANTS[base_of(name, spec)]
    slots = stand_in_slots(
        variant_topology(Topology.from_config(config.topology), base), base.merge
    )
    if not slots:
        message = (
            f"no node of {base_of(name, spec)}'s topology receives two inputs with a failable "
            "sender, so a stand-in has nothing to predict from (Vanilla's nodes each receive "
            "one, unless topology.links joins two into a node); use a base with skips"
        )
        return [(f"{where}.stand_in", message)]
    problems = []
    if isinstance(spec.stand_in, list):
        for i, link in enumerate(spec.stand_in):
            if link not in slots:
                message = unknown_choice("stand-in slot", link, slots) + (
                    ": a slot is a link from a failable sender (or a failable link) into a node"
                    " with another input; on a mux, only the node's chain link"
                )
                problems.append((f"{where}.stand_in[{i}]", message))
    return problems
