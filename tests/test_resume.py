"""Resume and sweeps: kill -9 loses at most one unit, --dry-run, keep-going, Hydra-style --set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import CONFIGS

from resilinet_cli import experiment
from resilinet_cli.cli import main

SETS = [
    "train.epochs=1",
    "dataset.subset.train=300",
    "dataset.subset.val=100",
    "dataset.subset.test=100",
    "iterations=2",
]


def command(out: Path, *extra: str) -> list[str]:
    args = [
        "run",
        str(CONFIGS / "quickstart.yaml"),
        "--out",
        str(out),
        "--variants",
        "vanilla,resilinet",
    ]
    for override in SETS:
        args += ["--set", override]
    return [*args, *extra]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_kill_9_after_the_first_unit_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "resilinet_cli", *command(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    first = killed / "runs" / "vanilla" / "iter-1" / "run.json"
    deadline = time.monotonic() + 240
    while not (first.is_file() and '"done"' in first.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, "the run ended too early"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "tables").exists() or process.returncode == -signal.SIGKILL
    resumed = invoke(*command(killed))
    assert resumed.exit_code == 0 and "skip vanilla/iter-1: already finished" in resumed.stdout
    assert invoke(*command(clean)).exit_code == 0
    for table in ("weighted_accuracy.csv", "combinations.csv"):
        assert (killed / "tables" / table).read_bytes() == (clean / "tables" / table).read_bytes()
    leftovers = [p for p in killed.rglob("*") if ".tmp" in p.name]
    assert leftovers == []


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
    assert (out / "runs" / "resilinet" / "iter-1" / "model.keras").is_file()
    assert '"failed"' in (out / "runs" / "vanilla" / "iter-1" / "run.json").read_text()
    with pytest.raises(RuntimeError, match="disk on fire"):
        CliRunner().invoke(
            main,
            command(tmp_path / "fast", "--iterations", "1", "--fail-fast"),
            catch_exceptions=False,
        )
    assert not (tmp_path / "fast" / "runs" / "resilinet").exists()


def test_set_with_several_values_runs_one_folder_per_value(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = invoke(
        *command(out, "--iterations", "1", "--set", "train.failout.survival=0.9,0.5",
                 "--variants", "resilinet")
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    for value in ("0.9", "0.5"):
        folder = out / f"train.failout.survival={value}"
        assert (folder / "tables" / "weighted_accuracy.csv").is_file()
        assert f"survival: {value}" in (folder / "config.yaml").read_text()
