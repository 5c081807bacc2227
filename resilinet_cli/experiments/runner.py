"""Run an experiment: train each unit, sweep its failure combinations, write its files.

Units already finished with the same config and seed are skipped, so an interrupted run resumes
where it stopped (docs/architecture.md §7).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resilinet_cli import atomic, interrupt
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.data import FolderSplits, Splits, load_splits
from resilinet_cli.experiments import reuse
from resilinet_cli.experiments.kinds import plan_units
from resilinet_cli.experiments.pages import write_run_tables
from resilinet_cli.experiments.progress import Progress
from resilinet_cli.results import layout, runs
from resilinet_cli.sweeps.sweep import sweep_model

if TYPE_CHECKING:  # Ray is an optional extra, imported only when a run uses it
    from resilinet_cli.experiments.cluster import RayOptions


def run_unit(
    config: ExperimentConfig,
    unit: runs.Unit,
    out: Path,
    splits: Splits | FolderSplits,
    *,
    verbose: int | str = "auto",
    sweep_progress: Callable[[int], ContextManager[Any]] | None = None,
    swept: bool = True,
    on_resume: Callable[[int], None] | None = None,
) -> pd.DataFrame | None:
    """Train one model, save it, sweep its failures; return its per-combination accuracies.

    ``sweep_progress(total)`` may return a progress bar (an object with ``update(n)``) that the
    sweep advances by the number of test examples done. Without ``swept`` the model is only
    trained and saved (for topologies too large to sweep; ``evaluate`` then estimates).
    Training goes on from the unit's last epoch checkpoint, if an interrupted run left one
    (``on_resume(epochs_done)`` is told); a finished unit keeps none.
    """
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.training.checkpoint import EpochCheckpoint
    from resilinet_cli.training.fit import set_seeds, train_model
    from resilinet_cli.training.inputs import build_inputs

    run_config = config
    config = unit.config(run_config)
    folder = unit.folder(out)
    started = runs.now()
    seeds = {
        "global": unit.seed,
        "python": unit.seed,
        "numpy": unit.seed,
        "tensorflow": unit.seed,
        "split": config.dataset.split_seed,
    }
    key = reuse.training_key(run_config, unit)
    trained = saved_training(folder, key)
    runs.write_record(
        folder, config, status="running", started=started, seeds=seeds, extra={"training_key": key}
    )
    set_seeds(unit.seed)
    failable = len(config.topology.failable)
    inputs = build_inputs(splits, config, failable, unit.seed)
    if trained is not None:  # stopped during its sweep: only the sweep is left to do
        model, history = trained
        if on_resume:
            on_resume(config.train.epochs)
    else:
        with precision(config.train.mixed_precision):
            model, _ = build_from_config(
                config,
                unit.variant,
                input_shape=inputs.input_shape,
                num_classes=inputs.num_classes,
                seed=unit.seed,
            )
        history = train_model(
            model,
            inputs.train_epoch,
            inputs.val,
            epochs=config.train.epochs,
            seed=unit.seed,
            work_dir=folder,
            checkpoint=EpochCheckpoint(folder / layout.RESUME, key, on_resume=on_resume),
            verbose=verbose,
            gradient_accumulation_steps=config.train.gradient_accumulation_steps,
        )
        with atomic.atomic_path(folder / layout.MODEL) as tmp:
            model.save(tmp)
        atomic.write_csv(folder / layout.HISTORY, history)
    combinations = None
    if swept:
        progress = sweep_progress(inputs.test_size) if sweep_progress else nullcontext()
        with progress as bar:

            def on_chunk(examples: int) -> None:
                interrupt.check()  # Ctrl-C stops the sweep after this chunk at the latest
                if bar is not None:
                    bar.update(examples)

            combinations = sweep_model(config, unit.variant, model, inputs, on_chunk=on_chunk)
        atomic.write_csv(folder / layout.COMBINATIONS, combinations)
    metric = "val_accuracy" if "val_accuracy" in history else "accuracy"
    extra = {
        "unit": unit.to_record(),
        "training_key": reuse.training_key(run_config, unit),
        "hyperconnection_weights": {
            layer.name.removesuffix("_weight"): float(layer.scale)
            for layer in model.layers
            if layer.name.endswith("_weight")
        },
        f"best_{metric}": float(history[metric].max()),
        "swept": swept,
    }
    runs.write_record(folder, config, status="done", started=started, seeds=seeds, extra=extra)
    return combinations


def saved_training(folder: Path, key: str) -> tuple[Any, pd.DataFrame] | None:
    """The model and history that an interrupted run of this same training saved, if any.

    A unit stopped during its failure sweep has both files and a "running" record; its rerun
    sweeps the saved model instead of training it again, if this training code made it. A
    finished unit that ``train`` is asked to redo is trained again.
    """
    from resilinet_cli.results.model_files import load_model

    record = runs.read_record(folder)
    interrupted = (
        record.get("status") == "running"
        and record.get("training_key") == key
        and runs.is_current(record)
    )
    model_file, history_file = folder / layout.MODEL, folder / layout.HISTORY
    if not (interrupted and model_file.exists() and history_file.exists()):
        return None
    return load_model(model_file), pd.read_csv(history_file)


def copy_unit(
    config: ExperimentConfig, unit: runs.Unit, out: Path, donor: Path
) -> pd.DataFrame | None:
    """Finish ``unit`` with a copy of ``donor``'s files; its own record names the donor."""
    folder = unit.folder(out)
    reuse.copy_unit(donor, folder)
    record = runs.read_record(donor)
    extra = {
        key: record[key]
        for key in (
            "training_key",
            "hyperconnection_weights",
            "best_val_accuracy",
            "best_accuracy",
            "swept",
        )
        if key in record
    }
    extra |= {"unit": unit.to_record(), "reused_from": os.path.relpath(donor, folder)}
    started = runs.now()
    runs.write_record(
        folder,
        unit.config(config),
        status="done",
        started=started,
        seeds=record["seeds"],
        extra=extra,
    )
    combinations = folder / layout.COMBINATIONS
    return pd.read_csv(combinations) if combinations.exists() else None


def release_models() -> None:
    """Drop what a finished unit left behind, so that a long run does not keep every model.

    Keras' global state goes with ``clear_session``. TensorFlow itself keeps each traced
    training step alive: the default strategy's all-reduce is a ``custom_gradient``, which
    registers a closure over the step's graph in a global registry that is never emptied
    (tensorflow/tensorflow#97697). Those entries are dropped here; without that a ResNet-18
    unit leaked about 180 MB, and Python's garbage collector slowed with every unit.
    """
    import keras
    from tensorflow.python.framework import ops

    keras.backend.clear_session(free_memory=False)
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if isinstance(registry, dict):
        for name in [n for n in registry if n.startswith("CustomGradient-")]:
            del registry[name]
    gc.collect()


@contextmanager
def precision(mixed: bool) -> Iterator[None]:
    """Build layers under Keras' mixed_float16 policy when asked (a GPU option)."""
    import keras

    if not mixed:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@dataclass(frozen=True)
class RunResult:
    weighted: pd.DataFrame
    failed: list[tuple[runs.Unit, str]]


def run_experiment(
    config: ExperimentConfig,
    out: Path,
    units: list[runs.Unit],
    *,
    force: bool = False,
    fail_fast: bool = False,
    progress: Progress | None = None,
    verbose: int | str = "auto",
    reuse_from: Path | None = None,
    swept: bool = True,
    reuse_stale: bool = False,
    workers: int = 1,
    ray: RayOptions | None = None,
) -> RunResult:
    """Run the units that are not finished yet (all of them with ``force``), then the tables.

    A unit that raises is recorded as failed and the run goes on (unless ``fail_fast``); the
    tables then hold every finished unit of the folder. A unit whose training key matches a
    finished unit under ``reuse_from`` is copied from it instead of trained. Without ``swept``
    units are trained and saved but not swept, and the tables stay empty. With ``workers`` > 1
    the units train in that many fresh processes at a time (``experiments/pool.py``), with
    ``ray`` as tasks of a Ray cluster (``experiments/cluster.py``), with the same results.

    A folder holding finished units of another training version is refused (RunError) unless
    ``reuse_stale`` keeps them; units the run trains again anyway (``force``) do not count.
    """
    progress = progress or Progress()
    runs.prepare_run_folder(out, config)
    retrained = {unit.name for unit in units} if force else set()
    runs.check_versions(out, config, reuse_stale=reuse_stale, retrained=retrained)
    atomic.remove_stale_temporaries(out)
    done = partial(runs.is_done, out, config=config, swept=swept, reuse_stale=reuse_stale)
    todo = [u for u in units if force or not done(u)]
    for unit in units:
        if unit not in todo:
            progress.skipped(unit)
    started = runs.now()
    seeds = {unit.name: unit.seed for unit in units}
    runs.write_record(out, config, status="running", started=started, seeds=seeds)
    # Loaded before any unit, also for a pool: missing data is one error, not a failed unit each.
    splits = load_splits(config.dataset) if todo else None
    if workers > 1 or ray is not None:
        splits = None  # checked, not kept: each unit's own process loads its data
    donors = reuse.finished_units(reuse_from, swept=swept) if reuse_from and not force else {}
    failed: list[tuple[runs.Unit, str]] = []

    def record_failure(unit: runs.Unit, message: str) -> None:
        failed.append((unit, message))
        runs.write_record(
            unit.folder(out),
            unit.config(config),
            status="failed",
            started=started,
            seeds={"global": unit.seed},
            extra={"unit": unit.to_record(), "error": message},
        )
        progress.failed(unit, message)

    with interrupt.catching_ctrl_c():
        to_train = []
        for number, unit in enumerate(todo, 1):
            donor = donors.get(reuse.training_key(config, unit))
            if donor is not None and donor != unit.folder(out):
                combos = copy_unit(config, unit, out, donor)
                progress.reused(unit, donor)
                progress.finished(unit, number, len(todo), combos)
            elif workers > 1 or ray is not None:
                to_train.append(unit)
            else:
                interrupt.check()
                train_here(config, unit, out, splits, number, len(todo), progress, verbose, swept,
                           fail_fast, record_failure)  # fmt: skip
        if to_train and ray is not None:
            from resilinet_cli.experiments.cluster import train_on_ray

            train_on_ray(config, out, to_train, ray, progress, swept, fail_fast, record_failure,
                         unit_files)  # fmt: skip
        elif to_train:
            from resilinet_cli.experiments.pool import train_in_processes

            train_in_processes(
                config,
                out,
                to_train,
                workers,
                progress,
                swept,
                fail_fast,
                record_failure,
                unit_process,
            )
    weighted = write_run_tables(out, config, current_only=not reuse_stale)
    planned = plan_units(config, config.variants, range(1, config.iterations + 1))
    complete = all(done(unit) for unit in planned)
    status = "done" if complete else "partial"
    runs.write_record(out, config, status=status, started=started, seeds=seeds)
    return RunResult(weighted, failed)


def train_here(
    config: ExperimentConfig,
    unit: runs.Unit,
    out: Path,
    splits: Splits | FolderSplits,
    number: int,
    total: int,
    progress: Progress,
    verbose: int | str,
    swept: bool,
    fail_fast: bool,
    record_failure: Callable[[runs.Unit, str], None],
) -> None:
    """Train (and sweep) one unit in this process; a failure is recorded, not raised."""
    progress.started(unit, number, total)
    try:
        combos = run_unit(
            config,
            unit,
            out,
            splits,
            verbose=verbose,
            sweep_progress=progress.sweep_bar(unit, number, total),
            swept=swept,
            on_resume=partial(progress.resumed, unit),
        )
    except Exception as error:
        release_models()
        if fail_fast or atomic.cannot_write(error):
            raise
        record_failure(unit, failure_message(error))
        return
    release_models()
    progress.finished(unit, number, total, combos)


def failure_message(error: BaseException) -> str:
    """One line that says why a unit failed."""
    return f"{type(error).__name__}: {error}".splitlines()[0]


def unit_process(
    config: ExperimentConfig, unit: runs.Unit, out: Path, swept: bool, reply: Any
) -> None:
    """The body of a unit's own process (``--workers``): train and sweep it, say how it went."""
    from resilinet_cli.quiet_import import quiet_tensorflow_import

    quiet_tensorflow_import()
    with interrupt.catching_ctrl_c():
        try:
            run_unit(config, unit, out, load_splits(config.dataset), verbose=0, swept=swept)
        except KeyboardInterrupt:
            reply.send(("stopped", "stopped by a signal"))
            return
        except Exception as error:  # noqa: BLE001 (reported to the driver, which records it)
            reply.send(("failed", failure_message(error)))
            return
    reply.send(("done", ""))


def unit_files(config: ExperimentConfig, unit: runs.Unit, swept: bool) -> tuple[str, Any]:
    """The body of a unit's Ray task: train and sweep it on this node, return its files.

    ("done", {file name: bytes}) or ("failed", why). GPU memory grows as needed, so that units
    packed onto one GPU do not each take all of it.
    """
    import tempfile

    from resilinet_cli.quiet_import import quiet_tensorflow_import

    quiet_tensorflow_import()
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    with tempfile.TemporaryDirectory(prefix="resilinet-unit-") as tmp:
        try:
            run_unit(config, unit, Path(tmp), load_splits(config.dataset), verbose=0, swept=swept)
        except Exception as error:  # noqa: BLE001 (reported to the driver, which records it)
            return "failed", failure_message(error)
        folder = unit.folder(Path(tmp))
        names = (layout.MODEL, layout.HISTORY, layout.COMBINATIONS, layout.RECORD)
        return "done", {n: (folder / n).read_bytes() for n in names if (folder / n).exists()}
