"""Small run folders and configs that several test modules build."""

from __future__ import annotations

from pathlib import Path

import yaml

# `--set` options that shrink a quickstart run to seconds
TINY = [
    "--set",
    "train.epochs=1",
    "--set",
    "dataset.subset.train=300",
    "--set",
    "dataset.subset.val=100",
    "--set",
    "dataset.subset.test=150",
]


def write_config(folder: Path, topology: object, size: int = 4) -> Path:
    layers = {f"fog{k}": 1 for k in range(1, size + 1)} | {"cloud": 1}
    raw = {
        "name": "chain",
        "dataset": {"name": "digits"},
        "topology": topology,
        "model": {"name": "mlp", "hidden_units": 16, "layers_per_node": layers},
    }
    path = folder / "chain.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def bare_run(folder: Path, size: int) -> Path:
    """A run folder with a config and an empty model file.

    The flags are checked before any model or data is loaded, so that is all they need.
    """
    unit = folder / "runs" / "resilinet" / "iter-1"
    unit.mkdir(parents=True)
    (unit / "model.keras").write_bytes(b"")
    write_config(folder, {"generate": "chain", "size": size}, size).rename(folder / "config.yaml")
    return folder
