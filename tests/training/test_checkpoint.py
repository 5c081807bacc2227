"""Training resumes from its last finished epoch, and ends bit-identical to an uninterrupted run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from resilinet_cli import interrupt
from resilinet_cli.experiments.unit import release_models
from resilinet_cli.models.builder import build_from_config
from resilinet_cli.training.checkpoint import EpochCheckpoint, TrainingState
from resilinet_cli.training.fit import set_seeds, train_model
from resilinet_cli.training.inputs import build_inputs

EPOCHS = 3


@pytest.fixture(autouse=True, scope="module")
def checkpoint_every_epoch():
    """These epochs take a fraction of a second; by default a checkpoint waits 30 s."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESILINET_CHECKPOINT_SECONDS", "0")
        yield


@pytest.fixture(scope="module")
def inputs(quick_config, digits):
    return build_inputs(digits, quick_config, failable=3, seed=0)


def fresh_model(config, inputs):
    """What a rerun builds before it restores: the same seeds, the same initial weights."""
    set_seeds(0)
    model, _ = build_from_config(
        config, "resilinet", input_shape=inputs.input_shape, num_classes=inputs.num_classes, seed=0
    )
    return model


def model_with_optimizer(config, inputs):
    """A fresh model whose optimizer slots exist, as a checkpoint saves and restores them."""
    model = fresh_model(config, inputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    return model


def train(config, inputs, folder: Path, checkpoint: EpochCheckpoint):
    model = fresh_model(config, inputs)
    history = train_model(
        model,
        inputs.train_epoch,
        inputs.val,
        epochs=EPOCHS,
        seed=0,
        work_dir=folder,
        checkpoint=checkpoint,
        verbose=0,
    )
    return model, history


def interrupt_during_epoch(monkeypatch, epoch: int) -> None:
    """Ctrl-C at the first batch of ``epoch`` (1-based), after the epoch before it is saved."""
    save = EpochCheckpoint.save

    def save_then_arm(self, model, state):
        save(self, model, state)
        if state.epoch == epoch - 1:
            monkeypatch.setattr(interrupt, "check", raise_ctrl_c)

    def raise_ctrl_c() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(EpochCheckpoint, "save", save_then_arm)


@pytest.fixture(scope="module")
def uninterrupted(quick_config, inputs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("clean")
    model, history = train(quick_config, inputs, folder, EpochCheckpoint(folder / "ckpt", "key"))
    weights = model.get_weights()
    release_models()
    return weights, history


@pytest.mark.parametrize("stop_in_epoch", [2, 3])
def test_a_resumed_unit_ends_bit_identical_to_an_uninterrupted_one(
    quick_config, inputs, uninterrupted, tmp_path, monkeypatch, stop_in_epoch
):
    checkpoint = EpochCheckpoint(tmp_path / "ckpt", "key")
    with monkeypatch.context() as patch:
        interrupt_during_epoch(patch, stop_in_epoch)
        with pytest.raises(KeyboardInterrupt):
            train(quick_config, inputs, tmp_path, checkpoint)
    assert [p.name for p in (tmp_path / "ckpt").iterdir()] == [f"epoch-{stop_in_epoch - 1:05d}"]
    release_models()

    resumed_after = []
    checkpoint.on_resume = resumed_after.append
    model, history = train(quick_config, inputs, tmp_path, checkpoint)

    assert resumed_after == [stop_in_epoch - 1]  # not from scratch
    weights, clean_history = uninterrupted
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    assert history.equals(clean_history)  # every epoch's logs, the resumed ones included
    assert not (tmp_path / "ckpt").exists()  # a finished unit keeps no checkpoint
    release_models()


def test_the_best_epoch_so_far_survives_a_resume(quick_config, inputs, tmp_path, monkeypatch):
    """ModelCheckpoint starts from the best accuracy so far, so a worse later epoch is not kept.

    The saved best accuracy is raised out of reach before the resume: the weights kept in the
    end must then be the best file written before the interruption.
    """
    checkpoint = EpochCheckpoint(tmp_path / "ckpt", "key")
    with monkeypatch.context() as patch:
        interrupt_during_epoch(patch, 3)
        with pytest.raises(KeyboardInterrupt):
            train(quick_config, inputs, tmp_path, checkpoint)
    best_before = tmp_path / "best_before.weights.h5"
    shutil.copy(tmp_path / ".best.weights.h5", best_before)
    (state_file,) = (tmp_path / "ckpt").glob("epoch-*/state.json")
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "best": 2.0}))
    release_models()

    model, _ = train(quick_config, inputs, tmp_path, checkpoint)

    reference = fresh_model(quick_config, inputs)
    reference.load_weights(best_before)
    for got, want in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    release_models()


def test_a_checkpoint_of_another_training_is_not_resumed(quick_config, inputs, tmp_path):
    folder = tmp_path / "ckpt"
    model = model_with_optimizer(quick_config, inputs)
    EpochCheckpoint(folder, "old config").save(model, TrainingState(epoch=2, history=[{}, {}]))
    resumed = []
    state = EpochCheckpoint(folder, "new config", on_resume=resumed.append).restore(model)
    assert (state.epoch, resumed, folder.exists()) == (0, [], False)
    release_models()


def test_an_epoch_folder_without_its_state_file_is_ignored(quick_config, inputs, tmp_path):
    """A kill while an epoch was being saved: the epoch before it is resumed."""
    folder = tmp_path / "ckpt"
    model = model_with_optimizer(quick_config, inputs)
    checkpoint = EpochCheckpoint(folder, "key")
    checkpoint.save(model, TrainingState(epoch=1, history=[{"loss": 1.0}], best=0.5))
    half = folder / "epoch-00002"
    half.mkdir()
    (half / "weights.weights.h5").write_bytes(b"\x89HDF\r\n half-written")
    state = checkpoint.restore(model)
    assert (state.epoch, state.history, state.best) == (1, [{"loss": 1.0}], 0.5)
    assert [p.name for p in folder.iterdir()] == ["epoch-00001"]
    release_models()


def test_short_epochs_are_not_checkpointed_until_the_interval_has_passed(
    quick_config, inputs, tmp_path, monkeypatch
):
    monkeypatch.setenv("RESILINET_CHECKPOINT_SECONDS", "3600")
    saved = []
    monkeypatch.setattr(EpochCheckpoint, "save", lambda self, model, state: saved.append(state))
    train(quick_config, inputs, tmp_path, EpochCheckpoint(tmp_path / "ckpt", "key"))
    assert saved == []
    release_models()
