"""ImageNet (ILSVRC-2012, docs/method.md §2.5) from a folder tree the user provides.

Why a folder tree: 1.28M training images (about 140 GB) cannot be held in memory and cannot be
downloaded for the user (image-net.org requires an account and accepting its terms). The loader
only checks the tree and counts the files per class (no image is decoded); the training code
streams it with `keras.utils.image_dataset_from_directory` at 160x160.

The reference run had no validation set: it tested on the 50,000 ILSVRC2012 validation images
and kept the last weights. So `train/` is the training set, `val/` is the *test* set and
`val_dir` is None.

Layout (`<root>` is `--data-dir`, `$RESILINET_DATA/imagenet` or `~/.keras/datasets/imagenet`)::

    <root>/train/n01440764/n01440764_10026.JPEG ...   (1000 class folders, 732 to 1300 each)
    <root>/val/n01440764/ILSVRC2012_val_00000293.JPEG ...   (the same 1000 folders, 50 each)

How to build it by hand:

1. Sign in at https://image-net.org, accept the terms, and download from the ILSVRC2012 page
   `ILSVRC2012_img_train.tar` (138 GB), `ILSVRC2012_img_val.tar` (6.3 GB) and the development
   kit `ILSVRC2012_devkit_t12.tar.gz`.
2. Training images: `mkdir -p <root>/train && tar -xf ILSVRC2012_img_train.tar -C <root>/train`
   gives one tar per class (`n01440764.tar`, ...); unpack each into its own folder:
   `cd <root>/train && for t in *.tar; do mkdir "${t%.tar}" && tar -xf "$t" -C "${t%.tar}"
   && rm "$t"; done`.
3. Validation images: `mkdir -p <root>/val && tar -xf ILSVRC2012_img_val.tar -C <root>/val`
   gives 50,000 images in one flat folder. Move each into the folder of its class:
   `data/ILSVRC2012_validation_ground_truth.txt` of the devkit gives, line by line for
   ILSVRC2012_val_00000001.JPEG onwards, the class id 1..1000, and `data/meta.mat` maps each id
   to its WordNet folder name (`n01440764`, ...). Widely used scripts do exactly this, for
   example `valprep.sh` of github.com/soumith/imagenetloader.torch, which the script
   `imagenet/extract_ILSVRC.sh` of github.com/pytorch/examples runs after steps 2 and 3.
4. Check: 1,281,167 images under train/ and 50,000 under val/, in 1000 class folders each.

Image files are those ending in .jpeg, .jpg or .png (any case), counted recursively inside each
class folder as Keras walks it; other files are ignored (Keras would also read .bmp and .gif;
ILSVRC-2012 has none). Hidden folders (".name") are not classes, as in Keras.
"""

from __future__ import annotations

import os
from pathlib import Path

from resilinet_cli.data.locate import cache_dir, candidate_dirs, describe
from resilinet_cli.data.splits import FolderSplits
from resilinet_cli.errors import DataError

NAME = "imagenet"
SUBFOLDER = "imagenet"
IMAGE_SIZE = 160
TRAIN = "train"
TEST = "val"  # the reference run's test set: the ILSVRC2012 validation images
EXTENSIONS = (".jpeg", ".jpg", ".png")
HOMEPAGE = "https://image-net.org"
_STEPS = "step by step in the docstring of resilinet_cli/data/imagenet.py"


def manual_advice() -> str:
    """One line: where to get ImageNet, how to lay it out, where to put it."""
    return (
        f"it cannot be downloaded automatically: get ILSVRC2012_img_train.tar and "
        f"ILSVRC2012_img_val.tar from {HOMEPAGE} (account required), unpack them into "
        f"<root>/{TRAIN}/<wnid>/ and <root>/{TEST}/<wnid>/ with one folder per class "
        f"(sort the flat val images into class folders with the devkit's ground truth; "
        f"{_STEPS}), and use <root> as --data-dir, $RESILINET_DATA/{SUBFOLDER} or "
        f"{cache_dir(SUBFOLDER)}"
    )


def is_image(name: str) -> bool:
    return name.lower().endswith(EXTENSIONS)


def class_folders(folder: Path) -> list[str]:
    """Sorted names of the class subfolders of `folder` (hidden folders are skipped)."""
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise DataError(f"{folder}: cannot be read ({exc.strerror or exc}); check it") from exc
    return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))


def count_images(folder: Path) -> int:
    """Image files under `folder`, recursively, by extension only (nothing is decoded)."""
    return sum(sum(map(is_image, files)) for _, _, files in os.walk(folder))


def _counts(split: Path, names: list[str]) -> tuple[int, ...]:
    counts = tuple(count_images(split / name) for name in names)
    empty = [name for name, n in zip(names, counts, strict=True) if n == 0]
    if empty:
        others = f" (nor do {_few(empty[1:])})" if len(empty) > 1 else ""
        raise DataError(
            f"{split / empty[0]}: class folder holds no .jpeg/.jpg/.png images{others}; "
            f"add its images or remove the class from both {TRAIN}/ and {TEST}/"
        )
    return counts


def scan(root: Path) -> FolderSplits:
    """Check the tree under `root` and count its images; DataError names the bad folder."""
    train, test = root / TRAIN, root / TEST
    for split in (train, test):
        if not split.is_dir():
            raise DataError(
                f"ImageNet in {root} is incomplete: no {split.name}/ folder; {manual_advice()}"
            )
    names = class_folders(train)
    if not names:
        raise DataError(
            f"{train}: no class subfolders (expected one folder per class, such as "
            f"{TRAIN}/n01440764/); {_STEPS}"
        )
    test_names = class_folders(test)
    if not test_names:
        raise DataError(
            f"{test}: no class subfolders; the ILSVRC2012 val images unpack into one flat "
            f"folder and must be sorted into the {len(names)} class folders of {TRAIN}/; {_STEPS}"
        )
    if test_names != names:
        missing = sorted(set(names) - set(test_names))
        extra = sorted(set(test_names) - set(names))
        parts = []
        if missing:
            parts.append(f"missing {_few(missing)}")
        if extra:
            parts.append(f"not in {TRAIN}/: {_few(extra)}")
        raise DataError(
            f"{test}: its class folders are not those of {train} ({'; '.join(parts)}); "
            "both must hold the same classes"
        )
    return FolderSplits(
        name=NAME,
        train_dir=train,
        val_dir=None,
        test_dir=test,
        class_names=tuple(names),
        train_counts=_counts(train, names),
        test_counts=_counts(test, names),
        image_size=IMAGE_SIZE,
    )


def _few(names: list[str]) -> str:
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return ", ".join(names[:5]) + more


def locate(data_dir: Path | None) -> Path:
    """The first searched folder with `train/` or `val/` (docs/architecture.md §5; no download)."""
    candidates = candidate_dirs(SUBFOLDER, data_dir)
    for folder in candidates:
        if (folder / TRAIN).is_dir() or (folder / TEST).is_dir():
            return folder
    raise DataError(f"ImageNet not found (looked in: {describe(candidates)}); {manual_advice()}")


def load(data_dir: Path | None = None, download: bool = True, split_seed: int = 42) -> FolderSplits:
    """Find and check the tree; `download` and `split_seed` are unused (fixed train/val split)."""
    del download, split_seed
    return scan(locate(data_dir))
