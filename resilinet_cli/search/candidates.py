"""Candidates of a search: every design of the space, as the config its trial trains, costed and
pruned before anything trains.

A design is one value per dimension (space.py). Its config is CONFIG with that value set and
one variant, one iteration; designs whose configs train the same model (equal training keys:
Vanilla ignores skips and failout) are one candidate, so no model trains twice.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.config.schema import validate_config
from resilinet_cli.errors import ConfigError, unknown_choice
from resilinet_cli.experiments import reuse
from resilinet_cli.results import runs
from resilinet_cli.search.space import SearchSpace
from resilinet_cli.topology import LINK_ARROW, Topology, link_name
from resilinet_cli.variants import topology_of


@dataclass(frozen=True)
class Design:
    """One point of the space; ``None`` where the variant has no such choice (Vanilla's
    failout) or the family none (a built-in family's cut)."""

    variant: str
    epochs: int
    skips: tuple[str, ...] = ()
    cut: tuple[tuple[str, str], ...] | None = None
    partition: int | None = None
    failout: float | None = None
    granularity: str | None = None

    def columns(self) -> dict[str, Any]:
        """The design as trials.csv columns (empty where the design has no such choice)."""
        return {
            "variant": self.variant,
            "cut": " ".join(layer for _, layer in self.cut) if self.cut else None,
            "partition": self.partition,
            "skips": " ".join(self.skips) if self.skips else "none",
            "failout": self.failout,
            "granularity": self.granularity,
            "epochs": self.epochs,
        }

    def label(self) -> str:
        """A short readable name: 'resilinet cut=a/b/c skips=iot->fog failout=0.9 e4'."""
        parts = [self.variant]
        if self.cut:
            parts.append("cut=" + "/".join(layer for _, layer in self.cut))
        if self.partition is not None:
            parts.append(f"partition={self.partition}")
        parts.append("skips=" + ("+".join(self.skips) if self.skips else "none"))
        if self.failout is not None:
            parts.append(f"failout={self.failout:g}" + (
                f"/{self.granularity}" if self.granularity == "example" else ""
            ))  # fmt: skip
        parts.append(f"e{self.epochs}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (a Tune trial's config carries it)."""
        data = {k: v for k, v in vars(self).items() if v is not None}
        if self.cut is not None:
            data["cut"] = [list(pair) for pair in self.cut]
        data["skips"] = list(self.skips)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Design:
        cut = data.get("cut")
        return cls(**{
            **data,
            "skips": tuple(data.get("skips", ())),
            "cut": tuple(tuple(pair) for pair in cut) if cut is not None else None,
        })  # fmt: skip


@dataclass
class Candidate:
    """A design to train: its training key, the designs it stands for, and its costs; its
    config is derived from CONFIG when asked (a space of every cut tuple holds tens of
    thousands of candidates, and a config each would take gigabytes)."""

    design: Design
    base: ExperimentConfig  # CONFIG
    source: str  # its file, for messages
    key: str
    same_as: list[str] = field(default_factory=list)  # other designs with this training
    costs: dict[str, Any] = field(default_factory=dict)  # DesignCosts.row()
    pruned: str = ""  # why the constraints rule it out ("" fits)

    @functools.cached_property
    def config(self) -> ExperimentConfig:
        """CONFIG with the design's values (``design_config``)."""
        return design_config(self.base, self.design, self.source)

    @property
    def id(self) -> str:
        """The trial's folder name: the training key's first 12 hex digits."""
        return self.key[:12]

    @property
    def unit(self) -> runs.Unit:
        return trial_unit(self.config, self.design.variant)


def trial_unit(config: ExperimentConfig, variant: str) -> runs.Unit:
    """A trial trains one unit: the variant's first iteration, with CONFIG's seed."""
    return runs.Unit(variant=variant, iteration=1, seed=runs.iteration_seed(config, 1))


def choices(
    space: SearchSpace, config: ExperimentConfig, cuts: Sequence[dict[str, str]]
) -> list[dict[str, Any]]:
    """Every combination of the dimensions' values, in the grid's order; a cut is named by its
    index in ``cuts``, a skip set by its label ("iot->fog+edge->cloud", or "none")."""
    dims, train = space.dimensions, config.train
    survival = train.failout.survival
    own_skips = [f"{s}{LINK_ARROW}{d}" for s, d in config.topology.skips]
    values = {
        "variant": dims.variant or list(config.variants[:1]),
        "cut": list(range(len(cuts))) or [None],
        "partition": dims.partition or [None],
        "skips": [skip_label(skips) for skips in (dims.skips or [own_skips])],
        "failout": dims.failout or [survival if isinstance(survival, float) else None],
        "granularity": dims.granularity or [train.failout.granularity],
        "epochs": dims.epochs or [train.epochs],
    }
    return [dict(zip(values, combo, strict=True)) for combo in itertools.product(*values.values())]


def skip_label(skips: Sequence[str]) -> str:
    return "+".join(skips) if skips else "none"


def design_of(
    choice: dict[str, Any], config: ExperimentConfig, cuts: Sequence[dict[str, str]]
) -> Design:
    """The design a choice makes, normalised: a variant without skips or failout gets none,
    so that equal trainings compare equal."""
    spec = config.variant(choice["variant"])
    skips = () if choice["skips"] == "none" else tuple(choice["skips"].split("+"))
    cut = cuts[choice["cut"]] if choice["cut"] is not None else None
    return Design(
        variant=choice["variant"],
        epochs=choice["epochs"],
        skips=skips if spec.skips else (),
        cut=tuple(cut.items()) if cut is not None else None,
        partition=choice["partition"],
        failout=choice["failout"] if spec.failout else None,
        granularity=choice["granularity"] if spec.failout else None,
    )


def design_topology(config: ExperimentConfig, design: Design) -> Topology:
    """The topology a design's variant trains on (``topology_of`` its config), from CONFIG
    without building the config: the variant's topology less the skips the design leaves out."""
    topology = topology_of(config, design.variant)
    kept = [link for link in topology.links
            if not link.skip or link_name(link.src, link.dst) in design.skips]  # fmt: skip
    return replace(topology, links=tuple(kept))


def design_config(config: ExperimentConfig, design: Design, source: str) -> ExperimentConfig:
    """CONFIG with the design's values: one variant, one iteration."""
    raw = config.to_dict()
    raw["variants"] = [design.variant]
    raw["iterations"] = 1
    raw.pop("variant_iterations", None)
    raw["topology"]["skips"] = [list(skip.split(LINK_ARROW)) for skip in design.skips]
    if raw.get("costs", {}).get("links"):  # the figures of the skips this design leaves out go
        chain = {f"{s}{LINK_ARROW}{d}" for s, d in config.topology.links}
        kept = chain | set(design.skips)
        raw["costs"]["links"] = {k: v for k, v in raw["costs"]["links"].items() if k in kept}
    raw["train"]["epochs"] = design.epochs
    if design.cut is not None:
        raw["model"]["cut"] = dict(design.cut)
        raw["model"]["partition"] = 1
    if design.partition is not None:
        raw["model"]["partition"] = design.partition
    if design.failout is not None:
        raw["train"]["failout"]["survival"] = design.failout
    if design.granularity is not None:
        raw["train"]["failout"]["granularity"] = design.granularity
    return validate_config(raw, source)


def cut_options(
    space: SearchSpace, config: ExperimentConfig, where: str, network: Any = None
) -> list[dict[str, str]]:
    """The cuts the space names, each checked (the message ``resilinet partition`` users know),
    or every valid tuple of cut points for ``cut: all``; [] when the space has no cut.
    ``network`` is CONFIG's, if already loaded."""
    if space.dimensions.cut is None:
        return []
    import keras

    from resilinet_cli.models.cuts import LayerGraph
    from resilinet_cli.models.keras_source import load_network

    # one load per process: Keras numbers the auto-named layers of every later load
    graph = LayerGraph(network if network is not None else load_network(config.model))
    nodes = list(config.topology.nodes[:-1])
    if space.dimensions.cut != "all":
        for i, cut in enumerate(space.dimensions.cut):
            if list(cut) != nodes:
                raise ConfigError(
                    f"{where}: dimensions.cut[{i}]: name the last layer of "
                    f"{', '.join(nodes)}, in that order"
                )
            graph.check_cuts(cut, key=f"{where}: dimensions.cut[{i}]")
        return [dict(cut) for cut in space.dimensions.cut]
    found = []
    network_inputs = {layer.name for layer in graph.network.layers
                      if isinstance(layer, keras.layers.InputLayer)}  # fmt: skip
    # a node needs layers of its own: the input layer is no cut (Keras also renames it, as
    # input_layer_1, ..., each time one process loads the network again)
    points = [name for name in graph.cut_points() if name not in network_inputs]
    for layers in itertools.combinations(points, len(nodes)):
        cut = dict(zip(nodes, layers, strict=True))
        try:
            graph.check_cuts(cut)
        except ConfigError:
            continue  # beside each other, not one after the other
        found.append(cut)
    return found


def check_dimensions(space: SearchSpace, config: ExperimentConfig, where: str) -> None:
    """The space's values against CONFIG, before anything is built: one line per problem."""
    dims = space.dimensions
    known_skips = [f"{s}{LINK_ARROW}{d}" for s, d in config.topology.skips]
    for i, skips in enumerate(dims.skips or []):
        for skip in skips:
            if skip not in known_skips:
                raise ConfigError(
                    f"{where}: dimensions.skips[{i}]: "
                    + unknown_choice("skip hyperconnection", skip, known_skips)
                    + " (CONFIG's topology.skips)"
                )
    for i, variant in enumerate(dims.variant or []):
        try:
            config.variant(variant)
        except (KeyError, ValueError) as error:
            raise ConfigError(f"{where}: dimensions.variant[{i}]: {error}") from None
    family = config.model.name
    if dims.cut is not None and family != "keras":
        raise ConfigError(
            f"{where}: dimensions.cut: the {family} family has no cut points; "
            "use dimensions.partition"
        )
    if dims.partition is not None:
        from resilinet_cli.config.families import FAMILIES

        known = sorted(FAMILIES[family].partitions)
        for i, value in enumerate(dims.partition):
            if value not in known:
                raise ConfigError(
                    f"{where}: dimensions.partition[{i}]: the {family} family has partitions "
                    f"{', '.join(map(str, known)) or 'none'} (use dimensions.cut)"
                )
    for i, epochs in enumerate(dims.epochs or []):
        if epochs < 1:
            raise ConfigError(f"{where}: dimensions.epochs[{i}]: at least 1")


def deduplicated(
    designs_: Sequence[Design], config: ExperimentConfig, source: str
) -> tuple[list[Candidate], list[str]]:
    """One candidate per distinct training, in the designs' order; and each design's
    candidate id."""
    found: dict[str, Candidate] = {}
    ids = []
    for design in designs_:
        cand_config = design_config(config, design, source)
        key = reuse.training_key(cand_config, trial_unit(cand_config, design.variant))
        if key not in found:
            found[key] = Candidate(design, config, source, key)
        elif found[key].design != design and design.label() not in found[key].same_as:
            found[key].same_as.append(design.label())
        ids.append(found[key].id)
    return list(found.values()), ids


def choice_key(choice: dict[str, Any]) -> str:
    """A sampler's choice as one string (Optuna hands back the values it was offered)."""
    names = ("variant", "cut", "partition", "skips", "failout", "granularity", "epochs")
    return "|".join(f"{name}={choice.get(name)}" for name in names)


def prune(candidates: Sequence[Candidate], space: SearchSpace, where: str) -> list[Candidate]:
    """Mark every candidate the constraints rule out; ConfigError if none fits."""
    limits = space.constraints
    checks: list[tuple[str, str, float, Callable[[dict[str, Any]], float | None]]] = []
    for device, limit in limits.max_flops.items():
        checks.append((f"flops_{device}", f"constraints.max_flops.{device}", limit,
                       lambda row, d=device: row.get(f"flops_{d}")))  # fmt: skip
    if limits.max_link_bytes is not None:
        checks.append(("link bytes", "constraints.max_link_bytes", limits.max_link_bytes,
                       lambda row: max(link_bytes(row).values(), default=0)))  # fmt: skip
    if limits.max_latency_ms is not None:
        checks.append(("latency_ms", "constraints.max_latency_ms", limits.max_latency_ms,
                       lambda row: row.get("latency_ms")))  # fmt: skip
    for candidate in candidates:
        reasons = []
        for name, key, limit, value_of in checks:
            value = value_of(candidate.costs)
            if value is None:
                raise ConfigError(f"{where}: {key}: no figure for {name} (costs: section)")
            if value > limit:
                reasons.append(f"{name} {value:,.6g} > {limit:,.6g}")
        candidate.pruned = "; ".join(reasons)
    fitting = [c for c in candidates if not c.pruned]
    if not fitting and candidates:
        smallest = []
        for name, key, limit, value_of in checks:
            least = min(value_of(c.costs) for c in candidates)
            if least > limit:
                smallest.append(f"the smallest {name} is {least:,.6g} ({key}: {limit:,.6g})")
        raise ConfigError(f"{where}: 0 of {len(candidates)} candidates fit: " + "; ".join(smallest))
    return list(candidates)


def link_bytes(row: dict[str, Any]) -> dict[str, float]:
    """The ``bytes_<src>-><dst>`` columns of a costs row."""
    return {k: v for k, v in row.items() if k.startswith("bytes_") and LINK_ARROW in k}


def search_digest(config: ExperimentConfig, space: SearchSpace) -> str:
    """What a search folder belongs to: CONFIG as resolved (its costs and failure models too:
    they decide what is pruned and scored) and the space, less how many trials run at once."""
    data = space.model_dump(mode="json")
    data.pop("max_concurrent_trials", None)
    text = json.dumps({"config": config.to_dict(), "space": data}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
