"""``resilinet run --workers N``: units in fresh processes give the serial run's files, byte for
byte; a unit process that dies is reported and the others finish; SIGTERM stops them all."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from run_helpers import (
    SMOKE_SETS,
    UNITS,
    assert_same_files,
    assert_same_units,
    smoke_command,
    smoke_profile,
)

from resilinet_cli.cli import main


def test_two_workers_give_the_serial_runs_files(
    tmp_path: Path, smoke_serial: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """--verbose too: the unit processes print Keras' epoch lines, the results are the same."""
    out = tmp_path / "pool"
    args = ["--verbose", *smoke_command(out, "--workers", "2")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert_same_files(out, smoke_serial)
    for unit in UNITS:
        finished = rf"{unit}: accuracy with no failures [0-9.]+% \([0-9.]+ s\)\n"
        assert re.search(finished, result.stdout)  # --verbose: and the unit's wall time
        record = json.loads((out / "runs" / unit / "run.json").read_text())
        assert record["argv"] == ["resilinet", *args]  # the driver's, not the process's
        assert record["overrides"] == SMOKE_SETS and record["wall_seconds"] > 0
    queue = [line for line in result.stdout.splitlines() if line.startswith("queue: ")]
    assert queue[0].startswith("queue: 1 done, 3 in flight, 0 failed of 4; about ")
    assert queue[-1] == "queue: 4 done, 0 in flight, 0 failed of 4"
    epochs = [line for line in capfd.readouterr().out.splitlines() if " - loss: " in line]
    assert len(epochs) == len(UNITS)  # one epoch each, from the unit processes themselves


def test_a_profile_feeds_all_its_experiments_into_one_pool(
    tmp_path: Path, smoke_serial: Path
) -> None:
    """Two experiments with the same four trainings: four units train, in one queue of two
    processes; the second experiment copies them, and both equal the serial run's files."""
    out = tmp_path / "profile"
    args = ["reproduce", "--profile", str(smoke_profile(tmp_path)), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--workers", "2"])
    assert result.exit_code == 0, result.output
    for experiment in ("quickstart", "again"):
        assert_same_units(out / experiment, smoke_serial)
    queue = [line for line in result.stdout.splitlines() if line.startswith("queue: ")]
    assert queue[-1] == "queue: 4 done, 0 in flight, 0 failed of 4"
    for unit in UNITS:
        assert f"quickstart/{unit}: accuracy with no failures" in result.stdout
        assert f"again/{unit}: same training as {out / 'quickstart' / 'runs' / unit}" in (
            result.stdout
        )
    record = json.loads((out / "again" / "runs" / UNITS[0] / "run.json").read_text())
    assert record["threads"] == len(os.sched_getaffinity(0))  # train.threads unset: every core
    assert "Report:" in result.stdout and (out / "REPORT.md").is_file()


def test_zero_workers_is_refused_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, smoke_command(tmp_path / "run", "--workers", "0"))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "--workers" in result.stderr and "0" in result.stderr


@contextmanager
def started(out: Path, *extra: str) -> Iterator[subprocess.Popen]:
    """A real ``resilinet run --workers 2`` driver; killed and reaped if a test fails early."""
    driver = subprocess.Popen(
        [sys.executable, "-m", "resilinet_cli", *smoke_command(out, "--workers", "2", *extra)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        yield driver
    finally:
        if driver.poll() is None:
            for pid in unit_processes(driver.pid):
                os.kill(pid, signal.SIGKILL)
            driver.kill()
        driver.communicate()


def unit_processes(driver: int) -> list[int]:
    """The driver's spawned unit processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{driver}/task/{driver}/children").read_text().split()
    found = []
    for pid in children:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            found.append(int(pid))
    return found


def wait_for_training(out: Path, driver: subprocess.Popen, count: int) -> list[int]:
    """The pids of ``count`` unit processes, once one of them has started its unit."""
    deadline = time.monotonic() + 120
    while True:
        assert driver.poll() is None and time.monotonic() < deadline, "the run ended early"
        pids = unit_processes(driver.pid)
        records = list((out / "runs").glob("*/iter-*/run.json")) if out.exists() else []
        if len(pids) >= count and any('"running"' in r.read_text() for r in records):
            return pids
        time.sleep(0.02)


def test_a_unit_process_that_dies_is_reported_and_the_others_finish(
    tmp_path: Path, smoke_serial: Path
) -> None:
    out = tmp_path / "pool"
    first = ("--iterations", "1")  # two units: one is killed, the other finishes
    with started(out, *first) as driver:
        victim = wait_for_training(out, driver, 2)[0]
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = driver.communicate(timeout=240)
    assert driver.returncode == 1, stderr
    assert "1 unit(s) failed:" in stderr
    assert "its process ended without a result (exit code -9)" in stderr
    assert "queue: 1 done, 0 in flight, 1 failed of 2" in stdout
    resumed = CliRunner().invoke(main, smoke_command(out, *first))  # trains the lost unit again
    assert resumed.exit_code == 0 and resumed.stdout.count("already finished") == 1
    for unit in ("vanilla/iter-1", "resilinet/iter-1"):
        for name in ("history.csv", "combinations.csv"):
            path = Path("runs") / unit / name
            assert (out / path).read_bytes() == (smoke_serial / path).read_bytes(), path


def test_sigterm_stops_every_unit_process_and_a_rerun_resumes(
    tmp_path: Path, smoke_serial: Path
) -> None:
    out = tmp_path / "pool"
    with started(out) as driver:
        workers = wait_for_training(out, driver, 2)
        while not list(out.glob("runs/*/iter-*/combinations.csv")):  # one unit finished
            assert driver.poll() is None, "the run ended too early"
            time.sleep(0.02)
        workers = sorted(set(workers) | set(unit_processes(driver.pid)))
        driver.send_signal(signal.SIGTERM)
        at = time.monotonic()
        _, stderr = driver.communicate(timeout=60)
        assert time.monotonic() - at < 20
    assert driver.returncode == 143 and "Traceback" not in stderr
    assert "stopped by SIGTERM: " in stderr and "resume with the same command" in stderr
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    resumed = CliRunner().invoke(main, smoke_command(out))
    assert resumed.exit_code == 0
    assert_same_files(out, smoke_serial)
