"""resilinet: failure-resilient distributed inference (ResiliNet, arXiv 2002.07386).

``import resilinet_cli as rn`` gives the Python API (``resilinet_cli/api.py``; README, "Python
API"): ``rn.load_config``, ``rn.build_model``, ``rn.train``, ``rn.sweep``,
``rn.weighted_accuracy``, ``rn.run``, ``rn.load_model`` and ``rn.predict``. They load on first
use, so that ``import resilinet_cli`` stays light and the command line can reject a bad config
before TensorFlow loads.

Importing the package also makes resilinet's saved models loadable with plain
``keras.models.load_model(path, safe_mode=True)``: its custom layers are registered with Keras
as soon as Keras is imported (a post-import hook), and TensorFlow's first import, whoever makes
it, leaves out the C++ start-up lines it would write to stderr (``quiet_import.py``): a
notebook's cells show resilinet's output, not TensorFlow's.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

import wrapt

from resilinet_cli.quiet_import import quiet_tensorflow_import
from resilinet_cli.version import __version__

quiet_tensorflow_import()

__all__ = [
    "RayOptions",
    "RunResult",
    "__version__",
    "build_model",
    "failable_nodes",
    "load_config",
    "load_model",
    "predict",
    "run",
    "sweep",
    "train",
    "weighted_accuracy",
]

if TYPE_CHECKING:
    from resilinet_cli.api import (
        RayOptions,
        RunResult,
        build_model,
        failable_nodes,
        load_config,
        load_model,
        predict,
        run,
        sweep,
        train,
        weighted_accuracy,
    )


@wrapt.when_imported("keras")
def _register_layers(_keras: ModuleType) -> None:
    from resilinet_cli import layers  # noqa: F401  (registration happens on import)


def __getattr__(name: str) -> Any:
    """The API's names, imported from ``api.py`` on first use."""
    if name in __all__ and name != "__version__":
        return getattr(import_module("resilinet_cli.api"), name)
    raise AttributeError(f"module 'resilinet_cli' has no attribute {name!r}")
