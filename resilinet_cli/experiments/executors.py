"""Train a queue of units: here one at a time, in a local pool, or on a Ray cluster.

Whatever trains them, each unit runs the same ``run_unit`` with the same seeds and settings,
so the files it leaves are the same (docs/running.md, "Several units at a time"). A unit that
fails is recorded with its error and the queue goes on, unless it fails fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from resilinet_cli import atomic, interrupt
from resilinet_cli.config.schema import DatasetConfig
from resilinet_cli.data import FolderSplits, ImageFiles, Splits, load_splits
from resilinet_cli.data.registry import OWN_DATA
from resilinet_cli.experiments.progress import Progress, QueueState
from resilinet_cli.experiments.unit import Job, failure_message, release_models, run_unit

if TYPE_CHECKING:  # Ray is an optional extra, imported only when a run uses it
    from resilinet_cli.experiments.cluster import RayOptions

RecordFailure = Callable[[Job, str], None]


@dataclass(frozen=True)
class Executor:
    """Where units train: here (``workers`` at a time, each in a fresh process when more than
    one) or as tasks of a Ray cluster."""

    workers: int = 1
    ray: RayOptions | None = None

    @property
    def elsewhere(self) -> bool:
        """Units train in other processes, which load their own data (but on Ray, the data
        sets of the user's own: the driver ships those, ``DataCache.shipped``)."""
        return self.workers > 1 or self.ray is not None


class DataCache:
    """The splits of the last dataset asked for: a serial queue loads each experiment's data
    once and holds one dataset at a time. For a Ray cluster it also keeps every data set of
    the user's own that the queue trains on (``own``), loaded once here: the driver ships
    those arrays to the tasks, so that no node needs a copy of the files."""

    def __init__(self) -> None:
        self.dataset: DatasetConfig | None = None
        self.splits: Splits | FolderSplits | ImageFiles | None = None
        self.kept: dict[str, Splits | FolderSplits | ImageFiles] = {}  # own data, by section

    def get(self, dataset: DatasetConfig) -> Splits | FolderSplits | ImageFiles:
        if self.splits is None or dataset != self.dataset:
            self.splits = None  # the old data goes before the new is loaded
            self.splits = load_splits(dataset)
            self.dataset = dataset
        return self.splits

    def own(self, dataset: DatasetConfig) -> Splits | FolderSplits | ImageFiles:
        """A data set of the user's own (``files``, ``arrays``), loaded once and kept."""
        key = dataset.model_dump_json()
        if key not in self.kept:
            self.kept[key] = load_splits(dataset)
        return self.kept[key]

    def shipped(self, dataset: DatasetConfig | None) -> Splits | None:
        """The arrays a Ray task is given instead of loading its own data: those of a data set
        of the user's own. None for the built-in data sets (each node loads its own) and for
        an image folder, whose splits are lists of files that each node opens itself."""
        if dataset is None or dataset.name not in OWN_DATA:
            return None
        splits = self.own(dataset)
        return splits if isinstance(splits, Splits) else None


def train_jobs(
    jobs: list[Job],
    executor: Executor,
    progress: Progress,
    record_failure: RecordFailure,
    *,
    verbose: int | str = "auto",
    fail_fast: bool = False,
    data: DataCache | None = None,
) -> None:
    """Train every job; a failure is recorded (``record_failure``), not raised, unless
    ``fail_fast``."""
    if not jobs:
        return
    if executor.ray is not None:
        from resilinet_cli.experiments.cluster import train_on_ray
        from resilinet_cli.experiments.unit import unit_files

        cache = data or DataCache()
        train_on_ray(jobs, executor.ray, progress, fail_fast, record_failure, unit_files,
                     lambda job: cache.shipped(job.config.dataset))  # fmt: skip
    elif executor.workers > 1:
        from resilinet_cli.experiments.pool import train_in_processes
        from resilinet_cli.experiments.unit import unit_process

        train_in_processes(jobs, executor.workers, progress, fail_fast, record_failure,
                           unit_process)  # fmt: skip
    else:
        data = data or DataCache()
        state = QueueState(len(jobs))  # the same queue line as a pool's and a cluster's
        for number, job in enumerate(jobs, 1):
            interrupt.check()
            ok = train_here(job, data.get(job.config.dataset), number, len(jobs), progress,
                            verbose, fail_fast, record_failure)  # fmt: skip
            progress.queue(state.ended(ok, len(jobs) - number))


def train_here(
    job: Job,
    splits: Splits | FolderSplits | ImageFiles,
    number: int,
    total: int,
    progress: Progress,
    verbose: int | str,
    fail_fast: bool,
    record_failure: RecordFailure,
) -> bool:
    """Train (and sweep) one unit in this process; a failure is recorded, not raised (False)."""
    progress.started(job, number, total)
    try:
        combos = run_unit(
            job.config,
            job.unit,
            job.out,
            splits,
            verbose=verbose,
            sweep_progress=progress.sweep_bar(job, number, total),
            swept=job.swept,
            on_resume=partial(progress.resumed, job),
            invocation=job.invocation,
        )
    except Exception as error:
        release_models()
        if fail_fast or atomic.cannot_write(error):
            raise
        record_failure(job, failure_message(error))
        return False
    release_models()
    progress.finished(job, number, total, combos)
    return True
