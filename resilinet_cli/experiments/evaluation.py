"""``resilinet evaluate``: saved models under chosen failures and reliability settings.

Up to ``estimate.SMALL`` failable nodes (the paper's topologies) every combination is swept, as
``run`` does. With more, or when ``--method`` asks for it, each weighted accuracy is computed by
``estimate.py`` (exhaustive, bounded or Monte Carlo) and reported with its interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig, load_config
from resilinet_cli.errors import ConfigError, RunError, unknown_choice
from resilinet_cli.estimate.bounded import Interval
from resilinet_cli.estimate.methods import METHODS, SMALL, EstimateOptions
from resilinet_cli.results import layout
from resilinet_cli.sweeps.sweep import ACCURACY, FLOW, sweep_model, weighted_accuracy
from resilinet_cli.topology import Combination, Topology
from resilinet_cli.variants import variant_topology

if TYPE_CHECKING:
    from resilinet_cli.results.runs import Unit
    from resilinet_cli.training.inputs import Inputs

MAX_EXHAUSTIVE = 24  # failable nodes: beyond, --method exhaustive is refused
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


@dataclass(frozen=True)
class Located:
    """A saved model to evaluate, and the unit record (``run.json``) that says how it was made."""

    variant: str
    path: Path
    unit: Unit | None = None  # None for a model without a readable unit record

    def config(self, base: ExperimentConfig) -> ExperimentConfig:
        """The config the model was trained with: an ablation unit's overrides on the run's."""
        return self.unit.config(base) if self.unit else base


def locate_models(target: Path) -> tuple[Path, list[Located]]:
    """(run folder, models) for a run folder (ablation levels included), unit folder or model.

    Every unit involved is checked against its record first (``unit_problem``): a damaged
    one is a RunError that names the file, never a number.
    """
    from resilinet_cli.results import runs

    run_dir = next((p for p in (target, *target.parents) if (p / layout.CONFIG).is_file()), None)
    if target.is_file():
        units = [target.parent]
    elif (target / layout.MODEL).is_file() or target.name.startswith("iter-"):
        units = [target]  # a unit folder
    else:
        units = runs.unit_folders(target)
    whole_run = not target.is_file() and units != [target]
    for folder in units:  # a run without models gets one line for all (``missing_models``)
        problem = unit_problem(folder, run_dir or target, about_model=not whole_run)
        if problem:
            raise RunError(problem)
    models = [target] if target.is_file() else [u / layout.MODEL for u in units]
    models = [model for model in models if model.is_file()]
    if not models:
        raise RunError(missing_models(target))
    run_dir = next((p for p in models[0].resolve().parents if (p / layout.CONFIG).is_file()), None)
    if run_dir is None:
        raise RunError(f"{models[0]}: no config.yaml in any parent folder, so its data is unknown")
    return run_dir, [located(path) for path in models]


def unit_problem(folder: Path, run_dir: Path, *, about_model: bool = True) -> str | None:
    """What keeps the unit in ``folder`` from being read, in one line with what to do; None if
    it is whole (or never finished). A model a committed reference leaves out is not missing:
    the line says it is not committed, and how to train it again (``about_model``)."""
    from resilinet_cli.results import integrity, runs

    record, damage = integrity.read_unit_record(folder)
    if damage is None and record is not None and record.get("status") == "done":
        damage = integrity.check_files(folder, record)
        left_out = not integrity.is_committed(record, layout.MODEL)
        absent = left_out and not (folder / layout.MODEL).is_file()
        if damage is None and about_model and absent:
            return (
                f"{folder}: its {layout.MODEL} is not committed (a committed reference keeps "
                f"its tables only); train it again with: {retrain_command(run_dir, folder)}"
            )
    return damage.message(runs.repair_hint(run_dir)) if damage else None


def located(model_path: Path) -> Located:
    """A model with its unit, read from the unit's run record next to it."""
    from resilinet_cli.results import runs

    record = runs.read_record(model_path.parent)
    try:
        unit = runs.Unit.from_record(record["unit"])
    except (KeyError, TypeError):
        return Located(model_path.parent.parent.name, model_path)
    return Located(unit.variant, model_path, unit)


def run_config(run_dir: Path, data_dir: Path | None) -> ExperimentConfig:
    overrides = [f"dataset.data_dir={data_dir.resolve()}"] if data_dir else []
    return load_config(run_dir / layout.CONFIG, overrides)


def missing_models(target: Path) -> str:
    """Why ``target`` holds no model, in one line, with what to run instead.

    Committed results keep their tables and per-unit CSV/JSON but no ``model.keras`` (see
    .gitignore): the line says so and gives the ``run`` command that trains the models again.
    """
    from resilinet_cli.results import runs

    run_dir = next((p for p in (target, *target.parents) if (p / layout.CONFIG).is_file()), None)
    if run_dir is None:
        experiments = sorted(p.parent for p in target.glob(f"*/{layout.CONFIG}"))
        if experiments:
            names = ", ".join(p.name for p in experiments[:4])
            more = f" and {len(experiments) - 4} more" if len(experiments) > 4 else ""
            return (
                f"{target}: a folder of {len(experiments)} experiments ({names}{more}), not one "
                f"run; evaluate one of them, e.g. resilinet evaluate {experiments[0]}"
            )
        return f"{target}: no {layout.MODEL} found (expected a run folder, unit or model)"
    records = [target / layout.RECORD, *target.glob(f"{layout.RUNS}/**/iter-*/{layout.RECORD}")]
    finished = [r.parent for r in records if runs.read_record(r.parent).get("status") == "done"]
    finished = [folder for folder in finished if "unit" in runs.read_record(folder)]
    if not finished:
        return f"{target}: no {layout.MODEL} found (expected a run folder, unit or model)"
    count = f"{len(finished)} finished unit{'s' if len(finished) != 1 else ''}"
    return (
        f"{target}: {count} but no {layout.MODEL}: models are not committed with the results "
        f"(only their tables, CSV and JSON files); train them again with: "
        f"{retrain_command(run_dir, target if target != run_dir else None)}"
    )


def retrain_command(run_dir: Path, unit_folder: Path | None = None) -> str:
    """The ``resilinet run`` that trains a results folder's models again, into a new folder.

    The run's resolved ``config.yaml`` is its own config. Not into ``run_dir`` itself: its unit
    records say "done", so a run there would skip every unit.
    """
    import shlex

    from resilinet_cli.config import read_yaml
    from resilinet_cli.results import runs

    name = str((read_yaml(run_dir / layout.CONFIG) or {}).get("name", run_dir.name))
    out = Path("results") / name
    if out.resolve() == run_dir.resolve():
        out = Path("results") / f"{name}-retrained"
    command = ["resilinet", "run", str(run_dir / layout.CONFIG), "--out", str(out)]
    record = runs.read_record(unit_folder) if unit_folder else {}
    if "unit" in record:
        unit = record["unit"]
        command += ["--variants", str(unit["variant"])]
        command += ["--iterations", f"{unit['iteration']}..{unit['iteration']}"]
    return shlex.join(command)


def grouped(
    config: ExperimentConfig, models: list[Located]
) -> list[tuple[str | None, list[Located]]]:
    """Models grouped by factor level, in the order a run plans them: [(heading, models)].

    The heading names the level as the tables do (a skip subset by its links); None for the
    models of a plain run.
    """
    from resilinet_cli.experiments.kinds import level_columns, plan_units

    iterations = sorted({m.unit.iteration for m in models if m.unit})
    plan = plan_units(config, config.variants, iterations)
    order = {unit: i for i, unit in enumerate(plan)}
    variants = {name: i for i, name in enumerate(config.variants)}

    def rank(model: Located) -> tuple[int, int, str]:
        planned = order.get(model.unit, len(order)) if model.unit else len(order)
        return planned, variants.get(model.variant, len(variants)), str(model.path)

    groups: dict[str | None, list[Located]] = {}
    for model in sorted(models, key=rank):
        groups.setdefault(model.unit.group if model.unit else None, []).append(model)
    skips = list(config.topology.skips)
    result = []
    for members in sorted(groups.values(), key=lambda ms: min(rank(m) for m in ms)):
        unit = members[0].unit
        if unit is None or unit.factor is None:
            result.append((None, members))
            continue
        level = level_columns(unit, skips)
        heading = "; ".join(f"{column}: {value}" for column, value in level.items())
        if unit.trained_for:
            heading += f"; trained for: {unit.trained_for}"
        result.append((heading, members))
    return result


def level_of(config: ExperimentConfig, model: Located) -> dict[str, str]:
    """A model's factor level as the tables name it, and the setting it was trained for."""
    from resilinet_cli.experiments.kinds import level_columns

    unit = model.unit
    level = level_columns(unit, list(config.topology.skips)) if unit else {}
    if unit and unit.trained_for:
        level["trained_for"] = unit.trained_for
    return level


def summary_table(
    config: ExperimentConfig, results: list[tuple[Located, Evaluation]]
) -> pd.DataFrame:
    """One row per evaluated model: its level, variant, iteration, weighted accuracy in %."""
    rows = []
    for model, evaluation in results:
        iteration = str(model.unit.iteration) if model.unit else ""
        rows.append(
            {
                **level_of(config, model),
                "variant": model.variant,
                "iter": iteration,
                **{name: f"{100 * v:.2f}" for name, v in evaluation.weighted.items()},
            }
        )
    return pd.DataFrame(rows).fillna("")


def mean_std_table(
    config: ExperimentConfig, results: list[tuple[Located, Evaluation]]
) -> pd.DataFrame:
    """Each weighted accuracy over the evaluated iterations, per variant, level and setting.

    The columns of the run's weighted_accuracy.csv (fractions; std with ddof=1, NaN for one
    iteration), so that a run's table and its evaluation compare cell by cell.
    """
    from resilinet_cli.results.tables import WEIGHTED_COLUMNS, mean_std

    rows = [
        {"variant": model.variant, **level_of(config, model), "setting": name, "value": value}
        for model, evaluation in results
        for name, value in evaluation.weighted.items()
    ]
    keys = list(dict.fromkeys(k for row in rows for k in row if k not in ("setting", "value")))
    frame = pd.DataFrame(rows).fillna("")
    return mean_std(frame, [*keys, "setting"], [*keys, *WEIGHTED_COLUMNS[1:]])


def report(
    run_dir: Path,
    config: ExperimentConfig,
    results: list[tuple[Located, Evaluation]],
    dead: Combination | None,
    settings: dict[str, tuple[float, ...]],
) -> dict[str, Any]:
    """What ``evaluate --json`` prints: every model's tables and the mean over iterations.

    Accuracies are fractions in [0, 1], as in the CSV files; the fields are listed in
    ``resilinet evaluate --help``.
    """
    nodes = topology_of(config).failable
    failures = None if dead is None else [n for n, a in zip(nodes, dead, strict=True) if not a]
    return {
        "run": str(run_dir),
        "failures": "all" if failures is None else failures,
        "settings": {name: list(vector) for name, vector in settings.items()},
        "models": [model_report(config, model, result, settings) for model, result in results],
        "weighted": [
            {key: None if value == "" else value for key, value in row.items()}  # no level
            for row in mean_std_table(config, results).to_dict("records")
        ],
    }


def model_report(
    config: ExperimentConfig,
    model: Located,
    result: Evaluation,
    settings: dict[str, tuple[float, ...]],
) -> dict[str, Any]:
    """One model of ``report``: its evaluation.csv and evaluation_weighted.csv as records."""
    weighted = result.weighted_rows(settings).to_dict("records")
    for row in weighted:  # a list of numbers instead of the CSV's text
        row["reliability"] = list(settings[row["setting"]])
    return {
        "variant": model.variant,
        **level_of(config, model),
        "iteration": model.unit.iteration if model.unit else None,
        "path": str(model.path),
        "combinations": result.rows().to_dict("records"),
        "weighted": weighted,
    }


def summary_markdown(table: pd.DataFrame, settings: list[str]) -> str:
    """``summary_table`` as Markdown: labels left, accuracies right, bits kept as text."""
    align = ["right" if column in settings else "left" for column in table.columns]
    return table.to_markdown(index=False, disable_numparse=True, colalign=align)


def topology_of(config: ExperimentConfig) -> Topology:
    return Topology.from_config(config.topology)


def parse_failures(text: str, topology: Topology) -> Combination | None:
    """None for 'all'; otherwise the combination with exactly the named nodes (links) dead."""
    if text.strip().lower() == "all":
        return None
    names = [n.strip() for n in text.split(",") if n.strip() and n.strip().lower() != "none"]
    kind = "failable node or link" if topology.failable_links else "failable node"
    for name in names:
        if name not in topology.columns:
            raise ConfigError(f"--failures: {unknown_choice(kind, name, topology.columns)}")
    return topology.combination_of_dead(names)


def parse_reliability(text: str | None, topology: Topology) -> dict[str, tuple[float, ...]]:
    """Named settings, or one custom vector 'r1,r2,...' in failable-node (then link) order."""
    if text is None:
        return dict(topology.reliability)
    if text in topology.reliability:
        return {text: topology.reliability[text]}
    try:
        vector = tuple(float(v) for v in text.split(","))
    except ValueError:
        known = list(topology.reliability)
        raise ConfigError(f"--reliability: {unknown_choice('setting', text, known)}") from None
    order = ",".join(topology.failable)
    if len(vector) not in (len(topology.failable), len(topology.columns)):
        also = f" or {len(topology.columns)} with {','.join(topology.failable_links)}"
        more = also if topology.failable_links else ""
        raise ConfigError(f"--reliability: needs {len(topology.failable)} values ({order}){more}")
    if not all(0.0 <= r <= 1.0 for r in vector):
        raise ConfigError(f"--reliability: each value must be in [0, 1] ({order})")
    return {text: vector}


def parse_options(
    method: str, tolerance: str, half_width: str, budget: str, *, seed: int
) -> EstimateOptions:
    """The estimation flags of ``evaluate``, checked: one line per problem, as ConfigError."""
    if method not in METHODS:
        raise ConfigError(f"--method: {unknown_choice('method', method, METHODS)}")

    def number(option: str, text: str, valid: Callable[[float], bool], expected: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and valid(value)):
            raise ConfigError(f"{option} {text!r}: expected {expected}")
        return value

    return EstimateOptions(
        method=method,
        tolerance=number(
            "--tolerance",
            tolerance,
            lambda v: 0 <= v < 1,
            "a probability mass in [0, 1), e.g. 0.01",
        ),
        half_width=number(
            "--half-width", half_width, lambda v: 0 < v <= 0.5, "a number in (0, 0.5], e.g. 0.005"
        ),
        budget=number(
            "--budget", budget, lambda v: v > 0, "a positive number of seconds, e.g. 120"
        ),
        seed=seed,
    )


def check_method(options: EstimateOptions, topology: Topology) -> None:
    """Refuse an exhaustive evaluation that could not finish."""
    failable = len(topology.columns)
    if options.method == "exhaustive" and failable > MAX_EXHAUSTIVE:
        raise ConfigError(
            f"--method exhaustive: {failable} failable nodes have 2^{failable} combinations; "
            "use bounded or montecarlo"
        )


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
    topology = variant_topology(topology_of(config), variant)
    if uses_sweep(options, topology):
        result = swept_evaluation(config, variant, model, inputs, topology, selected, settings)
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
) -> Evaluation:
    """Every combination swept, as ``run`` does; the weighted accuracies are exact."""
    combinations = sweep_model(config, variant, model, inputs)
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
    """Each weighted accuracy by ``estimate.py``; combination accuracies are shared between them."""
    from resilinet_cli.estimate.methods import estimate_weighted
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
