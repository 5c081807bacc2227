"""What ``resilinet evaluate`` shows of its evaluations: models grouped as a run plans them,
each one's weighted accuracy, their mean over iterations, and the ``--json`` report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.experiments.evaluation import Evaluation
from resilinet_cli.experiments.kinds import level_columns, plan_units
from resilinet_cli.results.locate import Located
from resilinet_cli.results.tables import WEIGHTED_COLUMNS, mean_std


def grouped(
    config: ExperimentConfig, models: list[Located]
) -> list[tuple[str | None, list[Located]]]:
    """Models grouped by factor level, in the order a run plans them: [(heading, models)].

    The heading names the level as the tables do (a skip subset by its links); None for the
    models of a plain run.
    """
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
    failures: list[str] | None,
    settings: dict[str, tuple[float, ...]],
) -> dict[str, Any]:
    """What ``evaluate --json`` prints: every model's tables and the mean over iterations.

    Accuracies are fractions in [0, 1], as in the CSV files; the fields are listed in
    ``resilinet evaluate --help``.
    """
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
