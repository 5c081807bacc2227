"""Training one model: seeds, the input pipeline, Adam, and the best-validation checkpoint.

paper_spec §8: Adam with Keras defaults, sparse categorical cross-entropy, the batch size and
epoch count of the config, and the weights of the epoch with the best validation accuracy.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf


def set_seeds(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow in one call."""
    keras.utils.set_random_seed(seed)


def alive_dataset(
    x: np.ndarray,
    y: np.ndarray,
    failable: int,
    batch_size: int,
    *,
    shuffle_seed: int | None = None,
) -> tf.data.Dataset:
    """Batches of ((features, alive), label) with every node alive; failout draws its own masks."""
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)

    def with_alive(features: tf.Tensor, label: tf.Tensor) -> tuple:
        alive = tf.ones((tf.shape(features)[0], failable), dtype=tf.float32)
        return (features, alive), label

    dataset = dataset.batch(batch_size).map(with_alive, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def train_model(
    model: keras.Model,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    work_dir: Path,
    verbose: int | str = "auto",
) -> pd.DataFrame:
    """Fit ``model`` in place, leave it holding its best-validation weights; return the history."""
    x_train, y_train, x_val, y_val = data
    failable = model.get_layer("alive").output.shape[-1]
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    work_dir.mkdir(parents=True, exist_ok=True)
    best = work_dir / ".best.weights.h5"
    checkpoint = keras.callbacks.ModelCheckpoint(
        best, monitor="val_accuracy", mode="max", save_best_only=True, save_weights_only=True
    )
    history = model.fit(
        alive_dataset(x_train, y_train, failable, batch_size, shuffle_seed=seed),
        validation_data=alive_dataset(x_val, y_val, failable, batch_size),
        epochs=epochs,
        callbacks=[checkpoint],
        shuffle=False,  # the dataset shuffles itself, with the unit's seed
        verbose=verbose,
    )
    model.load_weights(best)
    best.unlink()
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return frame
