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

A data set of the user's own (``dataset: {name: files}`` or arrays passed to ``rn.run``) is
loaded once by the driver and its arrays go to the tasks through Ray's object store (one
``ray.put`` per data set and call), so no node needs a copy of the files; the built-in data
sets are loaded by each task on its node, as are image folders of one's own (their splits are
lists of files, which must be readable at the same path on every node).

A unit is reported as training when its task starts on a node (the task says so through the
cluster's key-value store); until then it is queued, and the queue line counts it in flight.
An address that does not answer, or a cluster that refuses this machine's token (Ray 2.60's
token authentication), is one line within ``CONNECT_SECONDS``, before any results folder is
made (``connected`` opens the session first).

Ray is an optional extra (``pip install -e '.[ray]'`` in the repository); it is imported only
here.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
NAMESPACE = "resilinet"  # the cluster key-value store's namespace for "this unit started"
TOKEN_HELP = (
    "the cluster uses token authentication: export RAY_AUTH_MODE=token and copy the head's "
    "~/.ray/auth_token to this machine's ~/.ray/ (or set RAY_AUTH_TOKEN)"
)


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


UnitTask = Callable[[Job, bool, Any], tuple[str, Any]]


def train_on_ray(
    jobs: list[Job],
    options: RayOptions,
    progress: Progress,
    fail_fast: bool,
    record_failure: Callable[[Job, str], None],
    target: UnitTask,
    shipped: Callable[[Job], Any] = lambda job: None,
) -> None:
    """Train ``jobs`` as Ray tasks running ``target(job, shared_out, data)``, which returns
    ("done", {file name: bytes}) or ("failed", why). ``data`` is ``shipped(job)``, put into
    the object store once per distinct object (the driver's own-data splits), or None: the
    task loads the job's data itself."""
    ray, ours = connect(options)
    run = uuid.uuid4().hex  # this call's keys in the cluster's key-value store
    try:
        check_resources(ray, [options.resources(job) for job in jobs])
        task = ray.remote(max_calls=1, max_retries=options.max_retries, retry_exceptions=False)(
            run_unit
        )
        pending, waiting = {}, {}
        state = QueueState(len(jobs))
        refs: dict[int, tuple[Any, Any]] = {}  # id(data) -> (data, its ObjectRef)
        for number, job in enumerate(jobs, 1):
            data = shipped(job)
            if data is not None and id(data) not in refs:
                refs[id(data)] = (data, ray.put(data))  # Ray resolves the ref in each task
            ref_of_data = refs[id(data)][1] if data is not None else None
            chosen = task.options(name=target.__name__, **options.resources(job))
            ref = chosen.remote(target, f"{run}:{number}", job, options.shared_out, ref_of_data)
            pending[ref] = waiting[number] = (number, job)
        state.in_flight = len(jobs)
        progress.queue(state)  # every unit queued; each says "training" when its task starts
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                interrupt.check()
                for number in started_units(run, waiting):
                    progress.started(waiting[number][1], number, len(jobs))
                    del waiting[number]
                for ref in done:
                    number, job = pending.pop(ref)
                    if waiting.pop(number, None) is not None:  # ended before it was seen
                        progress.started(job, number, len(jobs))
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
        forget_units(run)
        if ours:
            ray.shutdown()


def run_unit(
    target: UnitTask, key: str, job: Job, shared_out: bool, data: Any = None
) -> tuple[str, Any]:
    """The task: say in the cluster's key-value store that the unit has started, then run it
    (``data``: the driver's splits, which Ray fetched from the object store; None: load)."""
    from ray.experimental import internal_kv

    internal_kv._internal_kv_put(key, b"started", namespace=NAMESPACE)
    return target(job, shared_out, data)


def started_units(run: str, waiting: dict[int, Any]) -> list[int]:
    """The units of ``waiting`` (by number) whose task has started since the last look."""
    if not waiting:
        return []
    from ray.experimental import internal_kv

    keys = internal_kv._internal_kv_list(f"{run}:", namespace=NAMESPACE)
    numbers = {int(key.decode().rpartition(":")[2]) for key in keys}
    return sorted(numbers & set(waiting))


def forget_units(run: str) -> None:
    """Remove this call's keys from the cluster's key-value store."""
    from ray.experimental import internal_kv

    if internal_kv._internal_kv_initialized():
        internal_kv._internal_kv_del(f"{run}:", del_by_prefix=True, namespace=NAMESPACE)


@contextmanager
def connected(options: RayOptions) -> Iterator[None]:
    """A Ray session for a whole command, opened before any results folder is made, so that
    an unreachable or refusing cluster leaves nothing behind; closed at the end if opened."""
    ray, ours = connect(options)
    try:
        yield
    finally:
        if ours:
            ray.shutdown()


def connect(options: RayOptions) -> tuple[Any, bool]:
    """(Ray, whether this call connected it): a session the caller (a notebook) opened is used
    as it is and left open; one clear line when Ray is missing, the cluster unreachable or
    refusing this machine's token."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--executor ray: Ray is not installed; pip install -e '.[ray]' in the resilinet "
            "repository"
        ) from None
    if ray.is_initialized():
        return ray, False
    address = options.address
    target = dialed(address) if address is not None else None
    if address is not None and target is not None:
        host, _, port = target.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
        except (OSError, ValueError):
            via = f" (Ray dials {target})" if target != address else ""
            raise RunError(
                f"--address {address}: no Ray cluster answers there within "
                f"{CONNECT_SECONDS} s{via} (start one with `ray start --head`, or check "
                "HOST:PORT)"
            ) from None
        check_token(address, target)
    try:
        ray.init(
            address=address,
            log_to_driver=False,
            logging_level=logging.WARNING,
            include_dashboard=False if address in (None, "local") else None,
        )
    except ray.exceptions.AuthenticationError:
        raise RunError(f"--address {address}: {TOKEN_HELP}") from None
    except ConnectionError as error:
        raise RunError(f"--address {address}: {str(error).splitlines()[0]}") from None
    return ray, True


def dialed(address: str) -> str | None:
    """The HOST:PORT ``ray.init(address)`` connects to: ``auto`` is the cluster this machine
    started last (None: none, ``ray.init`` says so); a loopback host becomes this machine's
    address unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (Ray's own rule)."""
    from ray._private.services import canonicalize_bootstrap_address

    try:
        return canonicalize_bootstrap_address(address)
    except ConnectionError:
        return None
    except ValueError:
        raise RunError(f"--address {address}: expected HOST:PORT or auto") from None


def check_token(address: str, target: str) -> None:
    """Ask the cluster's GCS once whether it takes this machine's token: ``ray.init`` itself
    retries a refusal for 20 s, logging a line a second from C++."""
    from ray._private.authentication.authentication_token_setup import (
        ensure_token_if_auth_enabled,
    )
    from ray._raylet import GcsClient
    from ray.exceptions import AuthenticationError

    try:
        # RAY_AUTH_MODE=token and no token: the C++ client would abort the process
        ensure_token_if_auth_enabled(create_token_if_missing=False)
        with native_stderr_dropped():
            GcsClient(address=target, cluster_id=None).cluster_id  # noqa: B018 (asks the GCS)
    except AuthenticationError:
        raise RunError(f"--address {address}: {TOKEN_HELP}") from None
    except Exception as error:  # noqa: BLE001 (not a Ray GCS there: ray.init says what)
        logging.getLogger(__name__).debug("GCS probe of %s: %s", target, error)


@contextmanager
def native_stderr_dropped() -> Iterator[None]:
    """File descriptor 2 into a discarded file: Ray's C++ client logs its refusal there."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as dropped:
        os.dup2(dropped.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


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
