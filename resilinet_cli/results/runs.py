"""The run folder: its layout (docs/architecture.md §4), its units, and the records that make
resume safe.

A unit is one trained model: (variant, iteration). It is finished when its ``run.json`` says
``done``; that record is written last, after every other file of the unit.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.errors import RunError
from resilinet_cli.results import layout
from resilinet_cli.training_version import TRAINING_VERSION
from resilinet_cli.version import __version__

RECORD = layout.RECORD


@dataclass(frozen=True)
class Unit:
    """One model to train: a variant, an iteration and (for ablations) a factor level."""

    variant: str
    iteration: int
    seed: int
    factor: str | None = None
    value: str | None = None
    trained_for: str | None = None
    overrides: tuple[str, ...] = ()

    @property
    def group(self) -> str | None:
        """The folder of a factor level, e.g. ``weight_scheme=2,setting=poor``."""
        if self.factor is None:
            return None
        group = f"{self.factor}={self.value}"
        return group + (f",setting={self.trained_for}" if self.trained_for else "")

    @property
    def name(self) -> str:
        path = f"{self.variant}/iter-{self.iteration}"
        return f"{self.group}/{path}" if self.group else path

    def folder(self, out: Path) -> Path:
        return out / layout.RUNS / self.name

    def config(self, base: ExperimentConfig) -> ExperimentConfig:
        """The unit's own config: the run's config with the level's overrides."""
        return base.with_overrides(self.overrides)

    def to_record(self) -> dict[str, Any]:
        return {**asdict(self), "overrides": list(self.overrides)}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Unit:
        return cls(**{**data, "overrides": tuple(data.get("overrides", ()))})


def iteration_seed(config: ExperimentConfig, iteration: int) -> int:
    """Iteration k always uses the same seed, so any cell can be re-run alone."""
    return config.seed + iteration - 1


def prepare_run_folder(out: Path, config: ExperimentConfig) -> None:
    """Create the folder for ``config``, or check that an existing one holds the same config."""
    if not check_run_folder(out, config):
        atomic.write_text(out / layout.CONFIG, config_text(config))


def check_run_folder(out: Path, config: ExperimentConfig) -> bool:
    """Whether ``out`` already holds a run of ``config``; RunError if it holds another config."""
    saved = out / layout.CONFIG
    if not saved.exists():
        return False
    previous = read_record(out).get("config_hash")
    if previous is None and saved.read_text(encoding="utf-8") == config_text(config):
        return True  # a run killed before its first record: the same config, go on
    if previous != config.digest():
        raise RunError(
            f"{out}: holds a run of another config (hash {str(previous)[:12]}, this one "
            f"{config.digest()[:12]}); choose another --out or delete the folder"
        )
    return True


def config_text(config: ExperimentConfig) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False)


def read_record(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / RECORD).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def is_done(
    out: Path,
    unit: Unit,
    config: ExperimentConfig,
    *,
    swept: bool = True,
    reuse_stale: bool = False,
) -> bool:
    """Finished, with this unit's config and seed (and its failure sweep, when ``swept``).

    Only a unit made by this training code counts, unless ``reuse_stale`` keeps older ones.
    """
    record = read_record(unit.folder(out))
    return (
        record.get("status") == "done"
        and record.get("config_hash") == unit.config(config).digest()
        and record.get("seeds", {}).get("global") == unit.seed
        and (record.get("swept", True) or not swept)
        and (reuse_stale or is_current(record))
    )


def is_current(record: dict[str, Any]) -> bool:
    """Whether a unit record was written by this version of the training code."""
    return record.get("training_version") == TRAINING_VERSION


def finished_records(out: Path, config: ExperimentConfig) -> Iterator[tuple[Unit, dict[str, Any]]]:
    """Every finished unit of ``config`` in the run folder ``out``, whatever code made it."""
    for path in sorted((out / layout.RUNS).glob(f"**/iter-*/{RECORD}")):
        record = read_record(path.parent)
        if record.get("status") != "done" or "unit" not in record:
            continue
        try:
            unit = Unit.from_record(record["unit"])
        except TypeError:  # a record from another version of resilinet: not ours to reuse
            continue
        if record.get("config_hash") == unit.config(config).digest():
            yield unit, record


def stale_units(
    out: Path, config: ExperimentConfig, *, retrained: Collection[str] = ()
) -> list[tuple[Unit, dict[str, Any]]]:
    """Finished units in ``out`` made by another training version (``retrained``: names to skip)."""
    return [
        (unit, record)
        for unit, record in finished_records(out, config)
        if not is_current(record) and unit.name not in retrained
    ]


def check_versions(
    out: Path,
    config: ExperimentConfig,
    *,
    reuse_stale: bool = False,
    retrained: Collection[str] = (),
) -> None:
    """Refuse to add units to a folder whose finished units another training code made.

    Reusing them would mix old results with new ones in one table; retraining them silently
    would discard work. ``reuse_stale`` keeps them as they are.
    """
    stale = [] if reuse_stale else stale_units(out, config, retrained=retrained)
    if stale:
        raise RunError(stale_message(out, [record for _, record in stale]))


def stale_message(out: Path, records: list[dict[str, Any]]) -> str:
    """One line: where, how many units are stale, which versions made them, what to do."""
    found = sorted({str(record.get("training_version", "none")) for record in records})
    return (
        f"{out}: {len(records)} finished unit(s) were trained by another version of the "
        f"training code (recorded: {', '.join(found)}; this code: {TRAINING_VERSION}); add "
        "--reuse-stale to keep them as they are, or choose a fresh --out"
    )


def write_record(
    folder: Path,
    config: ExperimentConfig,
    *,
    status: str,
    started: str,
    seeds: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> None:
    """The run record: what ran, with which code and seeds, when, and whether it finished."""
    record = {
        "status": status,
        "config_hash": config.digest(),
        "seeds": seeds,
        "training_version": TRAINING_VERSION,
        "versions": versions(),
        "git": git_state(),
        "host": platform.node(),
        "started": started,
        "finished": now() if status == "done" else None,
        **(extra or {}),
    }
    atomic.write_json(folder / RECORD, record)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "resilinet": __version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
    }


def git_state() -> dict[str, Any]:
    """Commit and dirty flag of the resilinet source tree, when it is a git checkout."""
    source = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=source, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
