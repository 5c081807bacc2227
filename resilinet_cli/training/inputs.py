"""tf.data input pipelines: batching, the alive mask, image shaping and augmentation.

In-memory splits (numpy) and folder trees (streamed, never held in memory) give the same
`Inputs`, so training and the failure sweep do not care where the data came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.data import FolderSplits, Splits
from resilinet_cli.data.splits import class_counts, guess_accuracy
from resilinet_cli.training.epoch_seeds import AUGMENT, SHUFFLE, epoch_seed

AUTOTUNE = tf.data.AUTOTUNE


@dataclass(frozen=True)
class Inputs:
    # epoch -> batched ((features, alive), label), shuffled and augmented with seeds of that
    # epoch, so that a resumed unit sees the same batches as an uninterrupted one
    train_epoch: Callable[[int], tf.data.Dataset]
    val: tf.data.Dataset | None  # batched ((features, alive), label)
    val_examples: tf.data.Dataset | None  # unbatched (features, label), for an epoch's sweep
    val_size: int
    test: tf.data.Dataset  # unbatched (features, label), for the sweep
    test_size: int
    input_shape: tuple[int, ...]
    num_classes: int
    guess: float


def image_shaper(config: ExperimentConfig) -> Callable[[tf.Tensor], tf.Tensor]:
    """Pad (or resize, when smaller) images to ``image_size`` and give them ``channels``."""
    size, channels = config.dataset.image_size, config.dataset.channels

    def shape(images: tf.Tensor) -> tf.Tensor:
        if size is not None:
            height, width = images.shape[-3], images.shape[-2]
            if height <= size and width <= size:
                images = tf.image.resize_with_crop_or_pad(images, size, size)
            else:
                images = tf.image.resize(images, (size, size))
        if channels is not None and images.shape[-1] != channels:
            images = tf.repeat(images, channels // images.shape[-1], axis=-1)
        return images

    return shape


def augmentation(seed: int) -> keras.Sequential:
    """docs/method.md §2.3: rotation 30°, width/height shift 0.2, horizontal flip.

    ``fill_mode="nearest"`` as Keras 2's ImageDataGenerator, which the reference code used.
    """
    return keras.Sequential(
        [
            keras.layers.RandomRotation(30 / 360, fill_mode="nearest", seed=seed),
            keras.layers.RandomTranslation(0.2, 0.2, fill_mode="nearest", seed=seed + 1),
            keras.layers.RandomFlip("horizontal", seed=seed + 2),
        ],
        name="augmentation",
    )


def augmented(batches: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """``batches`` with random augmentation applied, drawn from ``seed``."""
    augment = augmentation(seed)
    return batches.map(lambda f, label: (augment(f, training=True), label), AUTOTUNE)


def with_alive(failable: int) -> Callable[[tf.Tensor, tf.Tensor], tuple]:
    """Add an all-alive mask to each batch; failout draws its own failures inside the model."""

    def add(features: tf.Tensor, label: tf.Tensor) -> tuple:
        alive = tf.ones((tf.shape(features)[0], failable), dtype=tf.float32)
        return (features, alive), label

    return add


def build_inputs(
    splits: Splits | FolderSplits, config: ExperimentConfig, failable: int, seed: int
) -> Inputs:
    """Training, validation and test pipelines for one unit (``seed`` drives shuffle/augment)."""
    if isinstance(splits, FolderSplits):
        return _folder_inputs(splits, config, failable, seed)
    shape = image_shaper(config)
    batch = config.train.batch_size

    add = with_alive(failable)

    def batched(x: np.ndarray, y: np.ndarray, shuffle_seed: int | None) -> tf.data.Dataset:
        data = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle_seed is not None:
            data = data.shuffle(len(x), seed=shuffle_seed)
        return data.batch(batch).map(lambda f, label: (shape(f), label), AUTOTUNE)

    def train_epoch(epoch: int) -> tf.data.Dataset:
        train = batched(splits.x_train, splits.y_train, epoch_seed(seed, epoch, SHUFFLE))
        if config.train.augment:
            train = augmented(train, epoch_seed(seed, epoch, AUGMENT))
        return train.map(add, AUTOTUNE).prefetch(AUTOTUNE)

    def examples(x: np.ndarray, y: np.ndarray) -> tf.data.Dataset:
        data = tf.data.Dataset.from_tensor_slices((x, y))
        return data.map(lambda f, label: (shape(f), label), AUTOTUNE)

    return Inputs(
        train_epoch=train_epoch,
        val=batched(splits.x_val, splits.y_val, None).map(add, AUTOTUNE).prefetch(AUTOTUNE),
        val_examples=examples(splits.x_val, splits.y_val),
        val_size=len(splits.y_val),
        test=examples(splits.x_test, splits.y_test),
        test_size=len(splits.y_test),
        input_shape=tuple(shape(tf.zeros((1, *splits.x_train.shape[1:]))).shape[1:]),
        num_classes=splits.num_classes,
        guess=guess_accuracy(
            class_counts(splits.y_train, splits.num_classes),
            class_counts(splits.y_test, splits.num_classes),
        ),
    )


def _folder_inputs(
    splits: FolderSplits, config: ExperimentConfig, failable: int, seed: int
) -> Inputs:
    """Stream class-subfolder trees: decode, resize, rescale 1/255 (docs/method.md §2.5)."""
    size = (splits.image_size, splits.image_size)
    batch = config.train.batch_size

    def read(folder: object, shuffle: bool, batch_size: int | None, seed: int) -> tf.data.Dataset:
        data = keras.utils.image_dataset_from_directory(
            folder,
            labels="inferred",
            label_mode="int",
            class_names=list(splits.class_names),
            image_size=size,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            verbose=False,
        )
        return data.map(lambda f, label: (f / 255.0, label), AUTOTUNE)

    add = with_alive(failable)

    def train_epoch(epoch: int) -> tf.data.Dataset:
        # Lists the class folders again each epoch (one directory scan) to shuffle the file
        # list with this epoch's seed.
        train = read(splits.train_dir, True, batch, epoch_seed(seed, epoch, SHUFFLE))
        if config.train.augment:
            train = augmented(train, epoch_seed(seed, epoch, AUGMENT))
        return train.map(add, AUTOTUNE).prefetch(AUTOTUNE)

    val = None
    if splits.val_dir is not None:
        val = read(splits.val_dir, False, batch, seed).map(add, AUTOTUNE).prefetch(AUTOTUNE)
    return Inputs(
        train_epoch=train_epoch,
        val=val,
        val_examples=None,  # no epoch sweep on streamed folders (train.epoch_sweep)
        val_size=0,
        test=read(splits.test_dir, False, None, seed),
        test_size=sum(splits.test_counts),
        input_shape=(*size, 3),
        num_classes=splits.num_classes,
        guess=guess_accuracy(splits.train_counts, splits.test_counts),
    )
