"""``resilinet evaluate RUN --failure-model``: a run's finished units under a failure model.

A unit's weighted accuracy is Σ_c P(c)·acc(c) over its ``combinations.csv``: exact, and it
needs neither the saved models nor the data, so committed results (which keep no models) can be
rescored too (failure_model.py; docs/evaluation.md, "Failure models"). A model with link
failures needs the link columns, which the sweep writes for the run topology's ``failable_links``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from resilinet_cli.config import ExperimentConfig, read_yaml
from resilinet_cli.config.messages import blame, failure_model_problems, format_errors
from resilinet_cli.config.schema import FailureModelConfig
from resilinet_cli.errors import ConfigError, RunError, unknown_choice
from resilinet_cli.experiments.pages import finished_results, summarise
from resilinet_cli.failure_model import FailureModel
from resilinet_cli.variants import topology_of


def load_failure_model(text: str, config: ExperimentConfig) -> FailureModel:
    """The failure model ``text`` names: one of the run config's, or a YAML file holding one."""
    failable, links = config.topology.failable, config.topology.failable_links
    if text in config.failure_models:
        return FailureModel.from_config(text, config.failure_models[text], failable, links)
    path = Path(text)
    if path.suffix not in (".yaml", ".yml"):
        known = list(config.failure_models)
        message = (
            unknown_choice("failure model", text, known)
            if known
            else (f"'{text}' is neither a failure model of the run's config nor a .yaml file")
        )
        raise ConfigError(f"--failure-model: {message}")  # fmt: skip
    if not path.is_file():
        raise ConfigError(f"--failure-model: {path}: no such file")
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: expected a mapping (survival, common_cause, links, joint)")
    try:
        model = FailureModelConfig.model_validate(raw)
    except ValidationError as error:  # every problem, one line each
        problems = format_errors(error, FailureModelConfig)
    else:
        problems = failure_model_problems(model, "", config.topology)
    if problems:
        raise ConfigError("\n".join(blame(path.name, (), loc, msg) for loc, msg in problems))
    return FailureModel.from_config(path.stem, model, failable, links)


def rescore(
    run_dir: Path, config: ExperimentConfig, model: FailureModel
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-unit weighted accuracies, their mean ± std per variant and level) under ``model``.

    The second table has the columns of the run's ``tables/weighted_accuracy.csv``, with the
    model's name as the setting.
    """
    found = finished_results(run_dir, config)
    if not found:
        raise RunError(f"{run_dir}: no finished unit with a combinations.csv to rescore")
    topology = topology_of(config)
    weighted, _ = summarise(found, topology, [model])
    per_unit = [
        {"variant": unit.variant, "unit": unit.name, "iteration": unit.iteration,
         "setting": model.name, "accuracy": model.weighted(frame)}
        for unit, frame in found.items()
    ]  # fmt: skip
    return pd.DataFrame(per_unit), weighted[weighted["setting"] == model.name].reset_index(
        drop=True
    )
