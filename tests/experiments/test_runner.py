"""Resume and sweeps: kill -9 loses at most one unit, --dry-run, keep-going, Hydra-style --set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from run_helpers import smoke_command

from resilinet_cli.cli import main
from resilinet_cli.experiments import executors as experiment


def command(out: Path, *extra: str) -> list[str]:
    return smoke_command(out, *extra)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def start_until_first_unit(out: Path, stderr: int) -> subprocess.Popen:
    """A real ``resilinet run`` subprocess, returned once its first unit is finished."""
    process = subprocess.Popen(
        [sys.executable, "-m", "resilinet_cli", *command(out)],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        text=True,
        # A shell's background job ignores SIGINT, and a child inherits that; a user's terminal
        # does not, so restore the default for the run.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    first = out / "runs" / "vanilla" / "iter-1" / "run.json"
    deadline = time.monotonic() + 240
    try:
        while not (first.is_file() and '"done"' in first.read_text()):
            assert process.poll() is None, "the run ended before its first unit was done"
            assert time.monotonic() < deadline, "the first unit took over 240 s"
            time.sleep(0.05)
    except BaseException:
        process.kill()  # never leave the run behind when the test fails
        process.wait(timeout=30)
        raise
    return process


@pytest.fixture
def clean(smoke_serial: Path) -> Path:
    """The same run, never interrupted: what every interrupted and resumed run must equal."""
    return smoke_serial


def assert_same_tables(out: Path, clean: Path) -> None:
    for table in ("weighted_accuracy.csv", "combinations.csv"):
        assert (out / "tables" / table).read_bytes() == (clean / "tables" / table).read_bytes()


def test_kill_9_after_the_first_unit_then_rerun_equals_an_uninterrupted_run(
    tmp_path: Path, clean: Path
) -> None:
    """SIGKILL gives no handler a chance: the rerun keeps the finished unit, trains the rest,
    and leaves the uninterrupted run's tables and no temporary file."""
    killed = tmp_path / "killed"
    process = start_until_first_unit(killed, stderr=subprocess.DEVNULL)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    resumed = invoke(*command(killed))
    assert resumed.exit_code == 0 and "skip vanilla/iter-1: already finished" in resumed.stdout
    assert_same_tables(killed, clean)
    assert [p for p in killed.rglob("*") if ".tmp" in p.name] == []


def test_a_fresh_process_gives_the_same_files_as_another_run(tmp_path: Path, clean: Path) -> None:
    """Same config and seed, a fresh process against an earlier in-process run: byte-identical
    per-unit files (nothing hangs on state the first run left in this interpreter)."""
    out = tmp_path / "fresh"
    args = command(out, "--variants", "resilinet", "--iterations", "1")
    done = subprocess.run(
        [sys.executable, "-m", "resilinet_cli", *args],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    for name in ("combinations.csv", "history.csv"):
        path = Path("runs/resilinet/iter-1") / name
        assert (out / path).read_bytes() == (clean / path).read_bytes(), path


def test_dry_run_lists_done_and_todo_units_and_runs_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = invoke(*command(out, "--dry-run"))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "todo  vanilla/iter-1", "todo  vanilla/iter-2", "todo  resilinet/iter-1",
        "todo  resilinet/iter-2", f"4 of 4 units to train in {out}",
    ]  # fmt: skip
    assert not out.exists()


def test_a_failing_unit_does_not_stop_the_run_unless_fail_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = experiment.run_unit

    def broken(config, unit, *args, **kwargs):
        if unit.variant == "vanilla" and unit.iteration == 1:
            raise RuntimeError("disk on fire")
        return real(config, unit, *args, **kwargs)

    monkeypatch.setattr(experiment, "run_unit", broken)
    out = tmp_path / "run"
    result = invoke(*command(out, "--iterations", "1"))
    assert result.exit_code == 1
    assert "1 unit(s) failed:\n  vanilla/iter-1: RuntimeError: disk on fire" in result.stderr
    assert "queue: 1 done, 0 in flight, 1 failed of 2" in result.stdout  # as a pool's
    assert (out / "runs" / "resilinet" / "iter-1" / "model.keras").is_file()
    assert '"failed"' in (out / "runs" / "vanilla" / "iter-1" / "run.json").read_text()
    with pytest.raises(RuntimeError, match="disk on fire"):
        CliRunner().invoke(
            main,
            command(tmp_path / "fast", "--iterations", "1", "--fail-fast"),
            catch_exceptions=False,
        )
    assert not (tmp_path / "fast" / "runs" / "resilinet").exists()


def test_multirun_runs_one_folder_per_value_and_a_combined_table(tmp_path: Path) -> None:
    out = tmp_path / "multirun"
    result = invoke(
        *command(out, "--iterations", "1", "-m", "--set", "train.failout.survival=0.9,0.5",
                 "--variants", "resilinet")
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    combined = pd.read_csv(out / "tables" / "multirun.csv")
    assert list(combined.columns) == [
        "train.failout.survival", "variant", "setting", "mean", "std", "iterations"
    ]  # fmt: skip
    for value in (0.9, 0.5):
        folder = out / f"train.failout.survival={value}"
        assert f"survival: {value}" in (folder / "config.yaml").read_text()
        own = pd.read_csv(folder / "tables" / "weighted_accuracy.csv")
        rows = combined[combined["train.failout.survival"] == value].drop(
            columns="train.failout.survival"
        )
        pd.testing.assert_frame_equal(rows.reset_index(drop=True), own)
    assert (out / "tables" / "multirun.md").read_text().startswith("| variant")
    assert f"Multirun: {out / 'tables' / 'multirun.csv'}" in result.stdout
    sessions = sorted(p.name for p in (out / "tensorboard").iterdir() if p.is_dir())
    assert sessions == [f"train.failout.survival={value}" for value in (0.5, 0.9)]  # HParams


@pytest.mark.parametrize(
    ("sent", "status", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "stopped by SIGTERM")],
)
def test_ctrl_c_or_sigterm_stops_within_seconds_and_a_rerun_resumes(
    tmp_path: Path, clean: Path, sent: int, status: int, said: str
) -> None:
    """SIGTERM is what Slurm, Kubernetes and spot preemption send: handled as Ctrl-C."""
    out = tmp_path / "run"
    process = start_until_first_unit(out, stderr=subprocess.PIPE)
    process.send_signal(sent)
    at = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - at < 20
    assert process.returncode == status
    assert "Traceback" not in stderr
    assert f"\n{said}: " in stderr and "  done vanilla/iter-1" in stderr
    assert "resume with the same command; finished units are kept: resilinet run " in stderr
    resumed = invoke(*command(out))
    assert resumed.exit_code == 0 and "skip vanilla/iter-1: already finished" in resumed.stdout
    assert_same_tables(out, clean)


def test_a_full_disk_stops_the_run_with_one_line_and_a_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC when the second unit's files are renamed into place (a full disk, simulated at
    the one call every result file goes through)."""
    import errno

    from resilinet_cli import atomic

    real_replace = os.replace

    def full_disk(source, target) -> None:
        if "resilinet" in str(target) and "iter-1" in str(target):
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        real_replace(source, target)

    out = tmp_path / "run"
    monkeypatch.setattr(atomic.os, "replace", full_disk)
    result = CliRunner().invoke(main, command(out, "--iterations", "1"))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1  # the rest of stderr is the first unit's progress bar
    assert errors[0].startswith(f"error: cannot write {out / 'runs' / 'resilinet' / 'iter-1'}")
    assert "No space left on device; the disk is full; free space" in errors[0]
    assert [p for p in out.rglob("*") if ".tmp" in p.name] == []
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    resumed = invoke(*command(out, "--iterations", "1"))
    assert resumed.exit_code == 0 and "skip vanilla/iter-1: already finished" in resumed.stdout


def test_an_output_folder_that_cannot_be_created_gives_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(main, command(blocker / "run", "--iterations", "1"))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: cannot write {blocker}")


def test_a_read_only_file_system_gives_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """EROFS on the first result file, simulated where every result file goes through."""
    import errno

    from resilinet_cli import atomic

    def read_only(source, target) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(target))

    monkeypatch.setattr(atomic.os, "replace", read_only)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, command(out, "--iterations", "1"))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr == (
        f"error: cannot write {out / 'config.yaml'}: Read-only file system; "
        "the file system is read-only; choose another --out\n"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through folder permissions")
def test_a_folder_without_write_permission_gives_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    result = CliRunner().invoke(main, command(locked / "run", "--iterations", "1"))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: cannot write {locked / 'run'}")
    assert result.stderr.count("\n") == 1
