"""Where dataset files are looked for, in the order of docs/architecture.md §5.

1. the `data_dir` argument (`--data-dir`), directly and in its dataset subfolder;
2. `$RESILINET_DATA/<subfolder>`;
3. the Keras cache, `$KERAS_HOME/datasets/<subfolder>` (default `~/.keras/datasets`);
4. system paths given by the dataset (such as Debian's /usr/share/datasets/fashion-mnist);
5. a download into the cache (3), done by the dataset module.

Why one module: every dataset must search the same places in the same order, and the "looked
in" list of an error message must be the list that was really searched.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from resilinet_cli.errors import DataError

ENV_DATA = "RESILINET_DATA"
ENV_KERAS_HOME = "KERAS_HOME"


def cache_root() -> Path:
    """The Keras dataset cache: `$KERAS_HOME/datasets`, else `~/.keras/datasets`."""
    keras_home = os.environ.get(ENV_KERAS_HOME)
    base = Path(keras_home).expanduser() if keras_home else Path.home() / ".keras"
    return base / "datasets"


def cache_dir(subfolder: str) -> Path:
    """The folder a download of this dataset goes to."""
    return cache_root() / subfolder


def check_data_dir(data_dir: Path | str | None) -> Path | None:
    """Normalise the `data_dir` argument; a path that is not a folder is a user error."""
    if data_dir is None:
        return None
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise DataError(f"--data-dir {path} is not a directory; create it or fix the path")
    return path


def candidate_dirs(
    subfolder: str,
    data_dir: Path | str | None,
    system_dirs: Iterable[Path | str] = (),
) -> list[Path]:
    """All folders to search, best first, without duplicates."""
    found: list[Path] = []
    checked = check_data_dir(data_dir)
    if checked is not None:
        found += [checked, checked / subfolder]
    env = os.environ.get(ENV_DATA)
    if env:
        found.append(Path(env).expanduser() / subfolder)
    found.append(cache_dir(subfolder))
    found += [Path(p) for p in system_dirs]
    unique: list[Path] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def find_first(candidates: Iterable[Path], is_complete: Callable[[Path], bool]) -> Path | None:
    """The first candidate folder that holds a complete copy of the dataset."""
    for folder in candidates:
        if folder.is_dir() and is_complete(folder):
            return folder
    return None


def describe(paths: Iterable[Path]) -> str:
    """A compact, one-line list of searched folders for error messages."""
    return ", ".join(str(p) for p in paths)
