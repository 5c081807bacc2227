"""Training one model: seeds, the optimizer, early stopping and the best-validation checkpoint.

docs/method.md §8: Adam with Keras defaults, sparse categorical cross-entropy, the batch size and
epoch count of the config, and the weights of the epoch with the best validation accuracy (the
last weights when there is no validation set, as in the reference ImageNet run). ``train.optimizer``
and ``train.early_stopping`` change that for users who want to; their defaults are the paper's.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from resilinet_cli import interrupt
from resilinet_cli.config.schema import OptimizerConfig
from resilinet_cli.errors import ConfigError
from resilinet_cli.training.checkpoint import EpochCheckpoint, TrainingState
from resilinet_cli.training.distribute import distributed, single_pass
from resilinet_cli.training.epoch_seeds import MODEL, epoch_seed

PAPER_OPTIMIZER = OptimizerConfig()


def set_seeds(seed: int) -> None:
    """Seed Python, NumPy, TensorFlow and Keras, and make TF's ops deterministic.

    With both, two runs of one config on one machine give byte-identical results (docs/running.md,
    "Determinism"). Op determinism costs nothing measurable on CPU.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train_model(
    model: keras.Model,
    train_epoch: Callable[[int], tf.data.Dataset],
    val: tf.data.Dataset | None,
    *,
    epochs: int,
    seed: int,
    work_dir: Path,
    checkpoint: EpochCheckpoint | None = None,
    verbose: int | str = "auto",
    gradient_accumulation_steps: int | None = None,
    epoch_callbacks: Sequence[keras.callbacks.Callback] = (),
    optimizer: OptimizerConfig = PAPER_OPTIMIZER,
    early_stopping: int | None = None,
    loss_weights: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Fit ``model`` in place, leave it holding its best-validation weights; return the history.

    ``train_epoch(e)`` gives epoch ``e``'s batches. With a ``checkpoint``, training starts after
    the last epoch it holds and saves each finished epoch to it, so that a run killed at any
    point resumes with the same result as if it had never stopped (docs/running.md, "Determinism").
    ``epoch_callbacks`` may add to an epoch's logs before the history records them
    (``train.epoch_sweep``). ``optimizer`` is ``train.optimizer``; ``early_stopping`` the
    patience in epochs of ``train.early_stopping``, judged from the history alone, so that a
    resumed unit stops where an uninterrupted one does.
    A model with exit heads (several outputs) trains on the ``loss_weights``-weighted sum of
    every output's loss (equal by default); its accuracy is the final output's.
    ``gradient_accumulation_steps``: see `make_optimizer`. A model built under a
    ``tf.distribute`` strategy (``train.distribute``) trains on all of the strategy's devices.
    """
    if (gradient_accumulation_steps or 1) > 1 and distributed(model):
        # Keras 3 steps the accumulating optimizer inside a tf.cond, where a strategy cannot
        # reduce gradients across devices (keras-team/keras#20582): it would fail in the first
        # step, after the data and the model are loaded.
        raise ConfigError(
            "train.gradient_accumulation_steps does not work with train.distribute: mirrored "
            "(Keras 3 cannot accumulate gradients under tf.distribute); with N devices, a "
            "batch_size N times larger gives each device a batch of the old size instead"
        )
    if early_stopping and val is None:
        raise ConfigError("train.early_stopping needs a validation split to judge by")
    # A metric object, not the string "accuracy": Keras builds a string metric, and so
    # creates its variables, inside the first traced step, which makes TensorFlow trace
    # the whole training step a second time (about 3.5 s per MobileNet unit on 2 cores).
    accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    heads = len(model.outputs)
    model.compile(
        optimizer=make_optimizer(
            gradient_accumulation_steps, optimizer, total_steps(optimizer, train_epoch, epochs)
        ),
        loss="sparse_categorical_crossentropy"
        if heads == 1
        else ["sparse_categorical_crossentropy"] * heads,
        loss_weights=None if heads == 1 else list(loss_weights or [1.0] * heads),
        metrics=[accuracy] if heads == 1 else [[accuracy], *[[] for _ in range(heads - 1)]],
    )
    if heads > 1:  # one label per output
        val = None if val is None else every_output(val, heads)
        train_epoch = functools.partial(every_output_of_epoch, train_epoch, heads)
    # The optimizer's slots likewise: built here, outside tf.function, for the same reason
    # (and so that a checkpoint can restore them).
    model.optimizer.build(model.trainable_variables)
    work_dir.mkdir(parents=True, exist_ok=True)
    best_path = work_dir / ".best.weights.h5"
    state = checkpoint.restore(model) if checkpoint else TrainingState()
    for callback in epoch_callbacks:
        if isinstance(callback, ResumedLog):  # a log of the epochs from here on is rewritten
            callback.resume_at(state.epoch, int(model.optimizer.iterations))
    if state.epoch < epochs and not patience_ran_out(state.history, early_stopping):
        # One fit over the remaining epochs: each epoch's pipeline has seeds of its own, and
        # the pipelines run one after the other.
        batches = [train_epoch(epoch) for epoch in range(state.epoch, epochs)]
        steps = int(batches[0].cardinality())
        callbacks = [
            interrupt.keras_callback(),
            *epoch_callbacks,
            EpochBookkeeping(seed, state, checkpoint, epochs, early_stopping),
        ]
        if val is not None:
            # After a resume, the best accuracy so far must be remembered: without
            # initial_value_threshold, ModelCheckpoint would keep any next epoch as the best.
            callbacks.insert(0, best_checkpoint(best_path, state.best))
        if heads > 1:  # first, so that every callback reads the final output's accuracy
            callbacks.insert(0, FinalOutputLogs(model.output_names[0]))
        data = functools.reduce(tf.data.Dataset.concatenate, batches)
        with single_pass(model, data):  # a model built under a strategy: see train.distribute
            model.fit(
                data,
                validation_data=val,
                initial_epoch=state.epoch,
                epochs=epochs,
                steps_per_epoch=steps,
                callbacks=callbacks,
                shuffle=False,  # the dataset shuffles itself, with a seed of each epoch
                verbose=verbose,
            )
    if val is not None and best_path.exists():  # none with train.epochs: 0 (--no-train)
        model.load_weights(best_path)
        best_path.unlink()
    if checkpoint:
        checkpoint.clear()
    frame = pd.DataFrame(state.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return frame


def every_output(data: tf.data.Dataset, heads: int) -> tf.data.Dataset:
    """Batches of ((features, alive), label) with the label once per output of the model."""
    return data.map(lambda x, y: (x, (y,) * heads), tf.data.AUTOTUNE)


def every_output_of_epoch(
    train_epoch: Callable[[int], tf.data.Dataset], heads: int, epoch: int
) -> tf.data.Dataset:
    return every_output(train_epoch(epoch), heads)


class FinalOutputLogs(keras.callbacks.Callback):
    """Name the final output's accuracy ``accuracy`` (and ``val_accuracy``) in a model with
    exit heads, where Keras prefixes it with the output's name: the best epoch, early
    stopping, the history and every report read those two columns."""

    def __init__(self, final: str) -> None:
        super().__init__()
        self.final = final

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        for prefix in ("", "val_"):
            key = f"{prefix}{self.final}_accuracy"
            if logs is not None and key in logs:
                logs[f"{prefix}accuracy"] = logs.pop(key)


def make_optimizer(
    gradient_accumulation_steps: int | None = None,
    settings: OptimizerConfig = PAPER_OPTIMIZER,
    total_steps: int | None = None,
) -> keras.optimizers.Optimizer:
    """``settings``' optimizer (the paper's: Adam with Keras' defaults), stepping once per
    ``gradient_accumulation_steps`` batches.

    Keras 3 adds each batch's gradient to an accumulator and, on every n-th batch, steps on the
    accumulated sum divided by n, with the weights unchanged in between: the mean gradient
    of n batches, which is what the reference code's ImageNet run got from averaging 4 GPUs of
    1024 images each. Batch norm and failout still see one batch at a time, as each GPU did.
    Adam's step count (for its bias correction) counts the steps, not the batches. Batches left
    over at the end of training, fewer than n, never reach the weights. The accumulators are
    optimizer variables, so an epoch checkpoint saves and restores them with Adam's moments.
    None or 1: a step per batch. A cosine schedule decays the rate to 0 over ``total_steps``
    (every batch of the training).
    """
    steps = gradient_accumulation_steps if (gradient_accumulation_steps or 1) > 1 else None
    rate: float | keras.optimizers.schedules.LearningRateSchedule = settings.learning_rate
    if settings.schedule == "cosine":
        if not total_steps:
            raise ValueError("a cosine schedule needs the number of training steps")
        rate = keras.optimizers.schedules.CosineDecay(settings.learning_rate, total_steps)
    decay = settings.weight_decay or None
    if settings.name == "sgd":
        return keras.optimizers.SGD(
            rate, momentum=settings.momentum, weight_decay=decay, gradient_accumulation_steps=steps
        )
    return keras.optimizers.Adam(rate, weight_decay=decay, gradient_accumulation_steps=steps)


def total_steps(
    settings: OptimizerConfig, train_epoch: Callable[[int], tf.data.Dataset], epochs: int
) -> int | None:
    """Batches in the whole training, for a schedule that needs them (None for the others).

    Counted without reading when tf.data knows an epoch's length (in-memory splits), else by
    one pass over the first epoch's batches (folders of images).
    """
    if settings.schedule == "constant":
        return None
    batches = train_epoch(0)
    count = int(batches.cardinality())
    if count < 0:
        count = sum(1 for _ in batches)
    return epochs * count


def patience_ran_out(history: list[dict[str, float]], patience: int | None) -> bool:
    """Whether the last ``patience`` epochs all failed to beat the best validation accuracy."""
    scores = [epoch.get("val_accuracy") for epoch in history]
    if not patience or not scores or None in scores:
        return False
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))  # the first best epoch
    return len(scores) - 1 - best >= patience


def best_checkpoint(path: Path, best_so_far: float | None) -> keras.callbacks.ModelCheckpoint:
    """Keeps the weights of the epoch with the best validation accuracy at ``path``."""
    return keras.callbacks.ModelCheckpoint(
        path,
        monitor="val_accuracy",
        mode="max",
        save_best_only=True,
        save_weights_only=True,
        initial_value_threshold=best_so_far,
    )


@runtime_checkable
class ResumedLog(Protocol):
    """An epoch callback that logs to files: told the epoch (0-based) and optimizer step the
    training starts from, before it starts, so it can drop what a stopped run logged past its
    last checkpoint (``results/tensorboard.py``)."""

    def resume_at(self, epoch: int, iterations: int) -> None: ...


class EpochBookkeeping(keras.callbacks.Callback):
    """Reseeds the random layers as each epoch begins; records and checkpoints it as it ends."""

    def __init__(
        self,
        seed: int,
        state: TrainingState,
        checkpoint: EpochCheckpoint | None,
        epochs: int,
        patience: int | None = None,
    ) -> None:
        super().__init__()
        self.seed = seed
        self.state = state
        self.checkpoint = checkpoint
        self.epochs = epochs
        self.patience = patience
        self.last_save = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        reseed_random_layers(self.model, self.seed, epoch)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs = {name: float(value) for name, value in (logs or {}).items()}
        state = self.state
        state.history.append(logs)
        state.epoch = epoch + 1
        if "val_accuracy" in logs and (state.best is None or logs["val_accuracy"] > state.best):
            state.best = logs["val_accuracy"]
        if patience_ran_out(state.history, self.patience):
            self.model.stop_training = True
        due = time.monotonic() - self.last_save >= checkpoint_seconds()
        if self.checkpoint and state.epoch < self.epochs and due:
            self.checkpoint.save(self.model, state)
            self.last_save = time.monotonic()


def checkpoint_seconds() -> float:
    """Training time between epoch checkpoints (``RESILINET_CHECKPOINT_SECONDS``, default 30).

    A MobileNet checkpoint takes about 0.3 s to write, an MLP's 0.17 s: after every one of the
    quickstart's 0.5 s epochs that would cost a third of the training time. Waiting 30 s
    between checkpoints bounds the loss on a kill to 30 s plus the epoch in progress.
    """
    return float(os.environ.get("RESILINET_CHECKPOINT_SECONDS", "30"))


def reseed_random_layers(model: keras.Model, seed: int, epoch: int) -> None:
    """Restart each random layer's stream (failout, dropout) from a seed of (seed, epoch).

    Keras keeps a random layer's stream in a ``seed_generator_state`` variable, which weight
    files do not hold; restarting it each epoch makes a resumed epoch draw what it drew before.
    """
    states = [v for v in model.variables if v.name == "seed_generator_state"]
    for i, state in enumerate(states):
        state.assign([epoch_seed(seed, epoch, MODEL + i), 0])
