"""A search's plan, made before anything trains: the objective, every candidate with its costs,
the constraints' verdicts, and how a sampler's choice finds its candidate.

Everything the user can get wrong (the space file, a cut, a cost model, constraints nothing
meets) is refused here in one line, so a bad search fails in seconds, not after a training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.errors import ConfigError, unknown_choice
from resilinet_cli.search import candidates as cand
from resilinet_cli.search.objectives import chosen_objective
from resilinet_cli.search.space import SearchSpace


@dataclass
class SearchPlan:
    """What ``resilinet search`` will train, and why the rest is left out."""

    config: ExperimentConfig
    space: SearchSpace
    objective: str
    candidates: list[cand.Candidate]  # every distinct training, pruned ones too
    choices: list[dict[str, Any]]  # every combination of the dimensions' values
    lookup: dict[str, str]  # choice_key -> candidate id
    cuts: list[dict[str, str]]
    sources: dict[str, str]  # cost figure -> where it came from

    @property
    def fitting(self) -> list[cand.Candidate]:
        return [c for c in self.candidates if not c.pruned]

    @property
    def cost(self) -> str:
        """The sampler's second objective."""
        return self.space.minimise[0]


def plan_search(
    config: ExperimentConfig,
    space: SearchSpace,
    space_file: Path,
    config_file: str,
    *,
    on_costing: Callable[[int, int], None] | None = None,
) -> SearchPlan:
    """The plan, or ConfigError naming the file and key of the first problem."""
    from resilinet_cli.search.cost_model import CostModel

    where = space_file.name
    cand.check_dimensions(space, config, where)
    objective = chosen_objective(config, space.objective, where)
    if space.sampler == "nsga2":
        check_generations(space, where)
    network = None
    if config.model.name == "keras":
        import keras

        from resilinet_cli.models.keras_source import load_network

        # the names a trial's fresh process gives the network's auto-named layers (Keras
        # numbers them on every load in a process: global_average_pooling2d_1, ...)
        keras.backend.clear_session()
        network = load_network(config.model)
    cuts = cand.cut_options(space, config, where, network)
    choices = cand.choices(space, config, cuts)
    designs = [cand.design_of(choice, config, cuts) for choice in choices]
    candidates, ids = cand.deduplicated(designs, config, config_file)
    lookup = {cand.choice_key(c): i for c, i in zip(choices, ids, strict=True)}
    needs_latency = "latency_ms" in space.minimise or space.constraints.max_latency_ms
    model = CostModel.from_config(config, config_file) if needs_latency else None
    price = pricer(config, model, network)
    cache: dict[Any, dict[str, Any]] = {}
    for done, c in enumerate(candidates):
        shape = (c.design.variant, c.design.cut, c.design.partition, c.design.skips)
        if shape not in cache:
            cache[shape] = price(c).row()
        c.costs = cache[shape]
        if on_costing:
            on_costing(done + 1, len(candidates))
    check_costs(space, candidates, where)
    cand.prune(candidates, space, where)
    sources = model.sources() if model is not None else {}
    return SearchPlan(config, space, objective, candidates, choices, lookup, cuts, sources)


def pricer(config: ExperimentConfig, model: Any, network: Any) -> Callable[[cand.Candidate], Any]:
    """How a candidate's costs are found. A keras-family network is profiled once and every
    plain design priced by arithmetic (thousands of cut tuples in seconds; the builder's own
    glue layers, gates and merges of a few FLOPs per element, are left out: docs/search.md);
    a design with exits, standbys or stand-ins, or a built-in family, is built and counted."""
    from resilinet_cli.search.cost_model import NetworkProfile, design_costs

    profile = NetworkProfile(network) if network is not None else None

    def price(c: cand.Candidate) -> Any:
        spec = config.variant(c.design.variant)
        plain = not (spec.exits or spec.replicas or spec.stand_in)
        if profile is not None and plain and c.design.cut is not None:
            topology = cand.design_topology(config, c.design)
            return profile.costs(dict(c.design.cut), topology, model)
        return design_costs(c.config, c.design.variant, model)

    return price


def check_costs(space: SearchSpace, candidates: list[cand.Candidate], where: str) -> None:
    """Every cost the front minimises is a column of the candidates' costs."""
    known = sorted({k for c in candidates for k in c.costs})
    for i, name in enumerate(space.minimise):
        if name not in known:
            raise ConfigError(f"{where}: minimise[{i}]: " + unknown_choice("cost", name, known))
    for device in space.constraints.max_flops:
        if f"flops_{device}" not in known:
            devices = [k.removeprefix("flops_") for k in known if k.startswith("flops_")]
            raise ConfigError(
                f"{where}: constraints.max_flops.{device}: "
                + unknown_choice("device", device, devices)
            )


def check_generations(space: SearchSpace, where: str) -> None:
    """NSGA-II needs two generations or more; fewer is a random search under another name."""
    population = space.population or 50  # Optuna's default
    if (space.trials or 0) < 2 * population:
        raise ConfigError(
            f"{where}: sampler: nsga2 with population {population} needs at least "
            f"{2 * population} trials for two generations (trials: {space.trials}); "
            "use tpe or grid, or lower population"
        )
