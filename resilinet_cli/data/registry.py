"""Dataset name → loader. Why: the CLI and the configs name datasets by string, and an unknown
name must give one helpful line (the known names and the closest match)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from resilinet_cli.data import cifar10, digits, fashion_mnist, imagenet, mhealth
from resilinet_cli.data.splits import FolderSplits, ImageFiles, Splits
from resilinet_cli.errors import DataError, unknown_choice

Loader = Callable[[Path | None, bool, int], Splits | FolderSplits]
"""Every loader: (data_dir, download, split_seed) -> Splits (arrays) or FolderSplits (streamed
image folders, such as ImageNet)."""

LOADERS: dict[str, Loader] = {  # alphabetical: error messages list them in this order
    cifar10.NAME: cifar10.load,
    digits.NAME: digits.load,
    fashion_mnist.NAME: fashion_mnist.load,
    imagenet.NAME: imagenet.load,
    mhealth.NAME: mhealth.load,
}
DATASETS: tuple[str, ...] = tuple(LOADERS)
OWN_DATA = ("files", "arrays")  # a user's own data set (data/files.py)


def resolve_name(name: str) -> str:
    """The registered name for `name` ("Fashion-MNIST" → "fashion_mnist", "CIFAR-10" →
    "cifar10"), else DataError."""
    key = name.strip().lower().replace("-", "_")
    if key in LOADERS:
        return key
    squeezed = {known.replace("_", ""): known for known in DATASETS}
    if key.replace("_", "") in squeezed:
        return squeezed[key.replace("_", "")]
    raise DataError(unknown_choice("dataset", name, DATASETS))


def load_dataset(
    name: str,
    *,
    data_dir: Path | str | None = None,
    download: bool = True,
    split_seed: int = 42,
) -> Splits | FolderSplits:
    """Load dataset `name` split 80/10/10 (train, val, test) with `split_seed`.

    ImageNet is the exception: a FolderSplits of its own train/ and val/ folders, which cannot
    be downloaded. Files are looked for in `data_dir`, `$RESILINET_DATA`, the Keras cache and
    system paths, then downloaded into the cache when `download` is true (see `locate`).
    """
    loader = LOADERS[resolve_name(name)]
    return loader(
        Path(data_dir).expanduser() if data_dir is not None else None, download, split_seed
    )


class Caps(Protocol):
    train: int | None
    val: int | None
    test: int | None


class DatasetSpec(Protocol):
    """What ``load_splits`` reads: a config's ``dataset:`` section (a protocol, so that the data
    package imports no config code)."""

    name: str
    data_dir: Path | None
    download: bool
    split_seed: int
    subset: Caps


def load_splits(dataset: DatasetSpec) -> Splits | FolderSplits | ImageFiles:
    """The dataset's 80/10/10 split, cut to the section's subset caps (if any). A data set of
    the user's own (``name: files`` or ``arrays``) is read by ``data/files.py``."""
    if dataset.name in OWN_DATA:
        from resilinet_cli.data import files

        splits: Splits | FolderSplits | ImageFiles = files.load(dataset)  # type: ignore[arg-type]
    else:
        splits = load_dataset(
            dataset.name,
            data_dir=dataset.data_dir,
            download=dataset.download,
            split_seed=dataset.split_seed,
        )
    if isinstance(splits, FolderSplits):
        return splits
    caps = dataset.subset
    images = isinstance(splits, ImageFiles)  # its examples are file names
    cut = {}
    for split in ("train", "val", "test"):
        cap = getattr(caps, split)
        for name in (f"{split}_files" if images else f"x_{split}", f"y_{split}"):
            cut[name] = getattr(splits, name)[:cap]
    return replace(splits, **cut)
