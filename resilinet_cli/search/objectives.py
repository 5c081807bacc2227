"""What a trial is scored on: expected accuracy under every reliability setting and failure
model of CONFIG, and the worst case over the combinations likely enough to matter.

Both come exactly from one sweep's combinations table (validation each epoch, test at the end),
so one training serves every objective.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.errors import ConfigError, unknown_choice
from resilinet_cli.failure_model import FailureModel, configured
from resilinet_cli.topology import LINK_ARROW, Topology
from resilinet_cli.variants import topology_of


def objective_names(config: ExperimentConfig) -> list[str]:
    """The settings, then the failure models, in CONFIG's order."""
    return [*config.topology.reliability, *config.failure_models]


def models_for(topology: Topology, config: ExperimentConfig) -> dict[str, FailureModel]:
    """Every objective as a distribution over ``topology``'s combination columns."""
    models = {
        setting: FailureModel(setting, topology.columns, topology.survival(reliability))
        for setting, reliability in topology.reliability.items()
    }
    primary = dict(topology.replicas)
    for model in configured(config):
        models[model.name] = model.for_nodes(topology.alive_columns, primary)
    return models


def hardest(config: ExperimentConfig) -> str:
    """The objective under which every failable node is least likely alive."""
    topology = Topology.from_config(config.topology).with_replicas(config.replica_counts())
    models = models_for(topology, config)
    return min(models, key=lambda name: models[name].probability((1,) * len(models[name].columns)))


def chosen_objective(config: ExperimentConfig, asked: str | None, where: str) -> str:
    """The space's objective, checked; the hardest when it names none."""
    names = objective_names(config)
    if asked is None:
        return hardest(config)
    if asked not in names:
        raise ConfigError(f"{where}: objective: " + unknown_choice("objective", asked, names))
    return asked


def score(
    combinations: pd.DataFrame,
    config: ExperimentConfig,
    variant: str,
    epsilon: float,
) -> dict[str, float]:
    """``expected_<objective>`` and ``worst_<objective>`` of one combinations table.

    The worst case is the lowest accuracy over the combinations whose probability under the
    objective is at least ``epsilon`` (NaN if none is).
    """
    topology = topology_of(config, variant).for_table(combinations.columns)
    scores: dict[str, float] = {}
    for name, model in models_for(topology, config).items():
        if not set(model.columns) <= set(combinations.columns):
            continue
        # a failable link the model does not name always carries data under it
        unnamed = [c for c in combinations.columns if LINK_ARROW in c and c not in model.columns]
        rows = combinations[(combinations[unnamed] == 1).all(axis=1)] if unnamed else combinations
        accuracy = rows["accuracy"].to_numpy(dtype=float).tolist()
        flags = rows[list(model.columns)].to_numpy(dtype=int).tolist()
        chances = [model.probability(tuple(row)) for row in flags]
        scores[f"expected_{name}"] = math.fsum(
            p * a for p, a in zip(chances, accuracy, strict=True)
        )
        likely = [a for p, a in zip(chances, accuracy, strict=True) if p >= epsilon]
        scores[f"worst_{name}"] = min(likely) if likely else math.nan
    return scores


def prefixed(scores: Mapping[str, float], split: str) -> dict[str, float]:
    """``val_expected_hazardous`` and so on: every score labelled with its split."""
    return {f"{split}_{name}": value for name, value in scores.items()}
