"""scikit-learn's 8x8 handwritten digits: the quickstart dataset.

Why: it ships inside the scikit-learn wheel, so the quickstart needs no network and no files.
x is the 64 pixels flattened and divided by 16 (pixel values are 0..16), y is 0..9.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from resilinet_cli.data.splits import Splits, make_splits

NAME = "digits"
NUM_CLASSES = 10


def locate() -> Path | None:
    """The data file inside the installed scikit-learn, found without importing it (slow)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def load(data_dir: Path | None = None, download: bool = True, split_seed: int = 42) -> Splits:
    """Load and split the digits; `data_dir` and `download` are unused (no files needed)."""
    del data_dir, download
    from sklearn.datasets import load_digits  # slow import; only when this dataset is used

    bunch = load_digits()
    x = bunch.images.reshape(len(bunch.images), -1).astype(np.float32) / np.float32(16.0)
    return make_splits(NAME, x, bunch.target, NUM_CLASSES, split_seed)
