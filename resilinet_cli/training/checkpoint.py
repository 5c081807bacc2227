"""Epoch checkpoints of one unit's training, so that an interrupted unit resumes where it stopped.

Keras' ``BackupAndRestore`` keeps the weights and the epoch number in two files, overwritten in
place one after the other: a kill during the first leaves a damaged file, and a kill between the
two resumes from the wrong epoch. Here each finished epoch gets a folder of its own, and a state
file written atomically last marks it complete, so the newest complete folder is always
consistent. Model weights are saved with the optimizer's state (Adam's moments and step count).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

from resilinet_cli import atomic

WEIGHTS = "weights.weights.h5"
STATE = "state.json"


@dataclass
class TrainingState:
    """Where training stands: epochs finished, their logs, the best validation accuracy."""

    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best: float | None = None


class EpochCheckpoint:
    """Checkpoints under ``folder``, valid only for the training that ``key`` identifies.

    A checkpoint whose key differs (the config changed since) is ignored and removed.
    """

    def __init__(
        self, folder: Path, key: str, on_resume: Callable[[int], None] | None = None
    ) -> None:
        self.folder = folder
        self.key = key
        self.on_resume = on_resume  # told the number of epochs already done

    def restore(self, model: keras.Model) -> TrainingState:
        """Load the newest complete epoch into ``model``; a fresh state when there is none."""
        for epoch_dir in sorted(self.folder.glob("epoch-*"), reverse=True):
            state = self._read_state(epoch_dir)
            if state is None:
                continue
            model.load_weights(epoch_dir / WEIGHTS)
            self._remove_all_but(epoch_dir)
            if self.on_resume:
                self.on_resume(state.epoch)
            return state
        self.clear()
        return TrainingState()

    def save(self, model: keras.Model, state: TrainingState) -> None:
        """Keep ``model`` after ``state.epoch`` epochs; then drop the older checkpoints."""
        epoch_dir = self.folder / f"epoch-{state.epoch:05d}"
        shutil.rmtree(epoch_dir, ignore_errors=True)  # a leftover of an interrupted save
        epoch_dir.mkdir(parents=True)
        model.save_weights(epoch_dir / WEIGHTS)
        record = {"key": self.key, "epoch": state.epoch, "history": state.history}
        atomic.write_json(epoch_dir / STATE, {**record, "best": state.best})  # marks it complete
        self._remove_all_but(epoch_dir)

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _read_state(self, epoch_dir: Path) -> TrainingState | None:
        try:
            record: dict[str, Any] = json.loads((epoch_dir / STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if record.get("key") != self.key:
            return None
        return TrainingState(record["epoch"], record["history"], record["best"])

    def _remove_all_but(self, keep: Path) -> None:
        for other in self.folder.glob("epoch-*"):
            if other != keep:
                shutil.rmtree(other, ignore_errors=True)
