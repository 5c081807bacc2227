"""Units trained in a local pool of fresh processes (``resilinet run --workers N``).

Each unit runs in a process of its own, started with ``spawn`` (TensorFlow is not fork-safe)
and ended when the unit is: its memory, GPU memory included, goes back with it. The process
runs the same ``run_unit`` as a serial run, with the same seeds, and writes the unit's files
itself, atomically, into the run folder; the tables are then built from those files as always,
so they equal the serial run's. A process that dies without a word (killed, out of memory) is
reported as a failed unit; Ctrl-C or SIGTERM stops every process within seconds and keeps the
finished units.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import pandas as pd

from resilinet_cli import interrupt
from resilinet_cli.experiments.progress import Progress, QueueState
from resilinet_cli.experiments.unit import Job
from resilinet_cli.results import layout

STOP_SECONDS = 10  # how long a stopped process may take to end before it is killed


@dataclass
class Running:
    job: Job
    number: int
    process: Any  # a spawn-context Process
    reply: Connection


def train_in_processes(
    jobs: list[Job],
    workers: int,
    progress: Progress,
    fail_fast: bool,
    record_failure: Callable[[Job, str], None],
    target: Callable[[Job, Connection], None],
) -> None:
    """Train ``jobs``, at most ``workers`` at a time, each in a fresh process running
    ``target(job, reply)``, which sends ("done", ""), ("failed", why) or ("stopped", why) when
    a signal stopped it."""
    context = multiprocessing.get_context("spawn")
    queue = list(enumerate(jobs, 1))
    running: list[Running] = []
    state = QueueState(len(jobs))
    try:
        while queue or running:
            while queue and len(running) < workers:
                number, job = queue.pop(0)
                progress.started(job, number, len(jobs))
                receive, send = context.Pipe(duplex=False)
                process = context.Process(
                    target=target, args=(job, send), name=f"resilinet {job.name}"
                )
                process.start()
                send.close()
                running.append(Running(job, number, process, receive))
            wait([r.process.sentinel for r in running], timeout=0.5)
            interrupt.check()
            for ended in [r for r in running if not r.process.is_alive()]:
                running.remove(ended)
                outcome, message = reply_of(ended)
                if outcome == "done":
                    combos = combinations(ended.job.folder)
                    progress.finished(ended.job, ended.number, len(jobs), combos)
                    progress.queue(state.ended(True, len(running) + len(queue)))
                    continue
                if outcome == "stopped":
                    interrupt.check()  # Ctrl-C reached the whole group: the run stops, no failure
                record_failure(ended.job, message)
                progress.queue(state.ended(False, len(running) + len(queue)))
                if fail_fast:
                    raise RuntimeError(f"{ended.job.name}: {message}")
    finally:
        stop(running)


def reply_of(job: Running) -> tuple[str, str]:
    """("done", ""), ("failed", why) or ("stopped", why) from an ended unit process."""
    job.process.join()
    try:
        if job.reply.poll():
            return job.reply.recv()
    except EOFError:  # the pipe was closed without a reply: the process died
        pass
    finally:
        job.reply.close()
    return "failed", f"its process ended without a result (exit code {job.process.exitcode})"


def combinations(folder: Path) -> pd.DataFrame | None:
    """The unit's per-combination accuracies, once its files are written (None: not swept)."""
    path = folder / layout.COMBINATIONS
    return pd.read_csv(path) if path.exists() else None


def stop(running: list[Running]) -> None:
    """Ask every process still running to stop (SIGTERM: it keeps what it finished), then
    kill the ones that do not end in time."""
    for job in running:
        job.process.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for job in running:
        job.process.join(max(0.0, deadline - time.monotonic()))
        if job.process.is_alive():
            job.process.kill()
            job.process.join()
        job.reply.close()
