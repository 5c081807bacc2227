"""A command's ``--json`` output: strict JSON, the only thing it prints on stdout."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click


def echo_json(document: Any) -> None:
    """Print ``document`` as strict JSON (NaN as null), a command's only output on stdout."""
    click.echo(json.dumps(jsonable(document), indent=2, allow_nan=False))


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers, NaN as None and paths as text."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # a numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
