"""A unit folder as the live runtime sees it: the model, its variant's topology, its data.

The same reading as ``resilinet evaluate`` (results/locate.py): the unit's record
names its variant and overrides, the run folder above it holds the config and so the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.experiments.exit_threshold import unit_threshold
from resilinet_cli.live.errors import LiveError
from resilinet_cli.results import layout
from resilinet_cli.results.locate import located, run_config, unit_problem
from resilinet_cli.topology import Topology
from resilinet_cli.variants import DEFAULT_THRESHOLD, topology_of


@dataclass(frozen=True)
class LiveUnit:
    folder: Path
    model_path: Path
    variant: str
    config: ExperimentConfig
    topology: Topology  # the variant's own: Vanilla has no skips
    exits: tuple[str, ...] = ()  # the variant's exit heads, in chain order
    threshold: float = DEFAULT_THRESHOLD  # the threshold rule's T (exits.json's, if calibrated)


@dataclass(frozen=True)
class TestSplit:
    """The unit's test examples as the model receives them, and the no-path guess."""

    x: np.ndarray
    y: np.ndarray
    prior: np.ndarray  # training class frequencies: a guess draws from them
    guess: float  # the guess's expected accuracy on the whole split, as the sweep scores it


def load_unit(folder: Path, data_dir: Path | None = None) -> LiveUnit:
    """The unit in ``folder``, or one LiveError line saying what is missing."""
    folder = Path(folder)
    model_path = folder / layout.MODEL
    if not folder.is_dir():
        raise LiveError(f"{folder}: no such unit folder")
    run_dir = next((p for p in folder.resolve().parents if layout.is_run_folder(p)), folder)
    problem = unit_problem(folder, run_dir)  # damaged, or a reference's uncommitted model
    if problem:
        raise LiveError(problem)
    if not model_path.is_file():
        raise LiveError(
            f"{folder}: no {layout.MODEL} (a unit folder, runs/<variant>/iter-<k>, holds one)"
        )
    run_dir = next((p for p in model_path.resolve().parents if layout.is_run_folder(p)), None)
    if run_dir is None:
        raise LiveError(
            f"{folder}: no {layout.CONFIG} in any parent folder, so its data is unknown"
        )
    model = located(model_path)
    config = model.config(run_config(run_dir, data_dir))
    topology = topology_of(config, model.variant)
    exits = config.variant(model.variant).exits  # never with replicas or stand-ins (config)
    threshold = unit_threshold(folder, config, model.variant) if exits else DEFAULT_THRESHOLD
    return LiveUnit(folder, model_path, model.variant, config, topology, exits, threshold)


def class_prior(unit: LiveUnit) -> np.ndarray:
    """The training class frequencies, from the split (no model, no TensorFlow)."""
    from resilinet_cli.data import FolderSplits, load_splits
    from resilinet_cli.data.splits import class_counts

    splits = load_splits(unit.config.dataset)
    if isinstance(splits, FolderSplits):
        counts = np.asarray(splits.train_counts, dtype=float)
    else:
        counts = class_counts(splits.y_train, splits.num_classes).astype(float)
    return counts / counts.sum()


def load_test(unit: LiveUnit) -> TestSplit:
    """The unit's test split, shaped as in training (training/inputs.py)."""
    from resilinet_cli.data import load_splits
    from resilinet_cli.sweeps.scoring import materialise
    from resilinet_cli.training.inputs import build_inputs

    splits = load_splits(unit.config.dataset)
    inputs = build_inputs(splits, unit.config, len(unit.topology.failable), unit.config.seed)
    x, y = materialise(inputs.test)
    return TestSplit(x, y, class_prior(unit), inputs.guess)
