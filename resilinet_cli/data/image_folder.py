"""An image folder of the user's own: one subfolder per class, as Keras'
``image_dataset_from_directory`` reads it, or ``train/``, ``val/`` and ``test/`` folders of them.

Why file lists: the images are never held in memory; the training code decodes them batch by
batch (training/inputs.py). Every image is opened and verified here, once, so a file that cannot
be decoded is one error naming it before any training, not a crash in the middle of an epoch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from resilinet_cli.data.splits import ImageFiles, cut_missing_splits, split_80_10_10
from resilinet_cli.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")  # what TensorFlow decodes (as Keras)
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
SPLIT_FOLDERS = ("train", "val", "test")


def image_files(folder: Path) -> list[Path]:
    """Every image under ``folder`` (recursively, as Keras walks a class folder), sorted;
    hidden files and folders are skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            Path(root) / name
            for name in sorted(files)
            if name.lower().endswith(EXTENSIONS) and not name.startswith(".")
        ]
    return found


def class_folders(folder: Path) -> list[str]:
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.is_dir() and not entry.name.startswith(".")
    )


def split_layout(root: Path) -> bool:
    """Whether ``root`` holds ``train/`` (and ``test/``, maybe ``val/``) folders of classes."""
    return (root / "train").is_dir()


def load_image_folder(
    root: Path,
    *,
    classes: Sequence[str] | None,
    image_size: int | None,
    channels: int | None,
    split_seed: int,
) -> ImageFiles:
    """The folder's images split into file lists, checked: decodable, sizes, classes."""
    where = str(root)
    if not root.is_dir():
        raise DataError(f"{where}: not a folder of class subfolders (dataset.path)")
    if split_layout(root):
        given = {name: root / name for name in SPLIT_FOLDERS if (root / name).is_dir()}
        names = _class_names(given["train"], classes, where)
        lists = {name: _labelled(folder, names) for name, folder in given.items()}
        files, labels = _fill_missing_splits(lists, split_seed)
    else:
        names = _class_names(root, classes, where)
        paths, y = _labelled(root, names)
        if not paths:
            raise DataError(f"{where}: no image ({', '.join(EXTENSIONS)}) in its class folders")
        parts = split_80_10_10(np.asarray(paths), y, split_seed)
        files = {s: tuple(parts[2 * i].tolist()) for i, s in enumerate(SPLIT_FOLDERS)}
        labels = {s: parts[2 * i + 1] for i, s in enumerate(SPLIT_FOLDERS)}
    every = [path for split in SPLIT_FOLDERS for path in files[split]]
    shape, resize = _check_images(every, image_size, channels, where)
    return ImageFiles(
        name=root.name,
        train_files=files["train"],
        y_train=labels["train"],
        val_files=files["val"],
        y_val=labels["val"],
        test_files=files["test"],
        y_test=labels["test"],
        class_names=tuple(names),
        shape=shape,
        resize=resize,
    )


def _class_names(folder: Path, classes: Sequence[str] | None, where: str) -> list[str]:
    found = class_folders(folder)
    if classes is None:
        names = found
    elif sorted(classes) != found:
        raise DataError(
            f"{where}: classes [{', '.join(classes)}] are not the class folders of {folder} "
            f"([{', '.join(found)}])"
        )
    else:
        names = list(classes)
    if len(names) < 2:
        raise DataError(f"{folder}: {len(names)} class folder(s); a classifier needs 2")
    return names


def _labelled(folder: Path, names: Sequence[str]) -> tuple[list[str], np.ndarray]:
    paths: list[str] = []
    labels: list[int] = []
    for index, name in enumerate(names):
        found = image_files(folder / name) if (folder / name).is_dir() else []
        paths += [str(path) for path in found]
        labels += [index] * len(found)
    return paths, np.asarray(labels, dtype=np.int64)


def _fill_missing_splits(
    lists: dict[str, tuple[list[str], np.ndarray]], seed: int
) -> tuple[dict[str, tuple[str, ...]], dict[str, np.ndarray]]:
    """train/ with test/ and val/ as given; a missing one is cut from train (10 %, seeded)."""
    given = {f"{xy}_{split}": np.asarray(part[i]) for split, part in lists.items()
             for i, xy in enumerate(("x", "y"))}  # fmt: skip
    parts = cut_missing_splits(given, seed)
    files = {split: tuple(parts[f"x_{split}"].tolist()) for split in SPLIT_FOLDERS}
    return files, {split: parts[f"y_{split}"] for split in SPLIT_FOLDERS}


def _check_images(
    paths: Sequence[str], image_size: int | None, channels: int | None, where: str
) -> tuple[tuple[int, int, int], bool]:
    """Open and verify every image; the example shape and whether images need resizing."""
    from PIL import Image, UnidentifiedImageError

    sizes: dict[tuple[int, int], str] = {}
    grey = True
    for path in paths:
        try:
            with Image.open(path) as image:
                sizes.setdefault(image.size, path)
                grey = grey and image.mode in GREY_MODES
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise DataError(f"{path}: cannot be decoded as an image ({error})") from None
    depth = channels or (1 if grey else 3)
    if image_size is not None:
        return (image_size, image_size, depth), True
    if len(sizes) > 1:
        (w1, h1), (w2, h2) = list(sizes)[:2]
        first, second = list(sizes.values())[:2]
        raise DataError(
            f"{where}: images differ in size ({w1}x{h1} {first}, {w2}x{h2} {second}); "
            "set dataset.image_size to resize them all to one square size"
        )
    ((width, height),) = sizes
    return (height, width, depth), False
