"""Experiment types (paper_spec §7): which models a run trains, and what varies between them.

Every unit is the run's config plus a few ``key=value`` overrides, so each trained model is an
ordinary config and its files follow the same schema. The ablation factor becomes one extra
column of the tables (``failout_survival``, ``weight_scheme``, ``skip_config``, ``partition``,
``merge``). Iteration k uses the same seed at every level, so levels are compared pairwise.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import NamedTuple

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.runs import Unit, iteration_seed

MERGE = {"resilinet": "mux", "resilinet_plus": "add", "deepfogguard": "add", "vanilla": "none"}


class Level(NamedTuple):
    """One level of an experiment's factor, as the config overrides that produce it."""

    factor: str | None = None  # the extra table column
    value: str | None = None  # its value in that column
    trained_for: str | None = None  # a model trained for one reliability setting is scored on it
    overrides: tuple[str, ...] = ()


def plan_units(
    config: ExperimentConfig, variants: Iterable[str], iterations: Iterable[int]
) -> list[Unit]:
    """All units of the config's experiment, for the chosen variants and iterations."""
    iterations = list(iterations)
    return [
        Unit(variant, k, iteration_seed(config, k), *level)
        for variant in variants
        for level in factor_levels(config, variant)
        for k in iterations
    ]


def factor_levels(config: ExperimentConfig, variant: str) -> list[Level]:
    """The levels of the config's experiment type for one variant."""
    experiment = config.experiment
    settings = config.topology.reliability
    kind = experiment.type
    if kind == "average_accuracy":
        return [Level()]
    if kind == "failout_rate":
        levels = [
            Level("failout_survival", f"{p:g}", None, (f"train.failout.survival={p}",))
            for p in experiment.survival
        ]
        if experiment.variable:
            for name, vector in settings.items():
                if all(r == 1.0 for r in vector) or any(r == 0.0 for r in vector):
                    continue  # survival must be in (0, 1]; "no failure" has nothing to simulate
                rates = json.dumps(dict(zip(config.topology.failable, vector, strict=True)))
                override = f"train.failout.survival={rates}"
                levels.append(Level("failout_survival", "variable", name, (override,)))
        return levels
    if kind == "hyperconnection_weight":
        levels = []
        for scheme in experiment.schemes:
            chosen = f"train.hyperconnection_weights.scheme={scheme}"
            if scheme in (2, 3):  # these weights depend on reliability: one model per setting
                for name in settings:
                    setting = f"train.hyperconnection_weights.setting={name}"
                    levels.append(Level("weight_scheme", str(scheme), name, (chosen, setting)))
            else:
                levels.append(Level("weight_scheme", str(scheme), None, (chosen,)))
        return levels
    if kind == "skip_sensitivity":
        skips = config.topology.skips
        levels = []
        for bits in itertools.product("01", repeat=len(skips)):
            kept = [list(link) for link, bit in zip(skips, bits, strict=True) if bit == "1"]
            override = f"topology.skips={json.dumps(kept)}"
            levels.append(Level("skip_config", "".join(bits), None, (override,)))
        return levels
    if kind == "partition":
        return [
            Level("partition", str(p), None, (f"model.partition={p}",))
            for p in experiment.partitions
        ]
    if kind == "merge":
        return [Level("merge", MERGE[variant])]
    raise ValueError(f"Unknown experiment type. Received: type={kind!r}")
