"""One unit of a run: train its model, sweep its failures, write its files; wherever it runs.

A serial run calls ``run_unit`` in its own process; a pool runs ``unit_process`` in a fresh
process per unit, and a Ray cluster ``unit_files`` as a task per unit. All three train with
the same seeds and settings, so the unit's files are the same wherever it ran.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from resilinet_cli import atomic, interrupt
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.data import FolderSplits, Splits, load_splits
from resilinet_cli.experiments import reuse
from resilinet_cli.models.user_code import allowing_code, code_allowed
from resilinet_cli.results import integrity, layout, runs
from resilinet_cli.sweeps.sweep import sweep_model
from resilinet_cli.variants import topology_of


@dataclass(frozen=True)
class Invocation:
    """How the run was started, for each unit's record: the command line and its ``--set``
    overrides; and Keras' verbosity in a unit's own process (``--verbose``).

    A ``Job`` carries it to pool and Ray processes, whose own ``sys.argv`` is not the command.
    """

    argv: tuple[str, ...] = field(default_factory=lambda: tuple(sys.argv))
    overrides: tuple[str, ...] = ()
    worker_verbose: int = 0
    tracker: str = layout.TRACKERS[0]  # --tracker: where units log (results/tensorboard.py)
    allow_code: bool = field(default_factory=code_allowed)  # --allow-code (models/user_code.py)

    def record(self) -> dict[str, Any]:
        """The fields of a unit's ``run.json``."""
        return {"argv": list(self.argv), "overrides": list(self.overrides)}


_INVOCATION: ContextVar[Invocation | None] = ContextVar("resilinet_invocation", default=None)
# Callbacks a caller adds to every unit trained in its block (a search trial reports each epoch
# to Ray Tune): called with the unit's config, variant and inputs, each returns a callback list.
EpochObserver = Callable[[ExperimentConfig, str, Any], list[Any]]
_OBSERVERS: ContextVar[tuple[EpochObserver, ...]] = ContextVar("resilinet_epochs", default=())


def current_invocation() -> Invocation:
    """What ``invoked`` set; else this process's ``sys.argv`` and no overrides (the API)."""
    return _INVOCATION.get() or Invocation()


@contextmanager
def invoked(invocation: Invocation) -> Iterator[None]:
    """Units planned or trained in this block record ``invocation`` (the CLI's command)."""
    token = _INVOCATION.set(invocation)
    try:
        yield
    finally:
        _INVOCATION.reset(token)


@contextmanager
def observing_epochs(observer: EpochObserver) -> Iterator[None]:
    """Units trained in this process, in this block, also run ``observer``'s epoch callbacks
    (after the epoch sweep, before the loggers: what they add to the logs is recorded)."""
    token = _OBSERVERS.set((*_OBSERVERS.get(), observer))
    try:
        yield
    finally:
        _OBSERVERS.reset(token)


@dataclass(frozen=True)
class Job:
    """A unit to train for a run: the run's config and folder, and how progress names it.

    In a profile, units of several experiments share one queue; ``label`` then says which
    experiment a unit belongs to (``health-failout/resilinet/iter-1``).
    """

    config: ExperimentConfig  # the run's config; ``unit.config(config)`` is the unit's own
    out: Path
    unit: runs.Unit
    started: str  # when the run started (a failed unit's record says so)
    swept: bool = True
    label: str = ""
    invocation: Invocation = field(default_factory=current_invocation)  # the driver's

    @property
    def name(self) -> str:
        return self.label or self.unit.name

    @property
    def seed(self) -> int:
        return self.unit.seed

    @property
    def folder(self) -> Path:
        return self.unit.folder(self.out)


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
    invocation: Invocation | None = None,
) -> pd.DataFrame | None:
    """Train one model, save it, sweep its failures; return its per-combination accuracies.

    ``sweep_progress(total)`` may return a progress bar (an object with ``update(n)``) that the
    sweep advances by the number of test examples done. Without ``swept`` the model is only
    trained and saved (for topologies too large to sweep; ``evaluate`` then estimates).
    Training goes on from the unit's last epoch checkpoint, if an interrupted run left one
    (``on_resume(epochs_done)`` is told); a finished unit keeps none. The record says how
    long this call took and the command that ran it (``invocation``, default: the current one).
    """
    import keras

    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.results import tensorboard
    from resilinet_cli.sweeps.epoch_sweep import epoch_sweeps

    freeze_imports()
    from resilinet_cli.training.checkpoint import EpochCheckpoint
    from resilinet_cli.training.distribute import distribution_scope
    from resilinet_cli.training.fit import set_seeds, train_model
    from resilinet_cli.training.inputs import build_inputs
    from resilinet_cli.training.threads import use_threads

    clock = time.monotonic()
    invocation = invocation or current_invocation()
    logs = tensorboard.logs_on(invocation.tracker)
    run_config = config
    config = unit.config(run_config)
    threads = use_threads(config.train.threads)  # before TensorFlow runs its first op
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
        folder,
        config,
        status="running",
        started=started,
        seeds=seeds,
        extra={"training_key": key, **invocation.record()},
    )
    set_seeds(unit.seed)
    failable = len(topology_of(config, unit.variant).columns)
    inputs = build_inputs(splits, config, failable, unit.seed)
    if trained is not None:  # stopped during its sweep: only the sweep is left to do
        model, history = trained
        if on_resume:
            on_resume(config.train.epochs)
    else:
        # Built, compiled and trained under the strategy: train.distribute (docs/cluster.md).
        with distribution_scope(config.train.distribute):
            with precision(config.train.mixed_precision), allowing_code(invocation.allow_code):
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
                optimizer=config.train.optimizer,
                early_stopping=config.train.early_stopping,
                loss_weights=config.variant(unit.variant).loss_weights(),
                epoch_callbacks=[
                    *epoch_sweeps(config, unit.variant, inputs),  # before the logger logs them
                    *(c for watch in _OBSERVERS.get() for c in watch(config, unit.variant, inputs)),
                    *([tensorboard.epoch_logger(folder)] if logs else []),
                ],
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
        if logs:
            topology = topology_of(config, unit.variant)
            tensorboard.write_weighted(folder, combinations, topology, len(history))
    metric = "val_accuracy" if "val_accuracy" in history else "accuracy"
    extra = {
        "unit": unit.to_record(),
        "training_key": reuse.training_key(run_config, unit),
        "hyperconnection_weights": {
            layer.name.removesuffix("_weight"): float(keras.ops.convert_to_numpy(layer.scale))
            for layer in model.layers
            if layer.name.endswith("_weight")
        },
        f"best_{metric}": float(history[metric].max()) if metric in history else None,
        "swept": swept,
        "test_examples": inputs.test_size,
        "threads": threads,
        **({"data": splits.source} if getattr(splits, "source", None) else {}),
        "wall_seconds": round(time.monotonic() - clock, 3),
        **invocation.record(),
        integrity.FILES: integrity.file_entries(folder),  # every file above, checked on reading
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
    config: ExperimentConfig,
    unit: runs.Unit,
    out: Path,
    donor: Path,
    invocation: Invocation | None = None,
) -> pd.DataFrame | None:
    """Finish ``unit`` with a copy of ``donor``'s files; its own record names the donor.

    Its wall time is the copy's; the donor's record keeps the training's.
    """
    clock = time.monotonic()
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
            "test_examples",
            "threads",
            "data",
        )
        if key in record
    }
    extra |= {"unit": unit.to_record(), "reused_from": os.path.relpath(donor, folder)}
    invocation = invocation or current_invocation()
    extra |= {"wall_seconds": round(time.monotonic() - clock, 3), **invocation.record()}
    extra[integrity.FILES] = integrity.file_entries(folder)
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


_frozen = False  # whether this process has frozen what its imports left (freeze_imports)


def freeze_imports() -> None:
    """Exempt what is alive before the first unit from Python's garbage collections, once.

    TensorFlow's and Keras' imports leave about 400,000 objects that every full collection
    walks: 0.3-0.4 s each, and a unit triggers several (``release_models``, Keras'
    ``clear_session``, the automatic ones while tracing). Those objects live as long as the
    process, so they are frozen (``gc.freeze``) after one last collection; later collections
    take milliseconds. It runs before the first unit builds anything, so no model is frozen;
    frozen objects are still freed when no reference is left, only cycles among them are kept.
    """
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


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


def failure_message(error: BaseException) -> str:
    """One line that says why a unit failed."""
    return f"{type(error).__name__}: {error}".splitlines()[0]


def unit_process(job: Job, reply: Any) -> None:
    """The body of a unit's own process (``--workers``): train and sweep it, say how it went."""
    from resilinet_cli.quiet_import import quiet_tensorflow_import

    quiet_tensorflow_import()
    with interrupt.catching_ctrl_c():
        try:
            splits = load_splits(job.config.dataset)
            run_unit(job.config, job.unit, job.out, splits, **job_settings(job))
        except KeyboardInterrupt:
            reply.send(("stopped", "stopped by a signal"))
            return
        except Exception as error:  # noqa: BLE001 (reported to the driver, which records it)
            reply.send(("failed", failure_message(error)))
            return
    reply.send(("done", ""))


def unit_files(job: Job, shared: bool, splits: Splits | None = None) -> tuple[str, Any]:
    """The body of a unit's Ray task: train and sweep it on this node, return its files.

    ("done", {file name: bytes}) or ("failed", why). With ``shared`` the run folder is on a
    filesystem every node sees: the task writes the unit's files there itself, as a serial run
    would, and returns none. ``splits``: the arrays of a data set of the user's own, which the
    driver loaded and Ray brought from its object store; without them (a built-in data set, an
    image folder) the task loads the data on this node. GPU memory grows as needed, so that
    units packed onto one GPU do not each take all of it.
    """
    import tempfile

    from resilinet_cli.quiet_import import quiet_tensorflow_import

    quiet_tensorflow_import()
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    data = splits if splits is not None else load_splits(job.config.dataset)
    if shared:
        try:
            run_unit(job.config, job.unit, job.out, data, **job_settings(job))
        except Exception as error:  # noqa: BLE001 (reported to the driver, which records it)
            return "failed", failure_message(error)
        return "done", {}
    with tempfile.TemporaryDirectory(prefix="resilinet-unit-") as tmp:
        try:
            run_unit(job.config, job.unit, Path(tmp), data, **job_settings(job))
        except Exception as error:  # noqa: BLE001 (reported to the driver, which records it)
            return "failed", failure_message(error)
        folder = job.unit.folder(Path(tmp))
        names = (layout.MODEL, layout.HISTORY, layout.COMBINATIONS, layout.RECORD)
        files = {n: (folder / n).read_bytes() for n in names if (folder / n).exists()}
        for log in sorted((folder / layout.TENSORBOARD).rglob("*")):
            if log.is_file():
                files[log.relative_to(folder).as_posix()] = log.read_bytes()
        return "done", files


def job_settings(job: Job) -> dict[str, Any]:
    """``run_unit``'s keywords for a job trained in a process of its own."""
    return {
        "verbose": job.invocation.worker_verbose,
        "swept": job.swept,
        "invocation": job.invocation,
    }
