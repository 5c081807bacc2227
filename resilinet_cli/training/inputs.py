"""tf.data input pipelines: batching, the alive mask, image shaping and augmentation.

In-memory splits (numpy), folder trees and an image folder's file lists (both streamed, never
held in memory) give the same `Inputs`, so training and the failure sweep do not care where the
data came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.data import FolderSplits, Splits
from resilinet_cli.data.splits import ImageFiles, class_counts, guess_accuracy
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
    splits: Splits | FolderSplits | ImageFiles, config: ExperimentConfig, failable: int, seed: int
) -> Inputs:
    """Training, validation and test pipelines for one unit (``seed`` drives shuffle/augment)."""
    if isinstance(splits, FolderSplits):
        return _folder_inputs(splits, config, failable, seed)
    if isinstance(splits, ImageFiles):
        return _image_file_inputs(splits, config, failable, seed)
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


def decode_image(contents: tf.Tensor, channels: int) -> tf.Tensor:
    """One image file's bytes as a uint8 (height, width, ``channels``) tensor (a GIF: its first
    frame). TensorFlow decodes BMP and GIF files only to 3 or 4 channels, so one channel is
    taken from the image as stored: its grey channel, or the grey of its RGB channels."""
    if channels != 1:
        return tf.io.decode_image(contents, channels=channels, expand_animations=False)
    image = tf.io.decode_image(contents, channels=0, expand_animations=False)
    return tf.cond(
        tf.shape(image)[-1] >= 3,
        lambda: tf.image.rgb_to_grayscale(image[..., :3]),
        lambda: image[..., :1],
    )


def _image_file_inputs(
    splits: ImageFiles, config: ExperimentConfig, failable: int, seed: int
) -> Inputs:
    """Stream an image folder of the user's own from its lists of files: each batch's images
    are read and decoded when it is drawn (nothing is cached, so memory does not grow with the
    number of images), resized to ``splits.shape`` when they differ from it (bilinear) and
    scaled by 1/255 to [0, 1], the same scaling as the ImageNet folders (docs/method.md §2.5).
    The file list is shuffled with each epoch's seed, as the arrays are."""
    height, width, channels = splits.shape
    batch = config.train.batch_size
    add = with_alive(failable)

    def read(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = decode_image(tf.io.read_file(path), channels)
        if splits.resize:
            image = tf.image.resize(image, (height, width))
        image = tf.ensure_shape(image, (height, width, channels))
        return tf.cast(image, tf.float32) / 255.0, label

    def examples(
        files: tuple[str, ...], y: np.ndarray, shuffle_seed: int | None = None
    ) -> tf.data.Dataset:
        data = tf.data.Dataset.from_tensor_slices(
            (tf.constant(list(files), dtype=tf.string), tf.constant(y, dtype=tf.int64))
        )
        if shuffle_seed is not None:
            data = data.shuffle(max(len(files), 1), seed=shuffle_seed)
        return data.map(read, AUTOTUNE, deterministic=True)

    def train_epoch(epoch: int) -> tf.data.Dataset:
        shuffle_seed = epoch_seed(seed, epoch, SHUFFLE)
        train = examples(splits.train_files, splits.y_train, shuffle_seed).batch(batch)
        if config.train.augment:
            train = augmented(train, epoch_seed(seed, epoch, AUGMENT))
        return train.map(add, AUTOTUNE).prefetch(AUTOTUNE)

    has_val = len(splits.val_files) > 0
    val_examples = examples(splits.val_files, splits.y_val) if has_val else None
    return Inputs(
        train_epoch=train_epoch,
        val=val_examples.batch(batch).map(add, AUTOTUNE).prefetch(AUTOTUNE) if has_val else None,
        val_examples=val_examples,
        val_size=len(splits.val_files),
        test=examples(splits.test_files, splits.y_test),
        test_size=len(splits.test_files),
        input_shape=splits.shape,
        num_classes=splits.num_classes,
        guess=guess_accuracy(
            class_counts(splits.y_train, splits.num_classes),
            class_counts(splits.y_test, splits.num_classes),
        ),
    )
