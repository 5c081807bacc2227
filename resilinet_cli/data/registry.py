"""Dataset name → loader. Why: the CLI and the configs name datasets by string, and an unknown
name must give one helpful line (the known names and the closest match)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

from resilinet_cli.data import digits, fashion_mnist, mhealth
from resilinet_cli.data.splits import Splits
from resilinet_cli.errors import DataError

Loader = Callable[[Path | None, bool, int], Splits]
"""Every loader: (data_dir, download, split_seed) -> Splits."""

LOADERS: dict[str, Loader] = {
    digits.NAME: digits.load,
    fashion_mnist.NAME: fashion_mnist.load,
    mhealth.NAME: mhealth.load,
}
DATASETS: tuple[str, ...] = tuple(LOADERS)


def resolve_name(name: str) -> str:
    """The registered name for `name` ("Fashion-MNIST" → "fashion_mnist"), else DataError."""
    key = name.strip().lower().replace("-", "_")
    if key in LOADERS:
        return key
    close = difflib.get_close_matches(key, DATASETS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}{hint}")


def load_dataset(
    name: str,
    *,
    data_dir: Path | str | None = None,
    download: bool = True,
    split_seed: int = 42,
) -> Splits:
    """Load dataset `name` split 80/10/10 (train, val, test) with `split_seed`.

    Files are looked for in `data_dir`, `$RESILINET_DATA`, the Keras cache and system paths,
    then downloaded into the cache when `download` is true (see `locate`).
    """
    loader = LOADERS[resolve_name(name)]
    return loader(
        Path(data_dir).expanduser() if data_dir is not None else None, download, split_seed
    )
