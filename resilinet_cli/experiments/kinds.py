"""Experiment types (docs/method.md §7): which models a run trains, what varies between them,
and how the report shows it. Each type is one ``Kind`` in ``KINDS``: its factor column, how
figures name it, its levels, the paragraph of the report and its figures. Adding a type means
one entry here (and its name in the config schema's ``ExperimentType``).

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.errors import unknown_choice
from resilinet_cli.results import layout
from resilinet_cli.results.runs import Unit, iteration_seed
from resilinet_cli.topology import Topology, link_label
from resilinet_cli.variants import VARIANTS, base_of, variant_topology

if TYPE_CHECKING:  # figures load pandas and matplotlib only when they are drawn
    import pandas as pd

SKIP_BITS = "skip_bits"  # the secondary column of a skip subset: one bit per skip of the topology
NO_SKIPS = "none"


def skip_label(skips: Sequence[tuple[str, str]], bits: str) -> str:
    """The skip hyperconnections a subset keeps, by name: '101' -> 'iot→fog2 + fog2→cloud'.

    Bit i stands for skip i of ``skips`` (the run's topology order, which is the reverse of the
    reference code's labels), so the bits alone are easy to misread; every table, figure and
    report names the links with this function instead.
    """
    if len(bits) != len(skips) or set(bits) - {"0", "1"}:
        raise ValueError(f"skip subset {bits!r} needs one 0/1 bit per skip ({len(skips)})")
    kept = [link_label(*link) for link, bit in zip(skips, bits, strict=True) if bit == "1"]
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
    config: ExperimentConfig,
    variants: Iterable[str] | None = None,
    iterations: Iterable[int] | None = None,
) -> list[Unit]:
    """All units of the config's experiment, for the chosen variants and iterations.

    By default every variant of the config, each with its own count of iterations
    (``iterations``, or ``variant_iterations`` where it names the variant).
    """
    chosen = list(iterations) if iterations is not None else None
    return [
        Unit(variant, k, iteration_seed(config, k), *level)
        for variant in (config.variants if variants is None else variants)
        for level in factor_levels(config, variant)
        for k in (chosen or range(1, config.iterations_of(variant) + 1))
    ]


def factor_levels(config: ExperimentConfig, variant: str) -> list[Level]:
    """The levels of the config's experiment type for one variant."""
    return kind_of(config.experiment.type).levels(config, variant)


def _one_level(config: ExperimentConfig, variant: str) -> list[Level]:
    return [Level()]


def _failout_levels(config: ExperimentConfig, variant: str) -> list[Level]:
    experiment = config.experiment
    levels = [
        Level("failout_survival", f"{p:g}", None, (f"train.failout.survival={p}",))
        for p in experiment.survival
    ]
    if experiment.variable:
        for name, vector in config.topology.reliability.items():
            if all(r == 1.0 for r in vector) or any(r == 0.0 for r in vector):
                continue  # survival must be in (0, 1]; "no failure" has nothing to simulate
            rates = json.dumps(dict(zip(config.topology.failable, vector, strict=True)))
            override = f"train.failout.survival={rates}"
            levels.append(Level("failout_survival", "variable", name, (override,)))
    return levels


INDEPENDENT = "independent"  # the failure_model experiment's level of the paper's failout


def _failure_model_levels(config: ExperimentConfig, variant: str) -> list[Level]:
    """Failout as the paper draws it, then drawn from each failure model failout can draw
    (survival, common-cause events and links, not a joint table; docs/evaluation.md,
    "Failure models")."""
    levels = [Level("failout", INDEPENDENT)]
    if not config.variant(variant).failout:
        return levels
    for name, model in config.failure_models.items():
        if model.joint is None:
            levels.append(Level("failout", name, None, (f"train.failout.model={name}",)))
    return levels


def _weight_scheme_levels(config: ExperimentConfig, variant: str) -> list[Level]:
    levels = []
    for scheme in config.experiment.schemes:
        chosen = f"train.hyperconnection_weights.scheme={scheme}"
        if scheme in (2, 3):  # these weights depend on reliability: one model per setting
            for name in config.topology.reliability:
                setting = f"train.hyperconnection_weights.setting={name}"
                levels.append(Level("weight_scheme", str(scheme), name, (chosen, setting)))
        else:
            levels.append(Level("weight_scheme", str(scheme), None, (chosen,)))
    return levels


def _skip_levels(config: ExperimentConfig, variant: str) -> list[Level]:
    skips = config.topology.skips
    levels = []
    for bits in itertools.product("01", repeat=len(skips)):
        kept = [list(link) for link, bit in zip(skips, bits, strict=True) if bit == "1"]
        override = f"topology.skips={json.dumps(kept)}"
        levels.append(Level("skip_config", "".join(bits), None, (override,)))
    return levels


def _partition_levels(config: ExperimentConfig, variant: str) -> list[Level]:
    return [
        Level("partition", str(p), None, (f"model.partition={p}",))
        for p in config.experiment.partitions
    ]


def _merge_levels(config: ExperimentConfig, variant: str) -> list[Level]:
    return [Level("merge", config.variant(variant).merge)]


def _skip_order(config: ExperimentConfig) -> str:
    order = ", ".join(link_label(*link) for link in config.topology.skips)
    return f"skip_bits has one bit per skip, in this order: {order}."


Figure = Callable[["Kind", "pd.DataFrame", Path, bool], Path]  # (kind, weighted, folder, zoom)


def _setting_bars(kind: Kind, weighted: pd.DataFrame, out_dir: Path, zoom: bool) -> Path:
    from resilinet_cli.results import plots

    path = out_dir / layout.WEIGHTED_PNG
    return plots.weighted_bars(weighted, path, kind.factor_label, zoom=zoom)


def _failout_lines(kind: Kind, weighted: pd.DataFrame, out_dir: Path, zoom: bool) -> Path:
    from resilinet_cli.results import plots

    return plots.failout_lines(weighted, out_dir / layout.FAILOUT_PNG, zoom=zoom)


def _level_bars(png: str) -> Figure:
    """Bars per level of the kind's factor, written to ``png``."""

    def draw(kind: Kind, weighted: pd.DataFrame, out_dir: Path, zoom: bool) -> Path:
        from resilinet_cli.results import plots

        assert kind.factor is not None
        return plots.factor_bars(
            weighted, kind.factor, out_dir / png, factor_label=kind.factor_label, zoom=zoom
        )

    return draw


def _methods_comparison(
    out: Path,
    config: ExperimentConfig,
    results: dict[Unit, pd.DataFrame],
    correction: str | None,
    zoom: bool,
) -> str:
    from resilinet_cli.experiments.exit_threshold import unit_threshold
    from resilinet_cli.results import variant_comparison

    return variant_comparison.write(out, config, results, unit_threshold, correction, zoom)


@dataclass(frozen=True)
class Kind:
    """One experiment type: what it varies, how it is planned, explained and drawn."""

    name: str
    text: str  # the report's paragraph about it
    levels: Callable[[ExperimentConfig, str], list[Level]]  # (config, variant) -> levels
    figure: Figure  # the kind's main figure of the weighted table
    factor: str | None = None  # the table column its levels fill
    factor_label: str | None = None  # how figures name that column
    heatmap: bool = True  # also a heatmap of the per-combination table
    details: Callable[[ExperimentConfig], str] | None = None  # the run's own words, after text
    # One model per variant and iteration: its runs test the paper's claim (paired comparisons
    # of the variants, the claim's paragraph) and draw their epoch curves by variant.
    tests_claim: bool = False
    # Tables, figure and report text of its own (out, config, results, correction, zoom) -> text
    comparison: Callable[..., str] | None = None

    def describe(self, config: ExperimentConfig) -> str:
        """The report's paragraph about a run of this kind."""
        return f"{self.text} {self.details(config)}" if self.details else self.text


KINDS: dict[str, Kind] = {
    "average_accuracy": Kind(
        "average_accuracy",
        "Every variant under every reliability setting (docs/method.md §6).",
        _one_level,
        _setting_bars,
        tests_claim=True,
    ),
    "failout_rate": Kind(
        "failout_rate",
        "ResiliNet trained with fixed failout survival rates, and with 'variable' failout "
        "(each node's survival equals its reliability in the setting it is scored on; one "
        "model per setting).",
        _failout_levels,
        _failout_lines,
        "failout_survival",
        "failout survival",
    ),
    "hyperconnection_weight": Kind(
        "hyperconnection_weight",
        "Hyperconnection weight schemes (docs/method.md §5): 1 all ones, 2 normalised sender "
        "reliability, 3 sender reliability, 4 random, 5 learned with the network (from 1, "
        "kept >= 0). Schemes 2 and 3 train one model per "
        "reliability setting, scored on that setting.",
        _weight_scheme_levels,
        _level_bars(layout.WEIGHT_SCHEME_PNG),
        "weight_scheme",
        "hyperconnection weight scheme",
        heatmap=False,
    ),
    "failure_model": Kind(
        "failure_model",
        "Failout drawn as the paper draws it (each node on its own: 'independent') against "
        "failout drawn from a failure model (its correlated, common-cause failures), each "
        "model scored under the independent reliability settings and under the failure "
        'models (docs/evaluation.md, "Failure models").',
        _failure_model_levels,
        _level_bars(layout.FAILURE_MODEL_PNG),
        "failout",
        "failout drawn from",
        heatmap=False,
    ),
    "skip_sensitivity": Kind(
        "skip_sensitivity",
        "Every subset of the skip hyperconnections: skip_config names the skips a model keeps "
        f"('{NO_SKIPS}' for the bare chain). Information flow follows the reduced graph.",
        _skip_levels,
        _level_bars(layout.SKIP_CONFIG_PNG),
        "skip_config",
        "skip hyperconnections present",
        details=_skip_order,
    ),
    "partition": Kind(
        "partition",
        "Partition settings: how the layers are split over the physical nodes.",
        _partition_levels,
        _setting_bars,
        "partition",
        "partition",
    ),
    "merge": Kind(
        "merge",
        "ResiliNet's input multiplexer (mux) against ResiliNet+'s sum (add).",
        _merge_levels,
        _setting_bars,
        "merge",
        "merge operation",
    ),
    "methods": Kind(
        "methods",
        "Every variant listed, built-in or defined under techniques:, on the same topology, "
        "data and seeds; a variant with exits under both inference rules (fallback, threshold), "
        "with its costs per node and link and paired tests against the reference variant "
        "(docs/comparing-methods.md).",
        _one_level,
        _setting_bars,
        comparison=_methods_comparison,
    ),
}


def kind_of(name: str) -> Kind:
    """The registered experiment type ``name``; ValueError with the known names otherwise."""
    if name not in KINDS:
        raise ValueError(unknown_choice("experiment kind", name, KINDS))
    return KINDS[name]


def figures(
    kind_name: str,
    weighted: pd.DataFrame,
    combinations: pd.DataFrame | None,
    out_dir: Path,
    topology: Topology,
    *,
    zoom: bool = False,
) -> list[Path]:
    """Write the figures of an experiment type under ``out_dir``; return their PNG paths.

    Each PNG has a PDF beside it. Factor levels are shown as the tables name them (a skip
    subset by its links); ``topology`` is the run's, with every skip, and tells the heatmap
    which cells are guesses. ``zoom`` fits the accuracy axes to the data.
    """
    from resilinet_cli.results import plots

    kind = kind_of(kind_name)
    paths = [kind.figure(kind, weighted, out_dir, zoom)]
    if combinations is not None:  # a variant with replicas has more columns: not in the map
        width = len(topology.columns)
        combinations = combinations[combinations["combination"].astype(str).str.len() == width]
    if (
        kind.heatmap
        and combinations is not None
        and 0 < combinations["combination"].nunique() <= plots.HEATMAP_MAX_COMBINATIONS
    ):
        cells = combinations.assign(information_flow=information_flow(combinations, topology))
        path = out_dir / layout.HEATMAP_PNG
        heatmap = plots.combination_heatmap(cells, path, topology.columns, kind.factor_label)
        paths.append(heatmap)
    return paths


def information_flow(combinations: pd.DataFrame, topology: Topology) -> list[bool]:
    """Whether each row's model can run in its combination; where not, its accuracy is a guess.

    The per-combination table has no flow column, so it is worked out here: a row's model has
    its variant's topology (Vanilla: no skips), reduced to the row's ``skip_bits`` in a
    skip_sensitivity run. ``topology`` is the run's, with every skip.
    """
    rows = len(combinations)
    subsets = combinations[SKIP_BITS].astype(str) if SKIP_BITS in combinations else [None] * rows
    graphs: dict[tuple[str, str | None], Topology] = {}
    flows = []
    for variant, skip_bits, bits in zip(
        combinations["variant"].astype(str),
        subsets,
        combinations["combination"].astype(str),
        strict=True,
    ):
        if (variant, skip_bits) not in graphs:
            graphs[variant, skip_bits] = _row_topology(topology, variant, skip_bits)
        flows.append(graphs[variant, skip_bits].has_information_flow(tuple(map(int, bits))))
    return flows


def _row_topology(topology: Topology, variant: str, skip_bits: str | None) -> Topology:
    """The topology of one variant's model, with only the skips ``skip_bits`` keeps."""
    if skip_bits is not None:
        kept = [
            (link.src, link.dst)
            for link, bit in zip(topology.skips, skip_bits, strict=True)
            if bit == "1"
        ]
        topology = topology.with_skips(kept)
    return variant_topology(
        topology, VARIANTS[variant if variant in VARIANTS else base_of(variant)]
    )
