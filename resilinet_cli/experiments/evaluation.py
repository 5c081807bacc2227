"""Evaluate one saved model under chosen failures and reliability settings (``evaluate_model``).

Up to ``estimate.methods.SMALL`` failable nodes (the paper's topologies) every combination is
swept, as ``run`` does. With more, or when ``--method`` asks for it, each weighted accuracy is
computed by ``estimate/methods.py`` (exhaustive, bounded or Monte Carlo) and reported with its
interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.errors import ConfigError
from resilinet_cli.estimate.bounded import Interval
from resilinet_cli.estimate.methods import SMALL, EstimateOptions
from resilinet_cli.experiments.exit_threshold import sweep_unit
from resilinet_cli.results import layout
from resilinet_cli.sweeps.sweep import ACCURACY, FLOW, weighted_accuracy
from resilinet_cli.topology import Combination, Topology
from resilinet_cli.variants import topology_of

if TYPE_CHECKING:
    from resilinet_cli.training.inputs import Inputs

MAX_TABLE = 32  # rows of evaluated combinations printed; all are in evaluation.csv


@dataclass(frozen=True)
class Evaluation:
    variant: str
    topology: Topology
    combinations: pd.DataFrame  # every combination (swept), or those evaluated exactly
    selected: Combination | None
    weighted: dict[str, float]
    intervals: dict[str, Interval]
    swept: bool = True  # ``combinations`` holds all 2^N, in sweep order
    selected_value: float | None = None

    def rows(self) -> pd.DataFrame:
        """The combinations evaluation.csv holds: the selected one, or all evaluated."""
        if self.selected is not None and self.swept:
            return self.combinations.iloc[[self.topology.combinations().index(self.selected)]]
        return self.combinations

    def weighted_rows(self, settings: dict[str, tuple[float, ...]]) -> pd.DataFrame:
        """evaluation_weighted.csv: each setting's weighted accuracy and how it was obtained."""
        return pd.DataFrame(
            [
                {
                    "setting": name,
                    "reliability": ",".join(map(str, settings[name])),
                    "accuracy": interval.estimate,
                    "method": interval.method,
                    "lower": interval.lower,
                    "upper": interval.upper,
                    "combinations": interval.combinations,
                    "samples": interval.samples,
                }
                for name, interval in self.intervals.items()
            ]
        )

    def selected_accuracy(self) -> float:
        if self.selected_value is not None:
            return self.selected_value
        index = self.topology.combinations().index(self.selected)
        return float(self.combinations[ACCURACY].iloc[index])

    def describe(self) -> str:
        if self.selected is None and not self.swept and len(self.combinations) > MAX_TABLE:
            lines = [
                f"{len(self.combinations)} combinations evaluated exactly ({layout.EVALUATION})"
            ]
        elif self.selected is None:
            percent = 100 * self.combinations[ACCURACY]
            table = self.combinations.drop(columns=ACCURACY).assign(**{"accuracy %": percent})
            lines = [table.to_string(index=False, float_format=lambda v: f"{v:.2f}")]
        else:
            dead = [n for n, a in zip(self.topology.columns, self.selected, strict=True) if not a]
            label = ", ".join(dead) if dead else "no node"
            bits = self.topology.label(self.selected)
            accuracy = 100 * self.selected_accuracy()
            line = f"accuracy with {label} dead (combination {bits}): {accuracy:.2f}%"
            if not self.topology.has_information_flow(self.selected):
                line += " (no information flow: a guess from the training class frequencies)"
            lines = [line]
        lines.append("weighted accuracy:")
        if self.swept:
            lines += [f"  {name}: {100 * value:.2f}%" for name, value in self.weighted.items()]
            count = len(self.combinations)
            lines.append(f"method: exhaustive (all {count} combinations, exact)")
        else:
            lines += [f"  {name}: {describe_interval(i)}" for name, i in self.intervals.items()]
        return "\n".join(lines)


def describe_interval(interval: Interval) -> str:
    """One weighted accuracy with how it was obtained, e.g.

    ``54.98% (montecarlo: 95% interval [54.51%, 55.45%], 8 combinations exact + 22798 samples)``
    """

    def percent(value: float) -> str:
        return f"{100 * value:.2f}%"

    combos = f"{interval.combinations} combination{'s' if interval.combinations != 1 else ''}"
    if interval.method == "exhaustive":
        detail = f"exhaustive: exact, {combos}"
    elif interval.confidence is None:
        detail = (
            f"{interval.method}: exact interval [{percent(interval.lower)}, "
            f"{percent(interval.upper)}], {combos}"
        )
    else:
        detail = (
            f"{interval.method}: {100 * interval.confidence:.0f}% interval "
            f"[{percent(interval.lower)}, {percent(interval.upper)}], "
            f"{combos} exact + {interval.samples} samples"
        )
    if not interval.target_met:
        wanted = "half-width" if interval.method == "montecarlo" else "tolerance"
        detail += f"; {wanted} not reached within the budget"
    return f"{percent(interval.estimate)} ({detail})"


def uses_sweep(options: EstimateOptions, topology: Topology) -> bool:
    """Small topologies under auto or exhaustive: the plain sweep of every combination."""
    return options.method in ("auto", "exhaustive") and len(topology.columns) <= SMALL


def evaluate_model(
    config: ExperimentConfig,
    variant: str,
    model_path: Path,
    inputs: Inputs,
    selected: Combination | None,
    settings: dict[str, tuple[float, ...]],
    options: EstimateOptions | None = None,
) -> Evaluation:
    """Evaluate a saved model; write evaluation.csv and evaluation_weighted.csv beside it."""
    from resilinet_cli.results.model_files import load_model

    options = options or EstimateOptions(seed=config.seed)
    model = load_model(model_path)
    topology = topology_of(config, variant)
    if uses_sweep(options, topology):
        result = swept_evaluation(
            config, variant, model, inputs, topology, selected, settings, model_path.parent
        )
    else:
        result = estimated_evaluation(
            config, variant, model, inputs, topology, selected, settings, options
        )
    atomic.write_csv(model_path.parent / layout.EVALUATION, result.rows())
    atomic.write_csv(model_path.parent / layout.EVALUATION_WEIGHTED, result.weighted_rows(settings))
    return result


def swept_evaluation(
    config: ExperimentConfig,
    variant: str,
    model: Any,
    inputs: Inputs,
    topology: Topology,
    selected: Combination | None,
    settings: dict[str, tuple[float, ...]],
    folder: Path,
) -> Evaluation:
    """Every combination swept, as ``run`` does (with the unit's calibrated T, if any, from
    its ``folder``); the weighted accuracies are exact."""
    combinations = sweep_unit(config, variant, model, inputs, folder)
    weighted = {
        name: weighted_accuracy(combinations, topology, vector) for name, vector in settings.items()
    }
    count = len(combinations)
    intervals = {
        name: Interval("exhaustive", value, value, value, combinations=count)
        for name, value in weighted.items()
    }
    return Evaluation(variant, topology, combinations, selected, weighted, intervals)


def estimated_evaluation(
    config: ExperimentConfig,
    variant: str,
    model: Any,
    inputs: Inputs,
    topology: Topology,
    selected: Combination | None,
    settings: dict[str, tuple[float, ...]],
    options: EstimateOptions,
) -> Evaluation:
    """Each weighted accuracy by ``estimate/methods.py``; combination accuracies are shared."""
    from resilinet_cli.estimate.methods import estimate_weighted

    if config.variant(variant).exits:  # the estimators score a combination without flow a guess
        raise ConfigError(
            f"--method {options.method}: {variant} has exit heads, which answer without a path "
            f"to the output; the estimators cannot score that yet, only the full sweep can "
            f"(--method exhaustive, at most {SMALL} failable nodes and links; this topology has "
            f"{len(topology.columns)})"
        )
    from resilinet_cli.sweeps.scoring import CombinationAccuracy, ExampleScorer, materialise

    source = CombinationAccuracy(
        model, topology, inputs.test, inputs.test_size, batch_size=config.evaluation.batch_size
    )
    scorers: list[ExampleScorer] = []

    def make_scorer() -> ExampleScorer:
        if not scorers:
            scorers.append(ExampleScorer(model, *materialise(inputs.test)))
        return scorers[0]

    intervals = {
        name: estimate_weighted(
            topology,
            vector,
            source,
            make_scorer,
            guess=inputs.guess,
            test_size=inputs.test_size,
            options=options,
        )
        for name, vector in settings.items()
    }
    selected_value = None
    if selected is not None:
        flow = topology.has_information_flow(selected)
        selected_value = source([selected])[selected] if flow else inputs.guess
        accuracies = {selected: selected_value}
    else:
        accuracies = dict(source.cache)
    rows = pd.DataFrame(
        [
            {
                **dict(zip(topology.columns, combo, strict=True)),
                FLOW: topology.has_information_flow(combo),
                ACCURACY: accuracy,
            }
            for combo, accuracy in accuracies.items()
        ],
        columns=[*topology.columns, FLOW, ACCURACY],
    )
    weighted = {name: interval.estimate for name, interval in intervals.items()}
    return Evaluation(
        variant,
        topology,
        rows,
        selected,
        weighted,
        intervals,
        swept=False,
        selected_value=selected_value,
    )
