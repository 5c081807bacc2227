"""Saved models in a results folder: which ones a path names, and why one cannot be read.

``resilinet evaluate`` and the live runtime read a run folder, a unit folder or a model.keras
the same way: the unit record (``run.json``) next to a model names its variant and overrides,
the run folder above it holds the config and so the data.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from resilinet_cli.config import ExperimentConfig, load_config, read_yaml
from resilinet_cli.errors import RunError
from resilinet_cli.results import integrity, layout, runs


@dataclass(frozen=True)
class Located:
    """A saved model to evaluate, and the unit record (``run.json``) that says how it was made."""

    variant: str
    path: Path
    unit: runs.Unit | None = None  # None for a model without a readable unit record

    def config(self, base: ExperimentConfig) -> ExperimentConfig:
        """The config the model was trained with: an ablation unit's overrides on the run's."""
        return self.unit.config(base) if self.unit else base


def locate_models(target: Path) -> tuple[Path, list[Located]]:
    """(run folder, models) for a run folder (ablation levels included), unit folder or model.

    Every unit involved is checked against its record first (``unit_problem``): a damaged
    one is a RunError that names the file, never a number.
    """
    run_dir = next((p for p in (target, *target.parents) if (p / layout.CONFIG).is_file()), None)
    if target.is_file():
        units = [target.parent]
    elif (target / layout.MODEL).is_file() or target.name.startswith("iter-"):
        units = [target]  # a unit folder
    else:
        units = runs.unit_folders(target)
    whole_run = not target.is_file() and units != [target]
    for folder in units:  # a run without models gets one line for all (``missing_models``)
        problem = unit_problem(folder, run_dir or target, about_model=not whole_run)
        if problem:
            raise RunError(problem)
    models = [target] if target.is_file() else [u / layout.MODEL for u in units]
    models = [model for model in models if model.is_file()]
    if not models:
        raise RunError(missing_models(target))
    run_dir = next((p for p in models[0].resolve().parents if (p / layout.CONFIG).is_file()), None)
    if run_dir is None:
        raise RunError(f"{models[0]}: no config.yaml in any parent folder, so its data is unknown")
    return run_dir, [located(path) for path in models]


def unit_problem(folder: Path, run_dir: Path, *, about_model: bool = True) -> str | None:
    """What keeps the unit in ``folder`` from being read, in one line with what to do; None if
    it is whole (or never finished). A model a committed reference leaves out is not missing:
    the line says it is not committed, and how to train it again (``about_model``)."""
    record, damage = integrity.read_unit_record(folder)
    if damage is None and record is not None and record.get("status") == "done":
        damage = integrity.check_files(folder, record)
        left_out = not integrity.is_committed(record, layout.MODEL)
        absent = left_out and not (folder / layout.MODEL).is_file()
        if damage is None and about_model and absent:
            return (
                f"{folder}: its {layout.MODEL} is not committed (a committed reference keeps "
                f"its tables only); train it again with: {retrain_command(run_dir, folder)}"
            )
    return damage.message(runs.repair_hint(run_dir)) if damage else None


def located(model_path: Path) -> Located:
    """A model with its unit, read from the unit's run record next to it."""
    record = runs.read_record(model_path.parent)
    try:
        unit = runs.Unit.from_record(record["unit"])
    except (KeyError, TypeError):
        return Located(model_path.parent.parent.name, model_path)
    return Located(unit.variant, model_path, unit)


def run_config(run_dir: Path, data_dir: Path | None) -> ExperimentConfig:
    overrides = [f"dataset.data_dir={data_dir.resolve()}"] if data_dir else []
    return load_config(run_dir / layout.CONFIG, overrides)


def missing_models(target: Path) -> str:
    """Why ``target`` holds no model, in one line, with what to run instead.

    Committed results keep their tables and per-unit CSV/JSON but no ``model.keras`` (see
    .gitignore): the line says so and gives the ``run`` command that trains the models again.
    """
    run_dir = next((p for p in (target, *target.parents) if (p / layout.CONFIG).is_file()), None)
    if run_dir is None:
        experiments = sorted(p.parent for p in target.glob(f"*/{layout.CONFIG}"))
        if experiments:
            names = ", ".join(p.name for p in experiments[:4])
            more = f" and {len(experiments) - 4} more" if len(experiments) > 4 else ""
            return (
                f"{target}: a folder of {len(experiments)} experiments ({names}{more}), not one "
                f"run; evaluate one of them, e.g. resilinet evaluate {experiments[0]}"
            )
        return f"{target}: no {layout.MODEL} found (expected a run folder, unit or model)"
    records = [target / layout.RECORD, *target.glob(f"{layout.RUNS}/**/iter-*/{layout.RECORD}")]
    finished = [r.parent for r in records if runs.read_record(r.parent).get("status") == "done"]
    finished = [folder for folder in finished if "unit" in runs.read_record(folder)]
    if not finished:
        return f"{target}: no {layout.MODEL} found (expected a run folder, unit or model)"
    count = f"{len(finished)} finished unit{'s' if len(finished) != 1 else ''}"
    return (
        f"{target}: {count} but no {layout.MODEL}: models are not committed with the results "
        f"(only their tables, CSV and JSON files); train them again with: "
        f"{retrain_command(run_dir, target if target != run_dir else None)}"
    )


def retrain_command(run_dir: Path, unit_folder: Path | None = None) -> str:
    """The ``resilinet run`` that trains a results folder's models again, into a new folder.

    The run's resolved ``config.yaml`` is its own config. Not into ``run_dir`` itself: its unit
    records say "done", so a run there would skip every unit.
    """
    name = str((read_yaml(run_dir / layout.CONFIG) or {}).get("name", run_dir.name))
    out = Path("results") / name
    if out.resolve() == run_dir.resolve():
        out = Path("results") / f"{name}-retrained"
    command = ["resilinet", "run", str(run_dir / layout.CONFIG), "--out", str(out)]
    record = runs.read_record(unit_folder) if unit_folder else {}
    if "unit" in record:
        unit = record["unit"]
        command += ["--variants", str(unit["variant"])]
        command += ["--iterations", f"{unit['iteration']}..{unit['iteration']}"]
    return shlex.join(command)
