"""Run experiments: plan what is left to do, train it as one queue, write each one's tables.

Units already finished with the same config and seed are skipped, so an interrupted run resumes
where it stopped (docs/architecture.md §7). A unit whose training equals one finished or queued
before it is copied, not trained again. Several experiments (a profile) share one queue, so a
pool or a cluster never idles while one experiment finishes.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from resilinet_cli import atomic, interrupt
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.data import example_shape, load_splits
from resilinet_cli.data.registry import OWN_DATA
from resilinet_cli.errors import DataError
from resilinet_cli.experiments import reuse
from resilinet_cli.experiments.calibrate import calibrate_as_defined
from resilinet_cli.experiments.executors import DataCache, Executor, train_jobs
from resilinet_cli.experiments.kinds import plan_units
from resilinet_cli.experiments.pages import write_run_tables
from resilinet_cli.experiments.progress import Progress
from resilinet_cli.experiments.unit import (
    Invocation,
    Job,
    copy_unit,
    current_invocation,
    invoked,
)
from resilinet_cli.results import runs
from resilinet_cli.results.claims import Family
from resilinet_cli.results.network_files import check_network_files
from resilinet_cli.variants import topology_of

if TYPE_CHECKING:  # Ray is an optional extra, imported only when a run uses it
    from resilinet_cli.experiments.cluster import RayOptions


@dataclass(frozen=True)
class RunResult:
    weighted: pd.DataFrame
    failed: list[tuple[runs.Unit, str]]
    tracked: tuple[str, ...] = ()  # what a tracker says it logged, and where


@dataclass(frozen=True)
class Step:
    """What a run does with one planned unit: ``done`` (finished here), ``todo`` (train it;
    ``why`` says when a damaged unit is trained again) or ``copy`` (its training equals a
    unit finished elsewhere, ``source``, or queued earlier in this run, ``queued``)."""

    unit: runs.Unit
    state: str
    source: Path | None = None
    queued: Path | None = None  # the folder of the queued unit it copies, once trained
    why: str = ""


@dataclass
class Planned:
    """One experiment's part of a queue: what it trains, what it copies once trained."""

    config: ExperimentConfig
    out: Path
    units: list[runs.Unit]
    started: str
    steps: list[Step] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    after: list[tuple[Job, Job]] = field(default_factory=list)  # (copy, from this queued job)
    failed: list[tuple[runs.Unit, str]] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        """Whether this run writes any unit of the experiment (a run with nothing to do
        changes no file)."""
        return any(step.state != "done" for step in self.steps)


@dataclass
class Queue:
    """What several experiments train, each distinct training once.

    ``preview`` is the plan (``run --dry-run`` prints it); ``plan`` carries it out, so the two
    never disagree.
    """

    progress: Progress
    executor: Executor = field(default_factory=Executor)
    swept: bool = True
    reuse_stale: bool = False
    force: bool = False
    donors: dict[str, Path] = field(default_factory=dict)  # finished before this run, by key
    queued: dict[str, Job] = field(default_factory=dict)  # to train in this run, by key
    runs: list[Planned] = field(default_factory=list)
    data: DataCache = field(default_factory=DataCache)
    previewed: dict[str, Path] = field(default_factory=dict)  # a preview's queue: key -> folder

    def preview(self, config: ExperimentConfig, out: Path, units: list[runs.Unit]) -> list[Step]:
        """What ``plan`` would do with ``units``, checking what it checks, writing nothing.

        Units of several previews share one imagined queue, as a profile's or a multirun's do.
        """
        runs.check_run_folder(out, config)
        retrained = {unit.name for unit in units} if self.force else set()
        runs.check_versions(out, config, reuse_stale=self.reuse_stale, retrained=retrained)
        steps = self.steps(config, out, units, self.previewed)
        for step in steps:
            if step.state == "todo":
                self.previewed[reuse.training_key(config, step.unit)] = step.unit.folder(out)
        return steps

    def steps(
        self, config: ExperimentConfig, out: Path, units: list[runs.Unit], queued: dict[str, Path]
    ) -> list[Step]:
        """Each unit's step; ``queued`` maps the training keys queued so far to their folders."""
        steps = []
        for unit in units:
            state = runs.unit_state(
                out, unit, config, swept=self.swept, reuse_stale=self.reuse_stale
            )
            if state.done and not self.force:
                steps.append(Step(unit, "done"))
                continue
            why = state.damage.message("trained again") if state.damage else ""
            key = reuse.training_key(config, unit)
            donor = self.donors.get(key)
            if donor is not None and donor != unit.folder(out) and not self.force:
                steps.append(Step(unit, "copy", source=donor, why=why))
            elif key in queued:
                steps.append(Step(unit, "copy", queued=queued[key], why=why))
            else:
                steps.append(Step(unit, "todo", why=why))
                queued = {**queued, key: unit.folder(out)}
        return steps

    def plan(
        self, config: ExperimentConfig, out: Path, units: list[runs.Unit], label: bool = False
    ) -> Planned:
        """Prepare ``out`` and queue what is left of ``units``; copy what was trained before.
        Missing data leaves no folder behind that this call made."""
        fresh = not out.exists()
        runs.prepare_run_folder(out, config)
        check_network_files(out, config)
        retrained = {unit.name for unit in units} if self.force else set()
        runs.check_versions(out, config, reuse_stale=self.reuse_stale, retrained=retrained)
        atomic.remove_stale_temporaries(out)
        planned = Planned(config, out, units, runs.now())
        queued = {key: job.folder for key, job in self.queued.items()}
        planned.steps = self.steps(config, out, units, queued)
        prefix = f"{config.name}/" if label else ""
        jobs = {
            step.unit: Job(config, out, step.unit, planned.started, self.swept,
                           prefix and prefix + step.unit.name)
            for step in planned.steps
        }  # fmt: skip
        todo = [step for step in planned.steps if step.state != "done"]
        for step in planned.steps:
            if step.state == "done":
                self.progress.skipped(jobs[step.unit])
            elif step.why:
                self.progress.damaged(jobs[step.unit], step.why)
        if todo:  # missing data is one error before any unit, not a failed unit each
            try:
                self.check_data(
                    config, [(step.unit.config(config), step.unit.variant) for step in todo]
                )
            except DataError:
                if fresh:
                    shutil.rmtree(out, ignore_errors=True)
                raise
        if planned.changes or not runs.read_record(out):
            seeds = {unit.name: unit.seed for unit in units}
            runs.write_record(out, config, status="running", started=planned.started, seeds=seeds)
        for number, step in enumerate(todo, 1):
            job = jobs[step.unit]
            if step.source is not None:
                combos = copy_unit(config, step.unit, out, step.source, job.invocation)
                self.progress.reused(job, step.source)
                self.progress.finished(job, number, len(todo), combos)
            elif step.queued:
                planned.after.append((job, self.queued[reuse.training_key(config, step.unit)]))
            else:
                self.queued[reuse.training_key(config, step.unit)] = job
                planned.jobs.append(job)
        self.runs.append(planned)
        return planned

    def check_data(
        self, config: ExperimentConfig, units: list[tuple[ExperimentConfig, str]]
    ) -> None:
        """Load the experiment's data once here (DataError when it is missing); a serial queue
        keeps it for its units, as does a Ray queue a data set of the user's own (the driver
        ships its arrays to the tasks); other processes load their own. A network of the keras
        family that does not fit the data or its cuts (in any ablation level) is one error too,
        and so is a model that cannot take the examples of a data set of the user's own.
        ``units``: each unit's config and variant."""
        own = config.dataset is not None and config.dataset.name in OWN_DATA
        if self.executor.ray is not None and own:
            splits = self.data.own(config.dataset)
        elif self.executor.elsewhere:
            splits = load_splits(config.dataset)
        else:
            splits = self.data.get(config.dataset)
        if config.model.name == "keras":
            from resilinet_cli.models.keras_family import check_network

            shape = example_shape(splits, config.dataset)
            distinct = {
                c.model.model_dump_json() + c.topology.model_dump_json(): c for c, _ in units
            }
            for unit in distinct.values():
                check_network(unit.model, topology_of(unit), shape,
                              splits.num_classes)  # fmt: skip
        elif own:
            check_model_fits(units, example_shape(splits, config.dataset), splits.num_classes)
        if config.topology.devices:  # every device's view, on the data's own shape
            from resilinet_cli.config.devices import check_devices

            shape = example_shape(splits, config.dataset)
            for unit in {c.topology.model_dump_json(): c for c, _ in units}.values():
                check_devices(unit, shape)

    def record_failure(self, job: Job, message: str) -> None:
        """A failed unit: its record says why, and its experiment's result lists it."""
        next(p for p in self.runs if p.out == job.out).failed.append((job.unit, message))
        runs.write_record(
            job.folder,
            job.unit.config(job.config),
            status="failed",
            started=job.started,
            seeds={"global": job.seed},
            extra={"unit": job.unit.to_record(), "error": message},
        )
        self.progress.failed(job, message)

    def train(self, *, verbose: int | str, fail_fast: bool) -> None:
        """Train the queue; then copy each unit queued twice from the one that trained, or
        train it too if that one failed."""
        jobs = [job for planned in self.runs for job in planned.jobs]
        with interrupt.catching_ctrl_c():
            self.train_jobs(jobs, verbose, fail_fast)
            again = []
            copies = [pair for planned in self.runs for pair in planned.after]
            for number, (job, donor) in enumerate(copies, 1):
                if self.is_done(donor):
                    combos = copy_unit(job.config, job.unit, job.out, donor.folder,
                                       job.invocation)  # fmt: skip
                    self.progress.reused(job, donor.folder)
                    self.progress.finished(job, number, len(copies), combos)
                else:
                    again.append(job)
            self.train_jobs(again, verbose, fail_fast)

    def train_jobs(self, jobs: list[Job], verbose: int | str, fail_fast: bool) -> None:
        train_jobs(jobs, self.executor, self.progress, self.record_failure, verbose=verbose,
                   fail_fast=fail_fast, data=self.data)  # fmt: skip

    def is_done(self, job: Job) -> bool:
        return runs.is_done(
            job.out, job.unit, config=job.config, swept=self.swept, reuse_stale=self.reuse_stale
        )

    def finish(self, planned: Planned, family: Family | None = None) -> RunResult:
        """The experiment's tables from every finished unit of its folder, and its status.

        A run with nothing to do writes no file: its tables, pages and figures are rewritten
        only where their content (or, for figures, their inputs) changed, and its record only
        when a unit was written. ``family``: the statistics' family, when the experiment is
        part of a profile (results/claims.py).
        """
        config, out = planned.config, planned.out
        if planned.changes:
            runs.add_checksums(out, config)  # older units get them on this write
        calibrate_as_defined(out, config)  # T of the exit variants that name a target
        weighted = write_run_tables(
            out, config, current_only=not self.reuse_stale, family=family
        ).weighted
        tracked: tuple[str, ...] = ()
        if current_invocation().tracker == "mlflow":  # its own store: logs what it lacks
            from resilinet_cli.results.tracking import log_run

            tracked = tuple(log_run(out, config).lines())
        every = plan_units(config)
        complete = all(self.is_done(Job(config, out, unit, planned.started)) for unit in every)
        status = "done" if complete else "partial"
        if planned.changes or runs.read_record(out).get("status") != status:
            seeds = {unit.name: unit.seed for unit in planned.units}
            records = (runs.read_record(folder) for folder in runs.unit_folders(out))
            data = next((r["data"] for r in records if r.get("data")), None)
            runs.write_record(out, config, status=status, started=planned.started, seeds=seeds,
                              extra={"data": data} if data else None)  # fmt: skip
        return RunResult(weighted, planned.failed, tracked)


@dataclass(frozen=True)
class Experiment:
    """One experiment of a queue: its config, folder and units, and the command line its
    units record (``invocation``; the current one when None)."""

    config: ExperimentConfig
    out: Path
    units: list[runs.Unit]
    invocation: Invocation | None = None


def check_model_fits(
    units: list[tuple[ExperimentConfig, str]], shape: tuple[int, ...], num_classes: int
) -> None:
    """A data set of the user's own may have examples that a model family cannot take (images
    too small for MobileNet's strides, features without height and width): each distinct unit
    model (model, topology and whether its variant has skips) is built once on the data's
    example shape, and a failure is one DataError before any training, not a failed unit each.
    """
    from resilinet_cli.experiments.unit import release_models
    from resilinet_cli.models.builder import build_from_config

    distinct = {
        (c.model.model_dump_json(), c.topology.model_dump_json(), c.variant(v).skips): (c, v)
        for c, v in units
    }
    try:
        for unit, variant in distinct.values():
            try:
                build_from_config(
                    unit, variant, input_shape=shape, num_classes=num_classes, seed=unit.seed
                )
            except (ValueError, TypeError) as error:
                reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
                hint = (
                    " (set dataset.image_size, or choose another model)" if len(shape) == 3 else ""
                )
                raise DataError(
                    f"dataset: examples of shape {'x'.join(map(str, shape))} do not fit model "
                    f"'{unit.model.name}': {reason}{hint}"
                ) from None
    finally:
        release_models()  # the units build their own models, with the same layer names


def make_queue(
    *,
    force: bool = False,
    progress: Progress | None = None,
    reuse_from: Path | None = None,
    swept: bool = True,
    reuse_stale: bool = False,
    workers: int = 1,
    ray: RayOptions | None = None,
) -> Queue:
    """A queue whose units may be copied from finished units under ``reuse_from``."""
    queue = Queue(progress or Progress(), Executor(workers, ray), swept=swept,
                  reuse_stale=reuse_stale, force=force)  # fmt: skip
    if reuse_from and not force and reuse_from.is_dir():
        queue.donors = reuse.finished_units(reuse_from, swept=swept)
    return queue


def preview_experiments(experiments: Sequence[Experiment], queue: Queue) -> list[list[Step]]:
    """What ``run_experiments`` would do with each experiment, as ``Step``s; writes nothing."""
    return [queue.preview(e.config, e.out, e.units) for e in experiments]


def run_experiments(
    experiments: Sequence[Experiment],
    queue: Queue,
    *,
    verbose: int | str = "auto",
    fail_fast: bool = False,
) -> list[RunResult]:
    """Plan every experiment into one queue (each distinct training once), train it, then
    write each experiment's tables. A Ray cluster is connected first: one that cannot be
    used stops the run before any results folder is made."""
    first = experiments[0].invocation if experiments else None
    with (
        invoked(first) if first else nullcontext(),  # the command's tracker, for every unit
        ray_session(queue.executor.ray),
    ):
        planned = []
        for experiment in experiments:
            with invoked(experiment.invocation) if experiment.invocation else nullcontext():
                planned.append(queue.plan(experiment.config, experiment.out, experiment.units))
        queue.train(verbose=verbose, fail_fast=fail_fast)
        return [queue.finish(plan) for plan in planned]


def ray_session(options: RayOptions | None) -> AbstractContextManager[None]:
    """The command's Ray session (``cluster.connected``); nothing for the local executors."""
    if options is None:
        return nullcontext()
    from resilinet_cli.experiments.cluster import connected

    return connected(options)


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
    queue = make_queue(force=force, progress=progress, reuse_from=reuse_from, swept=swept,
                       reuse_stale=reuse_stale, workers=workers, ray=ray)  # fmt: skip
    [result] = run_experiments([Experiment(config, out, units)], queue, verbose=verbose,
                               fail_fast=fail_fast)  # fmt: skip
    return result
