"""A resumed unit's TensorBoard logs: the epochs it trains again replace what the stopped run
logged past its last checkpoint, so no two event files hold the same step of one tag."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import keras
import pandas as pd
import pytest
import tensorflow as tf

from resilinet_cli.experiments.unit import release_models
from resilinet_cli.models.builder import build_from_config
from resilinet_cli.results.tensorboard import epoch_logger, write_weighted
from resilinet_cli.topology import Topology
from resilinet_cli.training.checkpoint import EpochCheckpoint
from resilinet_cli.training.fit import set_seeds, train_model
from resilinet_cli.training.inputs import build_inputs

EPOCHS = 4


class StopAt(keras.callbacks.Callback):
    """Ctrl-C as ``epoch`` (0-based) begins, once."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch, self.armed = epoch, True

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.armed and epoch == self.epoch:
            self.armed = False
            raise KeyboardInterrupt


def steps_per_file(logs: Path) -> dict[str, list[list[int]]]:
    """Each tag's steps in each event file under ``logs``, read back with TensorFlow."""
    found: dict[str, list[list[int]]] = defaultdict(list)
    for path in sorted(logs.rglob("events.out.tfevents.*")):
        steps: dict[str, list[int]] = defaultdict(list)
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                steps[f"{path.parent.name}/{value.tag}"].append(event.step)
        for tag, seen in steps.items():
            found[tag].append(seen)
    return found


def train(config, inputs, folder: Path, callbacks: list) -> object:
    set_seeds(0)
    model, _ = build_from_config(config, "resilinet", input_shape=inputs.input_shape,
                                 num_classes=inputs.num_classes, seed=0)  # fmt: skip
    return train_model(
        model, inputs.train_epoch, inputs.val, epochs=EPOCHS, seed=0, work_dir=folder,
        checkpoint=EpochCheckpoint(folder / ".resume", "key"), verbose=0,
        epoch_callbacks=[epoch_logger(folder), *callbacks],
    )  # fmt: skip


def test_a_resumed_unit_logs_every_step_once(
    quick_config, digits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checkpointed after epoch 1 only; stopped as epoch 4 begins, three epochs logged; the
    rerun resumes after epoch 1 and logs epochs 2 to 4 again."""
    inputs = build_inputs(digits, quick_config, failable=3, seed=0)
    monkeypatch.setenv("RESILINET_CHECKPOINT_SECONDS", "0")
    save = EpochCheckpoint.save

    def after_epoch_one_only(self: EpochCheckpoint, model: keras.Model, state) -> None:
        if state.epoch == 1:
            save(self, model, state)

    monkeypatch.setattr(EpochCheckpoint, "save", after_epoch_one_only)
    with pytest.raises(KeyboardInterrupt):
        train(quick_config, inputs, tmp_path, [StopAt(3)])
    logs = tmp_path / "tensorboard"
    assert steps_per_file(logs)["validation/epoch_accuracy"] == [[0, 1, 2]]
    release_models()

    history = train(quick_config, inputs, tmp_path, [])
    found = steps_per_file(logs)
    for tag in ("train/epoch_accuracy", "train/epoch_loss", "validation/epoch_accuracy"):
        assert found[tag] == [[0], [1, 2, 3]], tag  # the old file keeps epoch 1 only
    iterations = found["validation/evaluation_accuracy_vs_iterations"]
    every = [step for steps in iterations for step in steps]
    assert len(every) == len(set(every)) == EPOCHS  # one value per epoch, none twice
    values = {}
    for path in sorted((logs / "validation").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag == "epoch_accuracy":
                    values[event.step] = float(tf.make_ndarray(value.tensor))
    assert [values[step] for step in range(EPOCHS)] == pytest.approx(
        list(history["val_accuracy"]), abs=1e-6
    )  # the logs say what the resumed unit's history says
    release_models()


def test_a_unit_swept_again_keeps_one_test_value_per_setting(quick_config, tmp_path) -> None:

    topology = Topology.from_config(quick_config.topology)
    columns = list(topology.columns)
    rows = [dict.fromkeys(columns, 1) | {"accuracy": 0.5}]
    table = pd.DataFrame(rows)
    for _ in range(2):
        write_weighted(tmp_path, table, topology, step=2)
    found = steps_per_file(tmp_path / "tensorboard")
    assert found and all(steps == [[2]] for steps in found.values()), found
