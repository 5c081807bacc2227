"""Gradient accumulation: ImageNet MobileNet's Adam step on 4 x 1024 images, as in the reference.

The reference code trained on 4 GPUs of 1024 images each, and Keras averaged the 4 GPUs'
gradients into one Adam step. ``train.gradient_accumulation_steps: 4`` with batch 1024 gives the
same step on one device: these tests check the update, Adam's step count, the config key and an
epoch checkpoint taken in the middle of an accumulation cycle.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from paths import CONFIGS

from resilinet_cli import interrupt
from resilinet_cli.config import load_config
from resilinet_cli.training.checkpoint import EpochCheckpoint
from resilinet_cli.training.fit import make_optimizer, set_seeds, train_model

STEPS = 4  # batches per Adam step
BATCH = 8
FEATURES, CLASSES = 5, 3


def tiny_model() -> keras.Model:
    """Two Dense layers, no batch norm: the mean gradient of 4 batches is then exactly the
    gradient of the mean loss over their 32 examples."""
    set_seeds(0)
    return keras.Sequential(
        [
            keras.Input((FEATURES,)),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )


def data(batches: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batches * BATCH, FEATURES)).astype("float32")
    return x, rng.integers(0, CLASSES, batches * BATCH)


def gradients(model: keras.Model, x: np.ndarray, y: np.ndarray) -> list[tf.Tensor]:
    with tf.GradientTape() as tape:
        loss = keras.losses.sparse_categorical_crossentropy(y, model(x, training=True))
        loss = tf.reduce_mean(loss)
    return tape.gradient(loss, model.trainable_variables)


def compiled(optimizer: keras.optimizers.Optimizer) -> keras.Model:
    model = tiny_model()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def scale_sensitive(optimizer: keras.optimizers.Adam) -> keras.optimizers.Adam:
    """Adam is blind to a constant gradient scale except through epsilon. With epsilon 1 (and a
    learning rate of 0.1, so that the steps are large) the sum of 4 gradients steps differently
    from their mean, and the test can tell which of the two Keras used."""
    optimizer.epsilon = 1.0
    optimizer.learning_rate = 0.1
    return optimizer


def test_four_accumulated_batches_make_one_adam_step_on_their_mean_gradient() -> None:
    cycles = 2  # two steps: Adam's bias correction must count steps, not batches
    x, y = data(cycles * STEPS)
    model = compiled(scale_sensitive(make_optimizer(STEPS)))
    start = [w.copy() for w in model.get_weights()]
    for batch in range(cycles * STEPS):
        part = slice(batch * BATCH, (batch + 1) * BATCH)
        model.train_on_batch(x[part], y[part])
        if batch < STEPS - 1:  # the weights wait for the 4th batch
            for got, want in zip(model.get_weights(), start, strict=True):
                np.testing.assert_array_equal(got, want)
    assert int(model.optimizer.iterations) == cycles

    # The reference: each step on the mean of the 4 batches' gradients, taken at one weight set.
    mean_step = compiled(scale_sensitive(make_optimizer()))
    sum_step = compiled(scale_sensitive(make_optimizer()))  # a control the test must reject
    whole_batch = compiled(scale_sensitive(make_optimizer()))  # all 32 at once, as 4 GPUs did
    for cycle in range(cycles):
        part = slice(cycle * STEPS * BATCH, (cycle + 1) * STEPS * BATCH)
        for reference, scale in ((mean_step, 1 / STEPS), (sum_step, 1.0)):
            per_batch = [
                gradients(reference, xb, yb)
                for xb, yb in zip(np.split(x[part], STEPS), np.split(y[part], STEPS), strict=True)
            ]
            combined = [tf.add_n(list(g)) * scale for g in zip(*per_batch, strict=True)]
            reference.optimizer.apply(combined, reference.trainable_variables)
        whole_batch.train_on_batch(x[part], y[part])

    for got, mean_w, whole_w, sum_w in zip(
        model.get_weights(),
        mean_step.get_weights(),
        whole_batch.get_weights(),
        sum_step.get_weights(),
        strict=True,
    ):
        np.testing.assert_allclose(got, mean_w, atol=1e-6)
        np.testing.assert_allclose(got, whole_w, atol=1e-6)
        assert np.abs(got - sum_w).max() > 1e-5  # 10x the tolerance: not the sum

    # Four ordinary steps, one per batch, end elsewhere: accumulation changes the training.
    per_batch = compiled(scale_sensitive(make_optimizer()))
    for batch in range(cycles * STEPS):
        part = slice(batch * BATCH, (batch + 1) * BATCH)
        per_batch.train_on_batch(x[part], y[part])
    assert np.abs(per_batch.get_weights()[0] - model.get_weights()[0]).max() > 1e-3


@pytest.mark.parametrize("steps", [None, 1])
def test_none_or_one_steps_on_every_batch(steps: int | None) -> None:
    assert make_optimizer(steps).gradient_accumulation_steps is None


def train(folder: Path, epochs: int) -> keras.Model:
    """Two batches an epoch: every other epoch ends half-way through an accumulation cycle."""
    x, y = data(2 * epochs)
    model = tiny_model()

    def train_epoch(epoch: int) -> tf.data.Dataset:
        part = slice(2 * BATCH * epoch, 2 * BATCH * (epoch + 1))
        return tf.data.Dataset.from_tensor_slices((x[part], y[part])).batch(BATCH)

    train_model(
        model,
        train_epoch,
        None,
        epochs=epochs,
        seed=0,
        work_dir=folder,
        checkpoint=EpochCheckpoint(folder / "ckpt", "key"),
        verbose=0,
        gradient_accumulation_steps=STEPS,
    )
    return model


def accumulators(optimizer: keras.optimizers.Optimizer) -> list[np.ndarray]:
    return [
        keras.ops.convert_to_numpy(v)
        for v in optimizer.variables
        if "gradient_accumulator" in v.name
    ]


def test_an_epoch_checkpoint_mid_cycle_restores_the_accumulated_gradients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESILINET_CHECKPOINT_SECONDS", "0")
    epochs = 4
    clean = train(tmp_path / "clean", epochs)
    assert int(clean.optimizer.iterations) == 2  # 8 batches, 2 steps

    # Stop during epoch 2, after epoch 1 (2 of the cycle's 4 batches) was checkpointed.
    save = EpochCheckpoint.save

    def stop() -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:

        def save_then_stop(self, model, state):
            save(self, model, state)
            if state.epoch == 1:
                patch.setattr(interrupt, "check", stop)

        patch.setattr(EpochCheckpoint, "save", save_then_stop)
        with pytest.raises(KeyboardInterrupt):
            train(tmp_path / "resumed", epochs)

    # What the checkpoint holds: 2 batches in the accumulators, no step taken yet.
    probe = tiny_model()
    probe.compile(optimizer=make_optimizer(STEPS), loss="sparse_categorical_crossentropy")
    probe.optimizer.build(probe.trainable_variables)
    EpochCheckpoint(tmp_path / "resumed" / "ckpt", "key").restore(probe)
    held = accumulators(probe.optimizer)
    assert len(held) == len(probe.trainable_variables)
    assert all(np.abs(a).max() > 0 for a in held)
    assert int(probe.optimizer.iterations) == 0
    for got, want in zip(probe.get_weights(), tiny_model().get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)  # the weights wait for the 4th batch

    resumed = train(tmp_path / "resumed", epochs)
    for got, want in zip(resumed.get_weights(), clean.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert int(resumed.optimizer.iterations) == 2


def test_the_config_key_sets_the_step_and_changes_the_digest() -> None:
    imagenet = load_config(CONFIGS / "imagenet_mobilenet.yaml")
    assert (imagenet.train.batch_size, imagenet.train.gradient_accumulation_steps) == (1024, 4)

    quick = load_config(CONFIGS / "quickstart.yaml")
    assert quick.train.gradient_accumulation_steps is None
    # Unset, the key is not in the resolved config: every existing run folder keeps its digest.
    assert "gradient_accumulation_steps" not in quick.to_dict()["train"]
    accumulated = load_config(CONFIGS / "quickstart.yaml", ["train.gradient_accumulation_steps=4"])
    assert accumulated.train.gradient_accumulation_steps == 4
    assert accumulated.digest() != quick.digest()
    assert accumulated.with_overrides(["train.epochs=3"]).train.gradient_accumulation_steps == 4
