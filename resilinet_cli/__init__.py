"""resilinet: failure-resilient distributed inference (ResiliNet, arXiv 2002.07386).

Importing the package makes resilinet's saved models loadable with plain
``keras.models.load_model(path, safe_mode=True)``: its custom layers are registered with Keras
as soon as Keras is imported. The registration waits for Keras' own import (a post-import hook)
so that ``import resilinet_cli`` stays light, and the command line can reject a bad config
before TensorFlow loads.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Any

import wrapt

try:
    __version__ = version("resilinet")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"


@wrapt.when_imported("keras")
def _register_layers(_keras: ModuleType) -> None:
    from resilinet_cli import layers  # noqa: F401  (registration happens on import)


def load_model(path: str | Path) -> Any:
    """A saved resilinet model, checked before Keras reads it (no Lambda layers, safe mode)."""
    from resilinet_cli.model_files import load_model as load_checked

    return load_checked(Path(path))


__all__ = ["__version__", "load_model"]
