"""Train each distinct model once: a unit whose training equals a finished one is copied.

The paper's ablations overlap. ResiliNet with failout survival 0.9, all skips, weight scheme 1
and partition 1 is the same model in the average-accuracy run and in four ablations. A unit's
*training key* hashes everything its model and sweep depend on (variant, seed, topology, data,
model, training and evaluation settings) and nothing that only names or groups it. Units with
equal keys give equal files, so a profile trains the model once and copies the unit folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.config.schema import data_identity, training_identity
from resilinet_cli.results import integrity, layout, runs
from resilinet_cli.training_version import TRAINING_VERSION

# Config keys that name, group or count units but change no unit's results.
LABELS = (
    "name", "description", "seed", "iterations", "variant_iterations", "variants", "experiment",
    "smoke", "resources", "stats", "costs", "live",
)  # fmt: skip
# keys of a ``techniques:`` definition that only choose how its units are scored
SCORING_ONLY = ("threshold", "target_exit_rate", "max_accuracy_drop")
# exits.json: a calibrated T belongs to the combinations it scored (and to a donor without its
# model, such as a committed reference's unit, which cannot be calibrated again)
COPIED = (layout.MODEL, layout.HISTORY, layout.COMBINATIONS, layout.EXITS)


def training_key(
    config: ExperimentConfig, unit: runs.Unit, *, version: int = TRAINING_VERSION
) -> str:
    """Hash of what the unit's results depend on; equal keys mean equal results.

    The training code's version is part of it: a unit made by other code is never copied, and
    its epoch checkpoints and saved model are not resumed.
    """
    unit_config = unit.config(config)
    identity = training_identity(unit_config, unit_config.to_dict())
    for key in LABELS:
        identity.pop(key, None)
    identity["dataset"] = data_identity(identity["dataset"])
    defined = identity.pop("techniques", {}).get(unit.variant)
    if defined is not None:  # its heads and their loss weights; the threshold only scores
        identity["technique"] = {k: v for k, v in defined.items() if k not in SCORING_ONLY}
    if not unit_config.variant(unit.variant).failout:
        # Vanilla and deepFogGuard build no failout layer: a run that varies only failout
        # (such as per-example against per-batch) shares their trainings.
        identity["train"].pop("failout", None)
    identity["unit"] = {"variant": unit.variant, "seed": unit.seed}
    identity["training_version"] = version
    text = json.dumps(identity, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def finished_units(root: Path, *, swept: bool = True) -> dict[str, Path]:
    """Folders of the finished units under ``root`` (with their sweep if ``swept``), by key.

    Only units made by this training code are offered; older ones are never copied.
    """
    found: dict[str, Path] = {}
    for record_path in sorted(root.glob(f"**/{layout.RUNS}/**/iter-*/{layout.RECORD}")):
        record = runs.read_record(record_path.parent)
        key = record.get("training_key")
        done = record.get("status") == "done" and runs.is_current(record)
        usable = done and key and key not in found and (record.get("swept", True) or not swept)
        if usable and donor_is_whole(record_path.parent, record):
            found[key] = record_path.parent
    return found


def donor_is_whole(folder: Path, record: dict[str, Any]) -> bool:
    """A unit to copy from has every file its record lists, unchanged (a committed
    reference's units are copied without the model they leave out)."""
    return integrity.check_files(folder, record) is None


def copy_unit(donor: Path, folder: Path) -> None:
    """Copy a finished unit's files into ``folder``; its record is written by the caller, last.

    The model is hard-linked where the file system allows, since it can be hundreds of MB.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = donor / name
        if not source.exists():
            continue
        with atomic.atomic_path(folder / name) as tmp:
            try:
                os.link(source, tmp)
            except OSError:
                shutil.copyfile(source, tmp)
    logs = donor / layout.TENSORBOARD
    if logs.is_dir():  # the donor's curves, so that TensorBoard shows the copy too
        shutil.rmtree(folder / layout.TENSORBOARD, ignore_errors=True)
        shutil.copytree(logs, folder / layout.TENSORBOARD)
