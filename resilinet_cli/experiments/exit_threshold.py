"""A unit's threshold for the exit rule: the one ``calibrate-exits`` wrote, else its config's.

Every later sweep of a unit (``evaluate``, ``calibrate-exits`` itself) reads it here, so a
calibrated unit is never scored with the config's T again. ``exits.json`` names the SHA-256 of
the model it was chosen for: a unit trained again since is refused, not scored with a T that
belongs to another model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.errors import RunError
from resilinet_cli.results import integrity, layout
from resilinet_cli.sweeps.sweep import sweep_model

if TYPE_CHECKING:
    import pandas as pd

    from resilinet_cli.training.inputs import Inputs


def unit_threshold(folder: Path, config: ExperimentConfig, variant: str) -> float:
    """The T of the unit in ``folder``: its ``exits.json``'s if present, else the config's."""
    path = folder / layout.EXITS
    if not path.is_file():
        return config.variant(variant).exit_threshold
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        threshold = float(saved["threshold"])
    except (OSError, ValueError, KeyError, TypeError):
        raise RunError(f"{path}: not a calibrated threshold; run calibrate-exits again") from None
    model = folder / layout.MODEL
    if model.is_file() and saved.get("model_sha256") != integrity.sha256(model):
        raise RunError(
            f"{path}: was calibrated for another {layout.MODEL} (the unit was trained again); "
            "run calibrate-exits again"
        )
    return threshold


def sweep_unit(
    config: ExperimentConfig,
    variant: str,
    model: Any,
    inputs: Inputs,
    folder: Path,
    *,
    threshold: float | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """The unit's failure sweep on the test split, scored with its own T (or ``threshold``)."""
    return sweep_model(
        config,
        variant,
        model,
        inputs,
        on_chunk=on_chunk,
        threshold=unit_threshold(folder, config, variant) if threshold is None else threshold,
    )
