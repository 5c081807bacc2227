"""The pieces of a soak, without a deployment: times with units, the seeded chaos schedule,
the per-window table and the memory growth read from it (live/windows.py, live/chaos.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from resilinet_cli.cli.options import Seconds
from resilinet_cli.live.chaos import random_schedule
from resilinet_cli.live.resources import CLIENT, cpu_share
from resilinet_cli.live.windows import growth, window_table


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90.0), ("90s", 90.0), ("500ms", 0.5), ("10m", 600.0),
                          ("1h", 3600.0), ("2.5min", 150.0)],
)  # fmt: skip
def test_times_read_with_their_unit(text, seconds):
    assert Seconds().convert(text, None, None) == seconds


def test_the_chaos_schedule_is_seeded_paired_and_one_fault_at_a_time(health):
    events = random_schedule(health, seed=7, duration_s=3600, every_s=60)
    assert events == random_schedule(health, seed=7, duration_s=3600, every_s=60)
    assert events != random_schedule(health, seed=8, duration_s=3600, every_s=60)
    assert 30 <= len(events) / 2 <= 90  # about one fault a minute
    for fault, recovery in zip(events[::2], events[1::2], strict=True):
        assert (fault.action, recovery.action) in {("kill", "restart"), ("hang", "resume")}
        assert fault.node == recovery.node and fault.node in health.alive_columns
        assert 0.2 * 60 <= recovery.at_s - fault.at_s <= 0.5 * 60
    times = [e.at_s for e in events]
    assert times == sorted(times) and times[-1] <= 3600 - 60
    assert {e.node for e in events} == set(health.failable)  # each node's turn comes


def judged_rows(due_s: list[float], differs: list[bool]) -> pd.DataFrame:
    n = len(due_s)
    return pd.DataFrame(
        {
            "sent_at_ms": np.asarray(due_s) * 1000,
            "latency_ms": np.arange(1, n + 1, dtype=float),
            "prediction": [1] * n,
            "label": [1, 0] * (n // 2) + [1] * (n % 2),
            "compared": [True] * n,
            "sweep_hit": [1.0, 0.0] * (n // 2) + [1.0] * (n % 2),
            "differs": differs,
            "mixed": [False] * n,
            "lost_any": [False] * n,
        }
    )


def samples(rows: list[tuple[float, str, int, float, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["t_s", "process", "pid", "rss_mb", "fds", "cpu_s"])


def test_windows_count_requests_accuracy_and_each_process_memory():
    judged = judged_rows([1, 2, 11, 12, 13, 25], [False, False, True, False, False, False])
    sampled = samples([
        (0, "iot", 10, 100.0, 12, 0.0), (0, CLIENT, 5, 50.0, 9, 0.0),
        (9, "iot", 10, 101.0, 12, 1.0), (9, CLIENT, 5, 50.0, 9, 0.5),
        (19, "iot", 11, 90.0, 13, 0.2), (19, CLIENT, 5, 52.0, 9, 1.0),
        (29, "iot", 11, 99.0, 13, 0.6), (29, CLIENT, 5, 53.0, 9, 1.2),
    ])  # fmt: skip
    windows = window_table(judged, [15_000.0], sampled, window_s=10, duration_s=30)
    assert list(windows["requests"]) == [2, 3, 1]
    assert list(windows["unanswered"]) == [0, 1, 0]
    assert list(windows["differing"]) == [0, 1, 0]
    assert list(windows["live_accuracy"]) == [0.5, 2 / 3, 0.0]
    assert list(windows["sweep_accuracy"]) == [0.5, 2 / 3, 0.0]
    assert list(windows["rss_mb_iot"]) == [101.0, 90.0, 99.0]  # the last sample of each
    assert list(windows["pid_iot"]) == [10, 11, 11]
    grown = growth(windows, warm_up=1).set_index("process")
    assert grown.loc["iot", "growth"] == pytest.approx(99 / 90 - 1)
    assert grown.loc[CLIENT, "growth"] == pytest.approx(53 / 52 - 1)
    assert not grown["restarted"].any()
    assert growth(windows, warm_up=0).set_index("process").loc["iot", "restarted"]
    # CPU: iot's two processes 1.0 + 0.4 s, the client 1.2 s of the 2.6 s
    assert cpu_share(sampled) == pytest.approx(1.2 / 2.6)
