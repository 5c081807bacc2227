"""Small search configs and spaces for the tests: digits on the Health topology, a few hundred
examples, a narrow MLP, 2 epochs; the costs of configs/search/digits_mlp.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from paths import CONFIGS

SMALL_CONFIG = {
    "base": str(CONFIGS / "search" / "digits_mlp.yaml"),
    "name": "search_test",
    "model": {"hidden_units": 24},
    "dataset": {"name": "digits", "subset": {"train": 400, "val": 200, "test": 200}},
    "train": {"epochs": 2, "batch_size": 64},
}
# 8 candidates: 2 partitions x 2 skip sets x 2 failout rates, 2 epochs each, a full grid
GRID_SPACE = {
    "objective": "hazardous",
    "sampler": "grid",
    "asha": False,
    "cpus_per_trial": 1,
    "dimensions": {
        "variant": ["resilinet"],
        "partition": [1, 2],
        "skips": [[], ["iot->fog2", "edge->fog1", "fog2->cloud"]],
        "failout": [0.8, 0.95],
    },
}


def write(folder: Path, name: str, data: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def with_changes(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``base`` with top-level keys replaced (None removes one)."""
    data = {**base, **changes}
    return {k: v for k, v in data.items() if v is not None}
