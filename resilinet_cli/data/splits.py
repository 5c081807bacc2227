"""The 80/10/10 split of docs/method.md §2.6, and the `Splits` container every loader returns.

Why a module of its own: the split protocol must be identical for every dataset (the reference
code splits CIFAR-10 and MHEALTH the same way), so it lives in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np


@dataclass(frozen=True)
class Splits:
    """80/10/10 split of one dataset, as numpy arrays (x float32, y int64)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    # A data set of the user's own (data/files.py): the class names, and where the data came
    # from (path, format, SHA-256, rows and class counts per split) for the run's records.
    class_names: tuple[str, ...] | None = None
    source: dict[str, Any] | None = None


@dataclass(frozen=True)
class ImageFiles:
    """An image folder of the user's own, split into lists of files: decoded batch by batch
    (training/inputs.py), so memory does not grow with the number of images."""

    name: str
    train_files: tuple[str, ...]
    y_train: np.ndarray
    val_files: tuple[str, ...]
    y_val: np.ndarray
    test_files: tuple[str, ...]
    y_test: np.ndarray
    class_names: tuple[str, ...]
    shape: tuple[int, int, int]  # height, width, channels of every example as read
    resize: bool  # images differ from ``shape``: each is resized to it
    source: dict[str, Any] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def split_80_10_10(
    x: np.ndarray, y: np.ndarray, seed: int = 42
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (x_train, y_train, x_val, y_val, x_test, y_test) exactly as the reference code.

    `train_test_split(test_size=0.20, random_state=seed, shuffle=True)`, then the 20 % is split
    50/50 with the same `random_state`. Not stratified.
    """
    # sklearn.model_selection is slow to import; only pay for it when a dataset is split.
    from sklearn.model_selection import train_test_split

    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.20, random_state=seed, shuffle=True
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.50, random_state=seed, shuffle=True
    )
    return x_train, y_train, x_val, y_val, x_test, y_test


class SplitOrder(NamedTuple):
    """The rows of ``split_80_10_10`` as indices into ``x``: train, then val, then test."""

    rows: np.ndarray
    val: int  # where the validation rows begin in ``rows``
    test: int  # where the test rows begin


def split_order(n: int, seed: int = 42) -> SplitOrder:
    """``split_80_10_10``'s split of ``n`` examples, as row indices: the same two
    ``train_test_split`` calls on the row numbers, so the same rows in the same order (the
    split draws from ``n`` and ``seed`` alone). A loader can then read examples straight into
    split order without the copies the split of an array makes."""
    rows = np.arange(n)
    train, _, val, _, test, _ = split_80_10_10(rows, rows, seed)
    return SplitOrder(np.concatenate([train, val, test]), len(train), len(train) + len(val))


def cut_missing_splits(parts: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """``x_train``, ``y_train`` with ``x_val``/``y_val`` and ``x_test``/``y_test`` as given; a
    missing pair is cut from the training split (10 %, seeded): for npz files of one's own and
    image folders with ``train/`` but no ``test/`` or ``val/``."""
    from sklearn.model_selection import train_test_split

    parts = dict(parts)
    for split in ("test", "val"):
        if f"x_{split}" not in parts:
            x, cut, y, cut_y = train_test_split(
                parts["x_train"], parts["y_train"], test_size=0.1, random_state=seed
            )
            parts.update({"x_train": x, "y_train": y, f"x_{split}": cut, f"y_{split}": cut_y})
    return parts


def make_splits(name: str, x: np.ndarray, y: np.ndarray, num_classes: int, seed: int) -> Splits:
    """Cast to the dtypes the models expect (x float32, y int64) and split 80/10/10."""
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    x_train, y_train, x_val, y_val, x_test, y_test = split_80_10_10(x, y, seed)
    return Splits(name, x_train, y_train, x_val, y_val, x_test, y_test, num_classes)


@dataclass(frozen=True)
class FolderSplits:
    """An image dataset too large for memory: class-subfolder trees, streamed by tf.data.

    ``val_dir`` may be None (the reference ImageNet run had no validation set: it kept the last
    weights). Class counts give the exact random-guess accuracy without reading any image.
    """

    name: str
    train_dir: Path
    val_dir: Path | None
    test_dir: Path
    class_names: tuple[str, ...]
    train_counts: tuple[int, ...]
    test_counts: tuple[int, ...]
    image_size: int

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def guess_accuracy(train_counts: Sequence[int], test_counts: Sequence[int]) -> float:
    """Exact expected accuracy of guessing from the training class frequencies.

    Σ_k p_train(k)·p_test(k) over the class counts of each split: what a combination without
    information flow scores (docs/method.md §6.2). The reference code shifted the Health labels by
    one here; we use the correct mapping. Arrays and streamed folders both score it this way.
    """
    p_train = np.asarray(train_counts) / sum(train_counts)
    p_test = np.asarray(test_counts) / sum(test_counts)
    return float(np.dot(p_train, p_test))


def class_counts(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """How many examples of each class ``labels`` holds (by the real label values)."""
    return np.bincount(labels, minlength=num_classes)


def example_shape(splits: Splits | FolderSplits | ImageFiles, dataset: Any) -> tuple[int, ...]:
    """The shape of one example as a model receives it: after ``dataset.image_size`` and
    ``dataset.channels`` (``training/inputs.py`` applies them), without TensorFlow."""
    if isinstance(splits, FolderSplits):
        return (splits.image_size, splits.image_size, 3)
    if isinstance(splits, ImageFiles):
        return splits.shape
    shape = list(splits.x_train.shape[1:])
    if dataset.image_size is not None and len(shape) == 3:
        shape[0] = shape[1] = dataset.image_size
    if dataset.channels is not None and len(shape) == 3:
        shape[-1] = dataset.channels
    return tuple(shape)
