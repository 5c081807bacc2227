"""Training one model: seeds, Adam, and the best-validation checkpoint.

paper_spec §8: Adam with Keras defaults, sparse categorical cross-entropy, the batch size and
epoch count of the config, and the weights of the epoch with the best validation accuracy (the
last weights when there is no validation set, as in the reference ImageNet run).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from resilinet_cli import interrupt


def set_seeds(seed: int) -> None:
    """Seed Python, NumPy, TensorFlow and Keras, and make TF's ops deterministic.

    With both, two runs of one config on one machine give byte-identical results (README,
    "Determinism"). Op determinism costs nothing measurable on CPU.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train_model(
    model: keras.Model,
    train: tf.data.Dataset,
    val: tf.data.Dataset | None,
    *,
    epochs: int,
    work_dir: Path,
    verbose: int | str = "auto",
) -> pd.DataFrame:
    """Fit ``model`` in place, leave it holding its best-validation weights; return the history."""
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss="sparse_categorical_crossentropy",
        # A metric object, not the string "accuracy": Keras builds a string metric, and so
        # creates its variables, inside the first traced step, which makes TensorFlow trace
        # the whole training step a second time (about 3.5 s per MobileNet unit on 2 cores).
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    # The optimizer's slots likewise: built here, outside tf.function, for the same reason.
    model.optimizer.build(model.trainable_variables)
    work_dir.mkdir(parents=True, exist_ok=True)
    best = work_dir / ".best.weights.h5"
    callbacks = [interrupt.keras_callback()]
    if val is not None:
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                best,
                monitor="val_accuracy",
                mode="max",
                save_best_only=True,
                save_weights_only=True,
            )
        )
    history = model.fit(
        train,
        validation_data=val,
        epochs=epochs,
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself, with the unit's seed
        verbose=verbose,
    )
    if val is not None:
        model.load_weights(best)
        best.unlink()
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return frame
