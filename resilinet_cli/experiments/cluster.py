"""Units as Ray tasks (``resilinet run --executor ray``): a cluster trains them, the driver keeps
the results.

Each unit is one task in a fresh worker process (``max_calls=1``: its memory, GPU memory
included, goes back when it ends). The task trains and sweeps the unit into a temporary folder
on its node and returns the unit's files; the driver writes them atomically into the run
folder, the record last, so no filesystem has to be shared. With ``shared_out`` (the run
folder is on a filesystem every node mounts at the same path) tasks write there themselves.
A task whose worker or node dies is retried elsewhere (``max_retries``); a unit that raises
is reported with its error and the others go on. Ctrl-C or SIGTERM cancels every task and
keeps the finished units.

Ray is an optional extra (``pip install 'resilinet[ray]'``); it is imported only here.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resilinet_cli import atomic, interrupt
from resilinet_cli.errors import ConfigError, RunError
from resilinet_cli.experiments.pool import combinations
from resilinet_cli.experiments.progress import Progress, QueueState
from resilinet_cli.experiments.unit import Job
from resilinet_cli.results import layout

CONNECT_SECONDS = 10  # how long an unreachable --address may take to say so


@dataclass(frozen=True)
class RayOptions:
    """Where the cluster is and what each unit asks of it (None: what its config says)."""

    address: str | None = None  # None: a Ray instance on this machine; "auto": the running one
    num_cpus: float | None = None
    num_gpus: float | None = None  # a fraction packs units onto one GPU (0.25: four per GPU)
    max_retries: int = 3  # per unit, when its worker or node dies
    shared_out: bool = False  # tasks write into the run folder themselves

    def resources(self, job: Job) -> dict[str, float]:
        """What ``job`` asks of the cluster: these options, else its config's ``resources``."""
        asked = job.config.resources
        cpus = asked.num_cpus if self.num_cpus is None else self.num_cpus
        gpus = asked.num_gpus if self.num_gpus is None else self.num_gpus
        return {"num_cpus": cpus, "num_gpus": gpus}


UnitTask = Callable[[Job, bool], tuple[str, Any]]


def train_on_ray(
    jobs: list[Job],
    options: RayOptions,
    progress: Progress,
    fail_fast: bool,
    record_failure: Callable[[Job, str], None],
    target: UnitTask,
) -> None:
    """Train ``jobs`` as Ray tasks running ``target(job, shared_out)``, which returns
    ("done", {file name: bytes}) or ("failed", why)."""
    ray, ours = connect(options)
    try:
        check_resources(ray, [options.resources(job) for job in jobs])
        task = ray.remote(max_calls=1, max_retries=options.max_retries, retry_exceptions=False)(
            target
        )
        pending = {}
        state = QueueState(len(jobs))
        for number, job in enumerate(jobs, 1):
            progress.started(job, number, len(jobs))
            ref = task.options(**options.resources(job)).remote(job, options.shared_out)
            pending[ref] = (number, job)
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                interrupt.check()
                for ref in done:
                    number, job = pending.pop(ref)
                    outcome, value = result_of(ray, ref)
                    if outcome == "done":
                        write_unit(job.folder, value)
                        progress.finished(job, number, len(jobs), combinations(job.folder))
                        progress.queue(state.ended(True, len(pending)))
                        continue
                    record_failure(job, value)
                    progress.queue(state.ended(False, len(pending)))
                    if fail_fast:
                        raise RuntimeError(f"{job.name}: {value}")
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
    finally:
        if ours:
            ray.shutdown()


def connect(options: RayOptions) -> tuple[Any, bool]:
    """(Ray, whether this call connected it): a session the caller (a notebook) opened is used
    as it is and left open; one clear line when Ray is missing or the cluster unreachable."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--executor ray: Ray is not installed; pip install 'resilinet[ray]' "
            "(from a clone: pip install -e '.[ray]')"
        ) from None
    if ray.is_initialized():
        return ray, False
    address = options.address
    if address not in (None, "auto"):
        host, _, port = address.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
        except (OSError, ValueError):
            raise RunError(
                f"--address {address}: no Ray cluster answers there within "
                f"{CONNECT_SECONDS} s (start one with `ray start --head`, or check HOST:PORT)"
            ) from None
    try:
        ray.init(
            address=address,
            log_to_driver=False,
            logging_level=logging.WARNING,
            include_dashboard=False if address is None else None,
        )
    except ConnectionError as error:
        raise RunError(f"--address {address}: {str(error).splitlines()[0]}") from None
    return ray, True


def check_resources(ray: Any, asked: list[dict[str, float]]) -> None:
    """Refuse, before any unit is queued, what no node of the cluster can ever give a unit."""
    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    for key, name in (("CPU", "num_cpus"), ("GPU", "num_gpus")):
        wanted = max((resources[name] for resources in asked), default=0.0)
        largest = max((node.get(key, 0.0) for node in nodes), default=0.0)
        if wanted > largest:
            raise ConfigError(
                f"--{name.replace('_', '-')} (or resources.{name}) {wanted:g}: no node of the "
                f"Ray cluster has that many (the largest has {largest:g} {key}); a unit would "
                "wait forever"
            )


def result_of(ray: Any, ref: Any) -> tuple[str, Any]:
    """The task's own answer, or ("failed", why) when Ray could not run it to the end.

    Why is the last line of the innermost cause: Ray's own first line only names the task
    ("ray::unit_files() (pid=..., ip=...)").
    """
    try:
        return ray.get(ref)
    except Exception as error:  # noqa: BLE001 (Ray raises a family of errors for lost tasks)
        cause = error
        while getattr(cause, "cause", None) is not None and cause.cause is not cause:
            cause = cause.cause
        lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
        kind = type(error).__name__
        if cause is not error:
            kind += f"({type(cause).__name__})"
        return "failed", f"{kind}: {lines[-1] if lines else ''}"


def write_unit(folder: Path, files: dict[str, bytes]) -> None:
    """A unit's files from its task, each atomically; the record last, so it says "done" only
    once everything else is in place. A task that wrote them itself returns none."""
    if not files:
        return
    for name, data in files.items():  # the model, tables and TensorBoard logs
        if name != layout.RECORD:
            atomic.write_bytes(folder / name, data)
    atomic.write_bytes(folder / layout.RECORD, files[layout.RECORD])
