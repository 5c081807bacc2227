"""train.optimizer and train.early_stopping: knobs the paper fixed, with the paper's defaults."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from paths import CONFIGS

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.config.schema import OptimizerConfig
from resilinet_cli.errors import ConfigError
from resilinet_cli.training.fit import make_optimizer, patience_ran_out


def test_the_default_is_the_papers_adam_and_changes_no_digest() -> None:
    optimizer = make_optimizer()
    assert type(optimizer) is keras.optimizers.Adam
    assert float(optimizer.learning_rate) == pytest.approx(0.001)
    assert optimizer.weight_decay is None
    base = load_config(CONFIGS / "quickstart.yaml")
    assert "optimizer" not in base.to_dict()["train"]
    assert "early_stopping" not in base.to_dict()["train"]
    same = load_config(CONFIGS / "quickstart.yaml", ["train.optimizer.learning_rate=0.001"])
    assert same.digest() == base.digest()
    faster = load_config(CONFIGS / "quickstart.yaml", ["train.optimizer.learning_rate=0.01"])
    assert faster.digest() != base.digest()
    assert faster.to_dict()["train"]["optimizer"]["learning_rate"] == 0.01


def test_sgd_takes_its_momentum_and_the_weight_decay() -> None:
    settings = OptimizerConfig(name="sgd", learning_rate=0.05, momentum=0.9, weight_decay=1e-4)
    optimizer = make_optimizer(None, settings)
    assert type(optimizer) is keras.optimizers.SGD
    assert float(optimizer.learning_rate) == pytest.approx(0.05)
    assert optimizer.momentum == pytest.approx(0.9)
    assert optimizer.weight_decay == pytest.approx(1e-4)


def test_a_cosine_schedule_decays_to_zero_over_the_training() -> None:
    settings = OptimizerConfig(learning_rate=0.1, schedule="cosine")
    schedule = make_optimizer(None, settings, total_steps=100)._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    # cos decay: rate · (1 + cos(π·step/total)) / 2
    assert [float(schedule(step)) for step in (0, 50, 100)] == pytest.approx([0.1, 0.05, 0.0])
    with pytest.raises(ValueError, match="number of training steps"):
        make_optimizer(None, settings)


def test_momentum_without_sgd_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(CONFIGS / "quickstart.yaml", ["train.optimizer.momentum=0.9"])
    assert str(error.value) == (
        "--set train.optimizer.momentum=0.9: applies to sgd only (train.optimizer.name is adam)"
    )
    result = CliRunner().invoke(
        main,
        ["run", str(CONFIGS / "quickstart.yaml"), "--set", "train.optimizer.name=rmsprop"],
    )
    assert result.exit_code == 2
    assert "train.optimizer.name" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("scores", "patience", "stop"),
    [
        ([0.5, 0.6, 0.6, 0.6], 2, True),  # a tie is no improvement
        ([0.5, 0.6, 0.6], 2, False),
        ([0.5, 0.6, 0.7], 1, False),
        ([0.7, 0.6], 1, True),
        ([0.7, 0.6], None, False),  # no early stopping
    ],
)
def test_patience_runs_out_after_that_many_epochs_without_a_better_score(
    scores: list[float], patience: int | None, stop: bool
) -> None:
    history = [{"val_accuracy": score} for score in scores]
    assert patience_ran_out(history, patience) is stop


def test_early_stopping_ends_training_and_keeps_the_best_epoch(tmp_path: Path) -> None:
    out = tmp_path / "run"
    sets = [
        "train.epochs=40", "train.early_stopping=2", "train.optimizer.learning_rate=0.05",
        "dataset.subset.train=200", "dataset.subset.val=60", "dataset.subset.test=60",
        "iterations=1",
    ]  # fmt: skip
    args = ["run", str(CONFIGS / "quickstart.yaml"), "--out", str(out), "--variants", "vanilla"]
    result = CliRunner().invoke(main, [*args, *(a for s in sets for a in ("--set", s))])
    assert result.exit_code == 0, result.output
    import pandas as pd

    history = pd.read_csv(out / "runs" / "vanilla" / "iter-1" / "history.csv")
    scores = history["val_accuracy"].to_numpy()
    assert len(history) < 40
    best = int(np.argmax(scores))
    assert len(history) - 1 - best == 2  # stopped as soon as patience ran out
