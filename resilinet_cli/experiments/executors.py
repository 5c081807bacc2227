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
        """Units train in other processes, which load their own data."""
        return self.workers > 1 or self.ray is not None


class DataCache:
    """The splits of the last dataset asked for: a serial queue loads each experiment's data
    once and holds one dataset at a time."""

    def __init__(self) -> None:
        self.dataset: DatasetConfig | None = None
        self.splits: Splits | FolderSplits | ImageFiles | None = None

    def get(self, dataset: DatasetConfig) -> Splits | FolderSplits | ImageFiles:
        if self.splits is None or dataset != self.dataset:
            self.splits = None  # the old data goes before the new is loaded
            self.splits = load_splits(dataset)
            self.dataset = dataset
        return self.splits


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

        train_on_ray(jobs, executor.ray, progress, fail_fast, record_failure, unit_files)
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
