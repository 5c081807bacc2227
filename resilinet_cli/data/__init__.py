"""Dataset loaders: each returns numpy arrays split 80/10/10 (docs/architecture.md §5,
docs/method.md §2.6), or, for ImageNet, a FolderSplits of class-subfolder trees that the training
code streams, or, for an image folder of the user's own, an ImageFiles of file lists.

No TensorFlow here; the training code builds its tf.data pipelines from these arrays and folders.
"""

from __future__ import annotations

from resilinet_cli.data.registry import (
    DATASETS,
    LOADERS,
    Loader,
    load_dataset,
    load_splits,
    resolve_name,
)
from resilinet_cli.data.splits import (
    FolderSplits,
    ImageFiles,
    Splits,
    example_shape,
    split_80_10_10,
)

__all__ = [
    "DATASETS",
    "LOADERS",
    "FolderSplits",
    "ImageFiles",
    "Loader",
    "Splits",
    "example_shape",
    "load_dataset",
    "load_splits",
    "resolve_name",
    "split_80_10_10",
]
