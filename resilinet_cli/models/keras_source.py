"""Load a user's network for the ``keras`` family (docs/byom.md).

Three sources: a ``keras.applications`` name, a saved ``.keras`` file (read with
``safe_mode=True``, so a Lambda layer is refused) and a Python factory ``module:function``.
A factory runs code, so it is imported only when the command line says ``--allow-code``
(``models/user_code.py``): a config file alone never imports code. Nothing is downloaded: weights
come from ``model.weights``, a local file.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import keras

from resilinet_cli.errors import ConfigError, unknown_choice
from resilinet_cli.models.user_code import code_allowed

APPLICATIONS = "keras.applications."


class NetworkError(ConfigError):
    """A problem with the user's network, blamed on a ``model.`` key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def load_network(model: Any) -> keras.Model:
    """The network that ``model`` (a ModelConfig of the keras family) names, weights loaded."""
    for key in ("path", "weights"):
        file = getattr(model, key)
        if file is not None and not Path(file).is_file():
            raise NetworkError(f"model.{key}", f"{file}: no such file")
    if model.path is not None:
        network = _from_file(Path(model.path), "model.path")
    elif model.source.startswith(APPLICATIONS):
        network = _from_application(model.source.removeprefix(APPLICATIONS), dict(model.args))
    else:
        network = _from_factory(model.source, dict(model.args))
    if not isinstance(network, keras.Model) or not _has_graph(network):
        kind = type(network).__name__
        raise NetworkError(
            "model.source" if model.path is None else "model.path",
            f"gave a {kind}, not a functional or Sequential Keras model with a layer graph "
            "(a subclassed model cannot be cut)",
        )
    if model.weights is not None:
        _load_weights(network, Path(model.weights))
    return network


def _from_application(name: str, args: dict[str, Any]) -> keras.Model:
    known = [n for n in dir(keras.applications) if n[:1].isupper()]
    if name not in known:
        raise NetworkError("model.source", unknown_choice("Keras application", name, known))
    if args.get("weights") is not None:
        raise NetworkError(
            "model.args.weights",
            "resilinet never downloads weights; leave it out and set model.weights to a local "
            ".keras or .weights.h5 file",
        )
    try:
        return getattr(keras.applications, name)(**{**args, "weights": None})
    except (TypeError, ValueError) as error:
        raise NetworkError(
            "model.args", f"keras.applications.{name}: {_first_line(error)}"
        ) from None


def _from_factory(source: str, args: dict[str, Any]) -> Any:
    if not code_allowed():
        raise NetworkError(
            "model.source",
            f"'{source}' imports Python code; name it on the command line with --allow-code "
            "(a config file alone never runs code)",
        )
    module_name, _, function = source.partition(":")
    sys.path.insert(0, os.getcwd())  # a factory next to the config, as `python -m` would find it
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise NetworkError("model.source", f"cannot import {module_name}: {error}") from None
    finally:
        sys.path.remove(os.getcwd())
    factory = getattr(module, function, None)
    if not callable(factory):
        raise NetworkError("model.source", f"{module_name} has no function {function}")
    try:
        return factory(**args)
    except (TypeError, ValueError) as error:
        raise NetworkError("model.args", f"{source}: {_first_line(error)}") from None


def _from_file(path: Path, key: str) -> Any:
    """A .keras file, read under safe_mode: no Lambda layer, no code in the file runs."""
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except ValueError as error:
        text = str(error)
        if "safe_mode" in text or "Lambda" in text:
            reason = "it holds a Lambda layer, which safe_mode refuses (it would run code)"
        elif "zip" in text:
            reason = "not a Keras model file (not a .keras zip archive)"
        else:
            reason = f"not a Keras model ({_first_line(error)})"
        raise NetworkError(key, f"{path}: {reason}") from None
    except (OSError, KeyError, TypeError) as error:  # not a zip, or a zip without a model
        raise NetworkError(key, f"{path}: not a Keras model file ({_first_line(error)})") from None


def _load_weights(network: keras.Model, path: Path) -> None:
    """``model.weights`` into ``network``: a .weights.h5 file, or the weights of a .keras one."""
    try:
        if path.name.endswith(".weights.h5"):
            with warnings.catch_warnings():  # Keras warns of "nested containers" before it
                warnings.simplefilter("ignore", UserWarning)  # raises on a mismatch
                network.load_weights(path)
            return
        saved = _from_file(path, "model.weights")
        network.set_weights(saved.get_weights())
    except (ValueError, KeyError) as error:
        lines = str(error).splitlines()
        reason = next((line for line in lines if "shape" in line), _first_line(error))
        raise NetworkError(
            "model.weights", f"{path} does not fit the network: {reason.strip()}"
        ) from None


def _has_graph(network: keras.Model) -> bool:
    try:
        return bool(network.inputs) and bool(network.outputs)
    except (AttributeError, ValueError):
        return False


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
