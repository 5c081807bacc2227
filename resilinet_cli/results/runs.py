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
from resilinet_cli.results import integrity, layout
from resilinet_cli.training_version import TRAINING_VERSION
from resilinet_cli.variants import topology_of
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
    """Create the folder for ``config``, or check that an existing one holds the same config.

    Never a committed reference's folder (results/references.py).
    """
    from resilinet_cli.results.references import fresh_folder, refuse_writes

    refuse_writes(out, f"run into a fresh folder instead, such as {fresh_folder(out)}")
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
            f"{out}: holds a run of another config ({differences_text(out, config)}); "
            "choose another --out or delete the folder"
        )
    return True


def differences_text(out: Path, config: ExperimentConfig) -> str:
    """'train.epochs: 30 there, 5 here; iterations: 2 there, 1 here', from the folder's
    config.yaml; the two hashes when that file cannot tell."""
    from resilinet_cli.config.differences import config_differences

    try:
        saved = yaml.safe_load((out / layout.CONFIG).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        saved = None
    found = config_differences(saved, config.to_dict()) if isinstance(saved, dict) else []
    if not found:
        previous = str(read_record(out).get("config_hash"))[:12]
        return f"config hash {previous} there, {config.digest()[:12]} here"
    return "; ".join(f"{key}: {there} there, {here} here" for key, there, here in found)


def config_text(config: ExperimentConfig) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False)


def read_record(folder: Path) -> dict[str, Any]:
    """A record as far as it can be read; {} when it is missing or damaged (for callers that
    only look: a unit's readers use ``unit_state`` or ``finished_records``, which say why)."""
    try:
        record = json.loads((folder / RECORD).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return record if isinstance(record, dict) else {}


@dataclass(frozen=True)
class UnitState:
    """Whether a planned unit is finished; if its files are damaged, which and how."""

    done: bool
    damage: integrity.Damage | None = None


def unit_state(
    out: Path,
    unit: Unit,
    config: ExperimentConfig,
    *,
    swept: bool = True,
    reuse_stale: bool = False,
) -> UnitState:
    """Finished, with this unit's config and seed (and its failure sweep, when ``swept``), and
    every file its record lists whole; a damaged unit is not finished, and says why.

    Only a unit made by this training code counts, unless ``reuse_stale`` keeps older ones.
    """
    folder = unit.folder(out)
    record, damage = integrity.read_unit_record(folder)
    if record is None:
        return UnitState(False, damage)
    finished = (
        record.get("status") == "done"
        and record.get("config_hash") == unit.config(config).digest()
        and record.get("seeds", {}).get("global") == unit.seed
        and (record.get("swept", True) or not swept)
        and (reuse_stale or is_current(record))
    )
    if not finished:
        return UnitState(False)
    damage = unit_damage(folder, record, config, unit.variant)
    return UnitState(damage is None, damage)


def unit_damage(
    folder: Path, record: dict[str, Any], config: ExperimentConfig, variant: str
) -> integrity.Damage | None:
    """A finished unit's first damaged file: by its checksums, or, in a record that has none
    for its combinations table (an older resilinet's), by the table's own shape."""
    damage = integrity.check_files(folder, record)
    unchecked = layout.COMBINATIONS not in record.get(integrity.FILES, {})
    if damage is None and record.get("swept", True) and unchecked:
        columns = topology_of(config, variant).columns
        damage = integrity.check_combinations(folder / layout.COMBINATIONS, columns)
    return damage


def add_checksums(out: Path, config: ExperimentConfig) -> None:
    """Give the finished units of an older run folder the checksums their records lack, once
    their files pass the checks an older record allows (this run writes the folder anyway)."""
    for unit, record in finished_records(out, config, strict=False):
        if integrity.FILES not in record:
            folder = unit.folder(out)
            atomic.write_json(folder / RECORD, integrity.with_checksums(folder, record))


def is_done(
    out: Path,
    unit: Unit,
    config: ExperimentConfig,
    *,
    swept: bool = True,
    reuse_stale: bool = False,
) -> bool:
    """``unit_state(...).done``: finished, whole, with this config and seed."""
    return unit_state(out, unit, config, swept=swept, reuse_stale=reuse_stale).done


def is_current(record: dict[str, Any]) -> bool:
    """Whether a unit record was written by this version of the training code."""
    return record.get("training_version") == TRAINING_VERSION


def finished_records(
    out: Path, config: ExperimentConfig, *, strict: bool = True
) -> Iterator[tuple[Unit, dict[str, Any]]]:
    """Every finished unit of ``config`` in the run folder ``out``, whatever code made it.

    A unit folder whose record or files are damaged is a RunError that names the file and how
    to repair it (``strict``, for readers); without ``strict`` it is passed over, as a run
    does, which trains such a unit again.
    """
    for folder in unit_folders(out):
        record, damage = integrity.read_unit_record(folder)
        if record is None or record.get("status") != "done":
            if damage is not None and strict:
                raise RunError(damage.message(repair_hint(out)))
            continue
        try:
            unit = Unit.from_record(record["unit"])
        except TypeError:  # a record from another version of resilinet: not ours to reuse
            continue
        if record.get("config_hash") != unit.config(config).digest():
            continue
        damage = unit_damage(folder, record, config, unit.variant)
        if damage is not None:
            if strict:
                raise RunError(damage.message(repair_hint(out)))
            continue
        yield unit, record


def unit_folders(out: Path) -> list[Path]:
    """Every unit folder of a run (``runs/[<level>/]<variant>/iter-<k>``), trained or not."""
    return sorted(p for p in (out / layout.RUNS).glob("**/iter-*") if p.is_dir())


def repair_hint(out: Path) -> str:
    """What to do about a damaged unit of the run in ``out``: restore a committed reference
    from git, or let ``run`` train the unit again (it retrains damaged units)."""
    from resilinet_cli.results.references import reference_root

    root = reference_root(out)
    if root is not None:
        return (
            f"it belongs to the committed reference {root}: restore it with "
            f"git checkout -- {root} (see {root / layout.REFERENCE})"
        )
    return f"train it again with: resilinet run {out / layout.CONFIG} --out {out}"


def stale_units(
    out: Path, config: ExperimentConfig, *, retrained: Collection[str] = ()
) -> list[tuple[Unit, dict[str, Any]]]:
    """Finished units in ``out`` made by another training version (``retrained``: names to skip)."""
    return [
        (unit, record)
        for unit, record in finished_records(out, config, strict=False)
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
