"""What the node processes and the client use while a stream runs: memory, descriptors, CPU.

A thread samples every ``interval_s`` each node process the deployment runs now (a restarted
node is its new process) and the client's own (this process: its request threads): resident
memory, open file descriptors and CPU seconds. A leak shows as memory or descriptors that grow
from window to window (windows.py); the CPU seconds say how much of the machine the clients
took from the nodes they measure (``cpu_share``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pandas as pd
import psutil

CLIENT = "client"  # the process name of live-eval itself in the samples
RESOURCE_COLUMNS = ["t_s", "process", "pid", "rss_mb", "fds", "cpu_s"]


class ResourceSampler:
    """Samples ``pids()`` (process name -> pid) and this process every ``interval_s``."""

    def __init__(self, pids: Callable[[], dict[str, int]], interval_s: float = 10.0) -> None:
        self.pids = pids
        self.interval_s = interval_s
        self.rows: list[dict[str, float | int | str]] = []
        self.started = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resources", daemon=True)
        self._processes: dict[int, psutil.Process] = {}

    def start(self, started: float) -> None:
        self.started = started
        self.sample()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self) -> None:
        t_s = time.perf_counter() - self.started
        for name, pid in {**self.pids(), CLIENT: os.getpid()}.items():
            process = self._processes.get(pid)
            try:
                if process is None:
                    process = self._processes[pid] = psutil.Process(pid)
                with process.oneshot():
                    if process.status() == psutil.STATUS_ZOMBIE:
                        continue
                    cpu = process.cpu_times()
                    row = {
                        "t_s": round(t_s, 3),
                        "process": name,
                        "pid": pid,
                        "rss_mb": round(process.memory_info().rss / 2**20, 2),
                        "fds": process.num_fds(),
                        "cpu_s": round(cpu.user + cpu.system, 3),
                    }
            except psutil.Error:  # it died between the listing and the sample: a chaos event
                continue
            self.rows.append(row)

    def stop(self) -> pd.DataFrame:
        """Stop sampling, take a last sample, and return every sample."""
        self._stop.set()
        self._thread.join()
        self.sample()
        return self.table()

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=RESOURCE_COLUMNS)


def cpu_seconds(samples: pd.DataFrame) -> pd.Series:
    """CPU seconds each process name used between its first and last sample, summed over its
    processes (a restarted node's earlier ones too, up to their last sample)."""
    if samples.empty:
        return pd.Series(dtype=float)
    per_pid = samples.groupby(["process", "pid"])["cpu_s"].agg(lambda s: s.iloc[-1] - s.iloc[0])
    return per_pid.groupby(level="process").sum()


def cpu_share(samples: pd.DataFrame) -> float:
    """The client's share of the CPU seconds that the nodes and the client used together."""
    used = cpu_seconds(samples)
    total = float(used.sum())
    return float(used.get(CLIENT, 0.0)) / total if total > 0 else float("nan")
