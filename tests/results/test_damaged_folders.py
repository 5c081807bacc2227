"""A damaged results folder is an error that names the file, never a number.

Each case damages one unit of a copy of the four-unit smoke run (vanilla and resilinet, two
iterations) in one way; then every reader is asked about it. ``report``, ``evaluate``,
``compare``, ``reproduce`` and ``deploy`` answer with one line that names the damaged file and
what to do, exit 2, and write nothing; ``run`` trains the damaged unit again, says so, and
ends with the files of a run that was never damaged, byte for byte.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from paths import CONFIGS
from run_helpers import smoke_command

from resilinet_cli.cli import main

UNIT = Path("runs") / "vanilla" / "iter-1"


def truncate_combinations(unit: Path) -> Path:
    path = unit / "combinations.csv"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:3]))  # 2 of 8 rows
    return path


def invalidate_record(unit: Path) -> Path:
    path = unit / "run.json"
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    return path


def delete_history(unit: Path) -> Path:
    path = unit / "history.csv"
    path.unlink()
    return path


def edit_model(unit: Path) -> Path:
    path = unit / "model.keras"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    path.write_bytes(bytes(data))
    return path


DAMAGES: dict[str, Callable[[Path], Path]] = {
    "truncated combinations": truncate_combinations,
    "invalid run.json": invalidate_record,
    "missing file": delete_history,
    "edited model": edit_model,
}
PROBLEMS = {
    "truncated combinations": "is truncated",
    "invalid run.json": "is not valid JSON",
    "missing file": "is missing",
    "edited model": "has been edited",
}


@pytest.fixture(params=list(DAMAGES))
def damaged(request, smoke_serial: Path, tmp_path: Path) -> tuple[Path, Path, str]:
    """(a damaged copy of the smoke run, the damaged file, what the error must say)."""
    run = tmp_path / "run"
    shutil.copytree(smoke_serial, run)
    path = DAMAGES[request.param](run / UNIT)
    return run, path, PROBLEMS[request.param]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_one_line(result: Result, path: Path, problem: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{path}: {problem}" in result.stderr, result.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_report_names_the_damaged_file_and_writes_nothing(damaged) -> None:
    run, path, problem = damaged
    before = snapshot(run)
    result = invoke("report", str(run))
    assert_one_line(result, path, problem)
    assert f"train it again with: resilinet run {run / 'config.yaml'} --out {run}" in result.stderr
    assert snapshot(run) == before


def test_evaluate_names_the_damaged_file(damaged) -> None:
    run, path, problem = damaged
    assert_one_line(invoke("evaluate", str(run), "--failures", "all"), path, problem)
    shared_rack = CONFIGS / "failure_models" / "shared_rack.yaml"
    rescored = invoke("evaluate", str(run), "--failure-model", str(shared_rack))
    assert_one_line(rescored, path, problem)


def test_compare_names_the_damaged_file_on_either_side(damaged, smoke_serial: Path) -> None:
    run, path, problem = damaged
    assert_one_line(invoke("compare", str(run), str(smoke_serial)), path, problem)
    assert_one_line(invoke("compare", str(smoke_serial), str(run)), path, problem)
    assert not (run / "comparison.csv").exists()


def test_deploy_names_the_damaged_file_and_starts_nothing(damaged, tmp_path: Path) -> None:
    run, path, problem = damaged
    state = tmp_path / "state"
    assert_one_line(invoke("deploy", str(run / UNIT), "--state", str(state)), path, problem)
    assert not state.exists()


def test_run_trains_the_damaged_unit_again_saying_so(damaged, smoke_serial: Path) -> None:
    run, path, problem = damaged
    planned = invoke(*smoke_command(run, "--dry-run"))
    assert planned.exit_code == 0, planned.output
    assert f"todo  vanilla/iter-1  [{path}: {problem}" in planned.stdout
    assert "1 of 4 units to train" in planned.stdout

    result = invoke(*smoke_command(run))
    assert result.exit_code == 0, result.output
    assert f"vanilla/iter-1: {path}: {problem}" in result.stdout  # said before it trains
    assert "[1/1] vanilla/iter-1: training (seed 0)" in result.stdout
    for name in ("combinations.csv", "history.csv"):
        assert (run / UNIT / name).read_bytes() == (smoke_serial / UNIT / name).read_bytes()
    for table in ("weighted_accuracy.csv", "combinations.csv"):
        new, old = run / "tables" / table, smoke_serial / "tables" / table
        assert new.read_bytes() == old.read_bytes(), table
    record = json.loads((run / UNIT / "run.json").read_text())
    assert set(record["files"]) >= {"model.keras", "history.csv", "combinations.csv"}


@pytest.fixture(scope="module")
def smoke_reproduced(tmp_path_factory) -> Path:
    """The smoke profile (two experiments of the smoke run's units), reproduced once."""
    from run_helpers import smoke_profile

    root = tmp_path_factory.mktemp("smoke-profile")
    out = root / "out"
    args = ["reproduce", "--profile", str(smoke_profile(root)), "--out", str(out)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_reproduce_refuses_a_damaged_reference_and_retrains_a_damaged_unit(
    damage: str, smoke_reproduced: Path, tmp_path: Path
) -> None:
    profile = smoke_reproduced.parent / "configs" / "profiles" / "smoke.yaml"
    out, reference = tmp_path / "out", tmp_path / "reference"
    shutil.copytree(smoke_reproduced, out)
    shutil.copytree(smoke_reproduced, reference)
    path = DAMAGES[damage](reference / "quickstart" / UNIT)
    args = ["reproduce", "--profile", str(profile), "--out", str(out)]
    assert_one_line(invoke(*args, "--reference", str(reference)), path, PROBLEMS[damage])

    path = DAMAGES[damage](out / "again" / UNIT)
    result = invoke(*args, "--reference", str(smoke_reproduced))
    assert result.exit_code == 0, result.output
    assert f"again/vanilla/iter-1: {path}: {PROBLEMS[damage]}" in result.stdout
    assert "0 flagged" in result.stdout  # and it compares equal with the reference again
