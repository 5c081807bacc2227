"""Live deployments for the tests: real node processes on 127.0.0.1, each test time-bounded.

One deployment per module (starting five TensorFlow processes takes seconds), short deadlines,
and a finalizer that stops every process it started, by pid, also when a test fails.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

TEST_SECONDS = 90  # no test of this package may run longer


class TestTimeout(Exception):
    """A live test ran past its time bound."""


@pytest.fixture(autouse=True)
def bounded_time() -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise TestTimeout(f"test ran past {TEST_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def live_run(trained, quick_config, tmp_path_factory) -> Path:
    """The session's trained models as the unit folders of one run (runs/<variant>/iter-1)."""
    from resilinet_cli.results import runs

    out = tmp_path_factory.mktemp("live") / "run"
    runs.prepare_run_folder(out, quick_config)
    for variant, (model, _) in trained.items():
        unit = out / "runs" / variant / "iter-1"
        unit.mkdir(parents=True)
        model.save(unit / "model.keras")
    return out
