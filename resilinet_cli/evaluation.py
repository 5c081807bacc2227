"""``resilinet evaluate``: saved models under chosen failures and reliability settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig, load_config
from resilinet_cli.errors import ConfigError, RunError, unknown_choice
from resilinet_cli.failures import ACCURACY, weighted_accuracy
from resilinet_cli.topology import Combination, Topology

if TYPE_CHECKING:
    from resilinet_cli.inputs import Inputs

MODEL = "model.keras"


@dataclass(frozen=True)
class Evaluation:
    variant: str
    topology: Topology
    combinations: pd.DataFrame
    selected: Combination | None
    weighted: dict[str, float]

    def selected_accuracy(self) -> float:
        index = self.topology.combinations().index(self.selected)
        return float(self.combinations[ACCURACY].iloc[index])

    def describe(self) -> str:
        if self.selected is None:
            percent = 100 * self.combinations[ACCURACY]
            table = self.combinations.drop(columns=ACCURACY).assign(**{"accuracy %": percent})
            lines = [table.to_string(index=False, float_format=lambda v: f"{v:.2f}")]
        else:
            dead = [n for n, a in zip(self.topology.failable, self.selected, strict=True) if not a]
            label = ", ".join(dead) if dead else "no node"
            bits = self.topology.label(self.selected)
            accuracy = 100 * self.selected_accuracy()
            line = f"accuracy with {label} dead (combination {bits}): {accuracy:.2f}%"
            if not self.topology.has_information_flow(self.selected):
                line += " (no information flow: a guess from the training class frequencies)"
            lines = [line]
        lines.append("weighted accuracy:")
        lines += [f"  {name}: {100 * value:.2f}%" for name, value in self.weighted.items()]
        return "\n".join(lines)


def locate_models(target: Path) -> tuple[Path, list[tuple[str, Path]]]:
    """(run folder, [(variant, model path)]) for a run folder, unit folder or model file."""
    if target.is_file():
        models = [target]
    elif (target / MODEL).is_file():
        models = [target / MODEL]
    else:
        models = sorted(target.glob(f"runs/*/iter-*/{MODEL}"))
        if not models:
            raise RunError(f"{target}: no {MODEL} found (expected a run folder, unit or model)")
    run_dir = next((p for p in models[0].resolve().parents if (p / "config.yaml").is_file()), None)
    if run_dir is None:
        raise RunError(f"{models[0]}: no config.yaml in any parent folder, so its data is unknown")
    return run_dir, [(path.parent.parent.name, path) for path in models]


def run_config(run_dir: Path, data_dir: Path | None) -> ExperimentConfig:
    overrides = [f"dataset.data_dir={data_dir.resolve()}"] if data_dir else []
    return load_config(run_dir / "config.yaml", overrides)


def unit_config(config: ExperimentConfig, model_path: Path) -> ExperimentConfig:
    """The config a model was trained with: an ablation unit's overrides on the run's config."""
    from resilinet_cli import runs

    record = runs.read_record(model_path.parent)
    try:
        unit = runs.Unit.from_record(record["unit"])
    except (KeyError, TypeError):
        return config
    return unit.config(config)


def topology_of(config: ExperimentConfig) -> Topology:
    return Topology.from_config(config.topology)


def parse_failures(text: str, topology: Topology) -> Combination | None:
    """None for 'all'; otherwise the combination with exactly the named nodes dead."""
    if text.strip().lower() == "all":
        return None
    names = [n.strip() for n in text.split(",") if n.strip() and n.strip().lower() != "none"]
    for name in names:
        if name not in topology.failable:
            raise ConfigError(
                f"--failures: {unknown_choice('failable node', name, topology.failable)}"
            )
    return topology.combination_of_dead(names)


def parse_reliability(text: str | None, topology: Topology) -> dict[str, tuple[float, ...]]:
    """Named settings, or one custom vector 'r1,r2,...' in failable-node order."""
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
    if len(vector) != len(topology.failable):
        raise ConfigError(f"--reliability: needs {len(topology.failable)} values ({order})")
    if not all(0.0 <= r <= 1.0 for r in vector):
        raise ConfigError(f"--reliability: each value must be in [0, 1] ({order})")
    return {text: vector}


def evaluate_model(
    config: ExperimentConfig,
    variant: str,
    model_path: Path,
    inputs: Inputs,
    selected: Combination | None,
    settings: dict[str, tuple[float, ...]],
) -> Evaluation:
    """Sweep a saved model; write evaluation.csv and evaluation_weighted.csv beside it."""
    import keras

    from resilinet_cli import layers  # noqa: F401  (registers the custom layers)
    from resilinet_cli.experiment import sweep_model, variant_topology

    model = keras.models.load_model(model_path, safe_mode=True)
    combinations = sweep_model(config, variant, model, inputs)
    topology = variant_topology(config, variant)
    weighted = {
        name: weighted_accuracy(combinations, topology, vector) for name, vector in settings.items()
    }
    result = Evaluation(variant, topology, combinations, selected, weighted)
    rows = combinations
    if selected is not None:
        rows = combinations.iloc[[topology.combinations().index(selected)]]
    atomic.write_csv(model_path.parent / "evaluation.csv", rows)
    weighted_rows = pd.DataFrame(
        [
            {"setting": name, "reliability": ",".join(map(str, settings[name])), "accuracy": value}
            for name, value in weighted.items()
        ]
    )
    atomic.write_csv(model_path.parent / "evaluation_weighted.csv", weighted_rows)
    return result
