"""Three minutes of a soak: ``live-eval --duration 3m --chaos-seed`` on a Health deployment,
faults repeating at seeded random times (kills restarted, hangs resumed), one window a
half-minute. No prediction differs from the sweep in any window, no process leaks file
descriptors, and nothing is left running after. (The hour's run is reported in docs/live.md.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from live_helpers import DEADLINE_MS, invoke, node_processes

from resilinet_cli.live.chaos import random_schedule
from resilinet_cli.live.unit import load_unit

SECONDS, WINDOW, EVERY, SEED, RATE = 180, 30, 30, 2, 10


@pytest.fixture(autouse=True)
def bounded_time() -> Iterator[None]:
    """This module's test runs for minutes (the package's other tests: 90 s at most)."""
    import signal

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"the soak ran past {SECONDS + 120} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(SECONDS + 120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_three_minutes_of_seeded_chaos(live_run, tmp_path):
    out = tmp_path / "soak"
    unit_dir = live_run / "runs" / "resilinet" / "iter-1"
    code, stdout, stderr = invoke(
        "live-eval", str(unit_dir), "--duration", f"{SECONDS // 60}m", "--chaos-seed",
        str(SEED), "--chaos-every", f"{EVERY}s", "--window", f"{WINDOW}s", "--rate", str(RATE),
        "--deadline-ms", str(DEADLINE_MS), "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert not node_processes(out / "deployment" / "spec.json")  # nothing left running
    schedule = random_schedule(load_unit(unit_dir).topology, SEED, SECONDS, EVERY)
    events = pd.read_csv(out / "live_events.csv")
    applied = list(zip(events["event"], events["node"], strict=True))
    assert [(e.action, e.node) for e in schedule] == applied
    assert "chaos event failed" not in stderr
    windows = pd.read_csv(out / "live_windows.csv")
    assert list(windows["window"]) == list(range(1, SECONDS // WINDOW + 1))
    assert (windows["differing"] == 0).all()
    assert windows["requests"].sum() >= 0.95 * SECONDS * RATE
    assert (windows["compared"] > 0).all()
    assert "predictions differing from the simulated ones: 0" in stdout
    assert_no_descriptor_growth(pd.read_csv(out / "live_resources.csv"))


def assert_no_descriptor_growth(samples: pd.DataFrame) -> None:
    """Each process that ran the whole time (one pid) holds, in the last third of the run, no
    more descriptors than at its peak in the first third after the first window: a leak of
    one per request, reconnection or restart would add dozens."""
    end = samples["t_s"].max()
    steady = samples.groupby("process").filter(lambda s: s["pid"].nunique() == 1)
    assert {"iot", "cloud", "client"} <= set(steady["process"])  # never failed
    for process, mine in steady.groupby("process"):
        early = mine[(mine["t_s"] >= WINDOW) & (mine["t_s"] < end / 3)]["fds"]
        late = mine[mine["t_s"] >= 2 * end / 3]["fds"]
        assert len(early) and len(late), process
        assert late.max() <= early.max(), (process, list(mine["fds"]))
