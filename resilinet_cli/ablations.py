"""Experiment types (docs/method.md §7): which models a run trains, and what varies between them.

Every unit is the run's config plus a few ``key=value`` overrides, so each trained model is an
ordinary config and its files follow the same schema. The ablation factor becomes one extra
column of the tables (``failout_survival``, ``weight_scheme``, ``skip_config``, ``partition``,
``merge``). Iteration k uses the same seed at every level, so levels are compared pairwise.

A skip subset is a bit string in the unit (and its folder, ``runs/skip_config=101/...``), but
tables, figures and reports name its links (``skip_label``), with the bits in ``skip_bits``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.runs import Unit, iteration_seed

MERGE = {"resilinet": "mux", "resilinet_plus": "add", "deepfogguard": "add", "vanilla": "none"}
SKIP_BITS = "skip_bits"  # the secondary column of a skip subset: one bit per skip of the topology
NO_SKIPS = "none"


def link_name(src: str, dst: str) -> str:
    """'iot→fog2': a hyperconnection as the paper's figures draw it."""
    return f"{src}→{dst}"


def skip_label(skips: Sequence[tuple[str, str]], bits: str) -> str:
    """The skip hyperconnections a subset keeps, by name: '101' -> 'iot→fog2 + fog2→cloud'.

    Bit i stands for skip i of ``skips`` (the run's topology order, which is the reverse of the
    reference code's labels), so the bits alone are easy to misread; every table, figure and
    report names the links with this function instead.
    """
    if len(bits) != len(skips) or set(bits) - {"0", "1"}:
        raise ValueError(f"skip subset {bits!r} needs one 0/1 bit per skip ({len(skips)})")
    kept = [link_name(*link) for link, bit in zip(skips, bits, strict=True) if bit == "1"]
    return " + ".join(kept) or NO_SKIPS


def level_columns(unit: Unit, skips: Sequence[tuple[str, str]]) -> dict[str, str]:
    """A unit's factor level as table columns: ``{factor: value}``, for a skip subset
    ``{"skip_config": link names, "skip_bits": bits}``; ``{}`` for a plain unit.

    ``skips`` are the run's skip hyperconnections (all of them, before the subset is taken).
    """
    if unit.factor is None or unit.value is None:
        return {}
    if unit.factor == "skip_config":
        return {unit.factor: skip_label(skips, unit.value), SKIP_BITS: unit.value}
    return {unit.factor: unit.value}


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
