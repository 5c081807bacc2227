"""One search trial: train a candidate as a unit of its own run folder, reporting to Ray Tune.

Each epoch the validation set is swept over every failure combination and the trial reports
every objective's expected and worst-case accuracy, with the candidate's costs (Tune refuses a
report that lacks an objective). ASHA stops a trial between epochs. A finished unit is never
trained again: its epochs are replayed from history.csv and its test sweep read back, so a
resumed search, a repeated Optuna suggestion or a unit reused from a run folder costs nothing.
The trial folder is an ordinary run folder: ``resilinet evaluate``, ``live-eval`` and ``deploy``
work on it.
"""

from __future__ import annotations

import fcntl
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import pandas as pd

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.config.schema import validate_config
from resilinet_cli.results import layout, runs
from resilinet_cli.search.objectives import prefixed, score
from resilinet_cli.sweeps.sweep import Sweeper
from resilinet_cli.variants import topology_of

LOCK = ".search.lock"
FINAL = "final"  # a report's flag: 1 on the trial's last report, after the test sweep


@dataclass(frozen=True)
class TrialContext:
    """What every trial needs from the driver (sent once to the cluster by Tune)."""

    config: dict[str, Any]  # CONFIG, resolved: each design's config is derived from it
    candidates: dict[str, dict[str, Any]]  # id -> {"design": Design.to_dict(), "costs", "pruned"}
    lookup: dict[str, str]  # a sampler's choice (candidates.choice_key) -> candidate id
    trials_dir: str  # where the trial folders live: every node of a cluster reaches it
    objective: str  # primary: val_expected_<objective> is what ASHA and the sampler see
    cost: str  # the sampler's second objective
    epsilon: float
    reuse_from: str | None = None
    command: tuple[str, ...] = ()  # the search's command line, for each unit's record


def run_trial(params: dict[str, Any], context: TrialContext) -> None:
    """Tune's function trainable."""
    from ray import tune

    from resilinet_cli.search.candidates import Design, choice_key, design_config

    started = time.monotonic()
    cand_id = params.get("candidate") or context.lookup[choice_key(params)]
    candidate = context.candidates[cand_id]
    costs = {k: v for k, v in candidate["costs"].items() if isinstance(v, int | float)}
    base = {"candidate": cand_id, **costs, "cost": costs.get(context.cost, math.nan)}
    if candidate["pruned"]:  # the sampler chose a design the constraints rule out
        tune.report({**base, "objective": 0.0, "epoch": 0, "pruned": 1, FINAL: 1})
        return
    design = Design.from_dict(candidate["design"])
    config = design_config(validate_config(context.config, "CONFIG"), design, "CONFIG")
    variant = design.variant
    folder = Path(context.trials_dir) / cand_id
    keras.backend.clear_session()  # a reused worker: the network's layers get their own names

    def report(epoch: int, scores: dict[str, float], final: int) -> None:
        value = scores.get(f"val_expected_{context.objective}", math.nan)
        tune.report({
            **base, **scores, "objective": value, "epoch": epoch, "pruned": 0, FINAL: final,
            "trial_seconds": time.monotonic() - started,
        })  # fmt: skip

    with locked(folder):
        unit_dir = train_candidate(config, variant, folder, context, report)
        history = pd.read_csv(unit_dir / layout.HISTORY)
        combinations = pd.read_csv(unit_dir / layout.COMBINATIONS)
        test = prefixed(score(combinations, config, variant, context.epsilon), "test")
        val = last_epoch(history)
        if f"val_expected_{context.objective}" not in val:  # a unit reused from a run
            val = swept_validation(config, variant, unit_dir, context.epsilon)
        report(len(history), {**val, **test}, 1)


def train_candidate(
    config: ExperimentConfig, variant: str, folder: Path, context: TrialContext, report: Any
) -> Path:
    """The candidate's unit folder, trained here unless it is finished (then replayed)."""
    from resilinet_cli.experiments.runner import run_experiment
    from resilinet_cli.experiments.unit import Invocation, invoked, observing_epochs
    from resilinet_cli.search.candidates import trial_unit

    unit = trial_unit(config, variant)
    unit_dir = unit.folder(folder)
    if runs.is_done(folder, unit, config):
        history = pd.read_csv(unit_dir / layout.HISTORY)
        for epoch, row in enumerate(history.to_dict("records"), start=1):
            if epoch < len(history):
                report(epoch, val_columns(row), 0)
        return unit_dir
    runs.prepare_run_folder(folder, config)

    def observer(unit_config: ExperimentConfig, unit_variant: str, inputs: Any) -> list[Any]:
        return [EpochReport(unit_config, unit_variant, inputs, context.epsilon, report)]

    reuse = Path(context.reuse_from) if context.reuse_from else None
    # the unit's record names the search's command, not the Ray worker's
    with observing_epochs(observer), invoked(Invocation(argv=context.command)):
        result = run_experiment(config, folder, [unit], fail_fast=True, verbose=0,
                                reuse_from=reuse)  # fmt: skip
    if result.failed:
        raise RuntimeError(f"candidate {folder.name} failed: see {unit_dir / layout.RECORD}")
    return unit_dir


def swept_validation(
    config: ExperimentConfig, variant: str, unit_dir: Path, epsilon: float
) -> dict[str, float]:
    """The validation scores of a saved model (a unit ``--reuse-from`` copied from a run,
    whose history has none): its validation split swept once."""
    from resilinet_cli.data import load_splits
    from resilinet_cli.training.inputs import build_inputs

    topology = topology_of(config, variant)
    inputs = build_inputs(load_splits(config.dataset), config, len(topology.columns), 0)
    model = keras.models.load_model(unit_dir / layout.MODEL, compile=False)
    sweeper = Sweeper(model, topology, guess=inputs.guess,
                      batch_size=config.evaluation.batch_size)  # fmt: skip
    table = sweeper.table(inputs.val_examples, inputs.val_size)
    return prefixed(score(table, config, variant, epsilon), "val")


def val_columns(row: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in row.items() if k.startswith("val_expected_")
            or k.startswith("val_worst_")}  # fmt: skip


def last_epoch(history: pd.DataFrame) -> dict[str, float]:
    return val_columns(history.iloc[-1].to_dict()) if len(history) else {}


class EpochReport(keras.callbacks.Callback):
    """Sweeps the validation set after each epoch, adds ``val_expected_*`` and ``val_worst_*``
    to the logs (so history.csv keeps them) and reports them to Tune."""

    def __init__(
        self, config: ExperimentConfig, variant: str, inputs: Any, epsilon: float, report: Any
    ) -> None:
        super().__init__()
        self.config, self.variant, self.inputs = config, variant, inputs
        self.epsilon, self.report = epsilon, report
        self.sweeper: Sweeper | None = None  # cut and traced at the first epoch's end

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if logs is None or self.inputs.val_examples is None:
            return
        if self.sweeper is None:
            self.sweeper = Sweeper(
                self.model,
                topology_of(self.config, self.variant),
                guess=self.inputs.guess,
                batch_size=self.config.evaluation.batch_size,
            )
        table = self.sweeper.table(self.inputs.val_examples, self.inputs.val_size)
        scores = prefixed(score(table, self.config, self.variant, self.epsilon), "val")
        logs.update(scores)
        if epoch + 1 < self.config.train.epochs:  # the last epoch reports with the test's
            self.report(epoch + 1, scores, 0)


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """One trial at a time trains a candidate (two Optuna suggestions may be the same)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
