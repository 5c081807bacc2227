"""What ``resilinet data info|verify|fetch`` print: each dataset's source and its loaded shape.

Why here: the loaders already search, download, checksum and validate; the commands only need
a short description of each dataset and a summary of what a loader returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from resilinet_cli.data import cifar10, digits, fashion_mnist, imagenet, mhealth
from resilinet_cli.data.files import ARRAYS_FOLDER, OwnData, data_files
from resilinet_cli.data.locate import cache_dir
from resilinet_cli.data.splits import FolderSplits, ImageFiles, Splits
from resilinet_cli.errors import DataError


@dataclass(frozen=True)
class Entry:
    what: str
    source: str
    cache: str | None  # the folder a download goes to; None when nothing is downloaded


def catalog() -> dict[str, Entry]:
    """Every dataset by its config name, alphabetical."""
    return {
        cifar10.NAME: Entry(
            "CIFAR-10, 60,000 colour images 32x32, 10 classes (binary version; never unpickled)",
            f"{cifar10.URL} (md5 {cifar10.ARCHIVE_MD5})",
            str(cache_dir(cifar10.SUBFOLDER)),
        ),
        "digits": Entry(
            "scikit-learn's 1,797 handwritten digits 8x8, 10 classes (the quickstart data)",
            "inside the scikit-learn wheel; nothing to download",
            None,
        ),
        fashion_mnist.NAME: Entry(
            "Fashion-MNIST, 70,000 greyscale images 28x28, 10 classes (offline CNN stand-in)",
            f"{fashion_mnist.BASE_URL}, or Debian's dataset-fashion-mnist package",
            str(cache_dir(fashion_mnist.SUBFOLDER)),
        ),
        imagenet.NAME: Entry(
            "ImageNet ILSVRC-2012 folders (train/ and val/, 1000 classes), read at 160x160",
            f"{imagenet.HOMEPAGE}: needs an account; build the folders by hand "
            "(resilinet data fetch imagenet prints the steps)",
            None,
        ),
        mhealth.NAME: Entry(
            "MHEALTH, body-sensor logs of 10 subjects, 23 features, 13 activities (Health)",
            f"{mhealth.URLS[0]} (structure verified: UCI publishes no checksum)",
            str(cache_dir(mhealth.SUBFOLDER)),
        ),
    }


@dataclass(frozen=True)
class Presence:
    """Whether a dataset is on this machine: where, or why not (the loader's own words)."""

    where: Path | None
    problem: str | None = None


def presence(name: str, data_dir: Path | None = None) -> Presence:
    """Look for a dataset as its loader does, without reading or downloading it."""
    finders: dict[str, Callable[[], Path | None]] = {
        cifar10.NAME: lambda: cifar10.locate(data_dir, download=False),
        digits.NAME: digits.locate,
        fashion_mnist.NAME: lambda: fashion_mnist.locate(data_dir, download=False),
        imagenet.NAME: lambda: imagenet.locate(data_dir),
        mhealth.NAME: lambda: mhealth.locate(data_dir, download=False),
    }
    try:
        found = finders[name]()
    except DataError as error:
        return Presence(None, str(error))
    return Presence(found, None if found else "scikit-learn is not installed")


@dataclass(frozen=True)
class OwnEntry:
    """A data set of the user's own, as ``data info CONFIG`` lists it (no file is read)."""

    config: str
    path: Path
    format: str
    files: int
    size: int  # bytes of every file together
    digest: str | None


def own_entry(config: str, dataset: OwnData) -> OwnEntry:
    """Where a config's files data set is, its format, how many files and bytes, and the
    SHA-256 its config recorded (``dataset.digest``)."""
    assert dataset.path is not None
    path = Path(dataset.path)
    found = data_files(path) if path.exists() else []
    size = sum(p.stat().st_size for p in found)
    return OwnEntry(config, path, str(dataset.data_format), len(found), size, dataset.digest)


def cached_arrays() -> list[tuple[Path, int]]:
    """Arrays kept by ``rn.run(config, data=...)`` in the data cache: each file and its size."""
    folder = cache_dir(ARRAYS_FOLDER)
    found = sorted(folder.glob("*.npz")) if folder.is_dir() else []
    return [(path, path.stat().st_size) for path in found]


def summary(splits: Splits | FolderSplits | ImageFiles) -> str:
    """Split sizes, input shape and classes of a loaded dataset, on one line."""
    if isinstance(splits, ImageFiles):
        shape = "x".join(str(n) for n in splits.shape)
        return (
            f"{splits.name}: train {len(splits.y_train):,}, validation {len(splits.y_val):,}, "
            f"test {len(splits.y_test):,} images read at {shape}; {splits.num_classes} classes "
            f"({', '.join(splits.class_names)})"
        )
    if isinstance(splits, FolderSplits):
        val = "none (the reference run keeps the last weights)" if splits.val_dir is None else ""
        return (
            f"{splits.name}: train {sum(splits.train_counts):,} images in {splits.train_dir}, "
            f"test {sum(splits.test_counts):,} in {splits.test_dir}"
            + (f", validation {val}" if val else "")
            + f"; {splits.num_classes} classes, read at {splits.image_size}x{splits.image_size}"
        )
    shape = "x".join(str(n) for n in splits.x_train.shape[1:])
    names = f" ({', '.join(splits.class_names)})" if splits.class_names else ""
    return (
        f"{splits.name}: train {len(splits.y_train):,}, validation {len(splits.y_val):,}, "
        f"test {len(splits.y_test):,} examples of shape {shape}; {splits.num_classes} classes"
        + names
    )
