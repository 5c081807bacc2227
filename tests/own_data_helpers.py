"""Data sets of a user's own, written by the tests in the real formats (npz, CSV, Parquet), and
configs that run on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

# MHEALTH's 23 feature columns, named by sensor, and its activity labels 1..12.
MHEALTH_COLUMNS = [
    *(f"chest_acc_{axis}" for axis in "xyz"),
    *(f"chest_ecg_{lead}" for lead in (1, 2)),
    *(f"ankle_{sensor}_{axis}" for sensor in ("acc", "gyro", "mag") for axis in "xyz"),
    *(f"wrist_{sensor}_{axis}" for sensor in ("acc", "gyro", "mag") for axis in "xyz"),
]
LABEL = "activity"


def mhealth_frame(rows: int = 600, seed: int = 0, classes: int = 4) -> pd.DataFrame:
    """A table shaped as MHEALTH (23 named features, activities 1..``classes``): each class a
    shifted Gaussian, so a small network learns it."""
    rng = np.random.default_rng(seed)
    labels = np.arange(rows) % classes + 1
    rng.shuffle(labels)
    centres = rng.normal(0.0, 2.0, size=(classes + 1, len(MHEALTH_COLUMNS)))
    values = centres[labels] + rng.normal(0.0, 1.0, size=(rows, len(MHEALTH_COLUMNS)))
    frame = pd.DataFrame(values.astype(np.float32), columns=MHEALTH_COLUMNS)
    frame[LABEL] = labels
    return frame


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """The frame as CSV (with a header) or Parquet, by the path's suffix."""
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def own_config(folder: Path, dataset: dict, **top: object) -> Path:
    """A small config (Health topology, mlp, 1 epoch, ResiliNet only) on ``dataset``."""
    raw = {
        "name": "own",
        "topology": "health",
        "dataset": dataset,
        "model": {"name": "mlp", "hidden_units": 32},
        "train": {"epochs": 1, "batch_size": 64},
        "variants": ["resilinet"],
        "iterations": 1,
        **top,
    }
    path = folder / "own.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path
