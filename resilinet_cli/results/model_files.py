"""Loading saved models safely: a model file may come from anywhere, so nothing in it may run.

A ``.keras`` file is a zip of ``config.json`` and weights. Keras' ``safe_mode`` refuses Python
lambdas; resilinet goes further and refuses any ``Lambda`` layer before Keras sees the file, since
none of our models has one. Nothing is ever unpickled (``.keras`` holds no pickles).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from resilinet_cli.errors import RunError

CONFIG_MEMBER = "config.json"


def load_model(path: Path) -> Any:
    """The Keras model saved at ``path``, or one clear RunError that names the file."""
    import keras

    from resilinet_cli import layers  # noqa: F401  (registers resilinet's custom layers)

    check_model_file(path)
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:  # noqa: BLE001 (Keras raises many types for a damaged file)
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise RunError(f"{path}: cannot load the model ({reason})") from None


def check_model_file(path: Path) -> None:
    """Refuse a file that is not a ``.keras`` zip, or whose config holds a Lambda layer."""
    try:
        with zipfile.ZipFile(path) as archive:
            text = archive.read(CONFIG_MEMBER)
    except (zipfile.BadZipFile, KeyError, OSError):
        raise RunError(
            f"{path}: not a Keras model file (a .keras zip with {CONFIG_MEMBER}); "
            "train it again with resilinet run"
        ) from None
    try:
        config = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunError(f"{path}: {CONFIG_MEMBER} is not valid JSON; train it again") from None
    lambdas = sorted(_lambda_layers(config))
    if lambdas:
        raise RunError(
            f"{path}: refusing to load a model with a Lambda layer ({', '.join(lambdas)}): "
            "it would run code stored in the file; resilinet models never contain one"
        )


def _lambda_layers(node: Any) -> set[str]:
    """Names of every layer of class Lambda anywhere in a (nested) Keras config."""
    found: set[str] = set()
    if isinstance(node, dict):
        if node.get("class_name") == "Lambda":
            found.add(str(node.get("config", {}).get("name", "?")))
        for value in node.values():
            found |= _lambda_layers(value)
    elif isinstance(node, list):
        for value in node:
            found |= _lambda_layers(value)
    return found
