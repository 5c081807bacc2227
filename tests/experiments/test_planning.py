"""One planner: `run --dry-run` says what `run` does, a run with nothing to do changes no file,
`-m` trains a unit shared by several values once, and a folder of another config names the
keys that differ."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from paths import CONFIGS
from run_helpers import TINY, smoke_command

from resilinet_cli.cli import main


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def files_and_times(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_dry_run_says_what_the_run_does(tmp_path: Path) -> None:
    """The audit's case: vanilla has no failout, so its seven failout levels are one training."""
    out = tmp_path / "failout"
    args = ["run", str(CONFIGS / "ablations" / "digits_failout_rate.yaml"), "--out", str(out),
            "--set", "variants=[vanilla]", "--set", "iterations=1", *TINY]  # fmt: skip
    planned = invoke(*args, "--dry-run")
    assert planned.exit_code == 0, planned.output
    lines = planned.stdout.splitlines()
    assert lines[-1] == f"1 of 7 units to train in {out}, 6 copied"
    first = "failout_survival=0.95/vanilla/iter-1"
    assert lines[0] == f"todo  {first}"
    trained = out / "runs" / first
    assert all(line.endswith(f"(from {trained}, trained in this run)") for line in lines[1:7])
    as_json = json.loads(invoke(*args, "--dry-run", "--json").stdout)
    assert as_json["counts"] == {"todo": 1, "done": 0, "copy": 6, "total": 7}
    assert not out.exists()  # a dry run writes nothing

    ran = invoke(*args)
    assert ran.exit_code == 0, ran.output
    assert ran.stdout.count(": training (seed 0)") == 1
    assert ran.stdout.count(f"same training as {out / 'runs' / first}, copied") == 6
    again = invoke(*args, "--dry-run")
    assert again.stdout.splitlines()[-1] == f"0 of 7 units to train in {out}"


def test_a_run_with_nothing_to_do_changes_no_file(smoke_serial: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(smoke_serial, run)
    first = invoke(*smoke_command(run))  # the first rerun may rebuild what was copied
    assert first.exit_code == 0, first.output
    before = files_and_times(run)
    again = invoke(*smoke_command(run))
    assert again.exit_code == 0, again.output
    assert "already finished" in again.stdout
    assert files_and_times(run) == before
    # report too, and a changed input redraws only what shows it
    assert invoke("report", str(run)).exit_code == 0
    assert files_and_times(run) == before
    assert invoke("report", str(run), "--zoom").exit_code == 0
    after = files_and_times(run)
    figure = "figures/weighted_accuracy.png"
    assert after[figure][1] != before[figure][1]  # zoomed: drawn again
    assert after["tables/weighted_accuracy.csv"] == before["tables/weighted_accuracy.csv"]


def test_figures_carry_no_date_or_producer(smoke_serial: Path) -> None:
    pdfs = sorted((smoke_serial / "figures").glob("*.pdf"))
    assert pdfs
    for pdf in pdfs:
        data = pdf.read_bytes()
        assert b"/CreationDate" not in data and b"/Producer" not in data, pdf
        assert b"matplotlib" not in data.lower(), pdf
    for png in (smoke_serial / "figures").glob("*.png"):
        assert b"matplotlib" not in png.read_bytes().lower(), png


def test_a_multirun_trains_a_shared_unit_once_and_reports_its_values(tmp_path: Path) -> None:
    out = tmp_path / "multirun"
    args = ["run", str(CONFIGS / "quickstart.yaml"), "-m", "train.failout.survival=0.9,0.7",
            "--variants", "resilinet,vanilla", "--out", str(out), "--set", "iterations=1",
            *TINY]  # fmt: skip
    planned = invoke(*args, "--dry-run")
    assert planned.exit_code == 0, planned.output
    assert "todo  vanilla/iter-1" in planned.stdout
    trained = out / "train.failout.survival=0.9" / "runs" / "vanilla" / "iter-1"
    assert f"copy  vanilla/iter-1  (from {trained}, trained in this run)" in planned.stdout
    ran = invoke(*args)
    assert ran.exit_code == 0, ran.output
    assert ran.stdout.count("vanilla/iter-1: training") == 1  # failout changes not vanilla
    assert ran.stdout.count("resilinet/iter-1: training") == 2
    first, second = out / "train.failout.survival=0.9", out / "train.failout.survival=0.7"
    for name in ("combinations.csv", "history.csv"):
        unit = Path("runs") / "vanilla" / "iter-1" / name
        assert (first / unit).read_bytes() == (second / unit).read_bytes()
    table = pd.read_csv(out / "tables" / "multirun.csv")
    assert sorted(set(table["train.failout.survival"])) == [0.7, 0.9]
    page = (out / "REPORT.md").read_text()
    assert "![multirun](figures/multirun.png)" in page
    assert "(train.failout.survival=0.9/REPORT.md)" in page
    figures = out / "figures"
    assert (figures / "multirun.png").is_file() and (figures / "multirun.pdf").is_file()


def test_a_folder_of_another_config_names_the_keys_that_differ(tmp_path: Path) -> None:
    from resilinet_cli.config import load_config
    from resilinet_cli.errors import RunError
    from resilinet_cli.results import runs

    out = tmp_path / "run"
    old = load_config(CONFIGS / "quickstart.yaml", ["train.epochs=5", "iterations=3"])
    runs.prepare_run_folder(out, old)
    runs.write_record(out, old, status="done", started="", seeds={})
    new = load_config(CONFIGS / "quickstart.yaml", ["train.epochs=7", "stats.correction=bh"])
    with pytest.raises(RunError) as raised:
        runs.check_run_folder(out, new)
    message = str(raised.value)
    assert "(iterations: 3 there, 2 here; train.epochs: 5 there, 7 here);" in message
    assert "stats" not in message and "hash" not in message  # stats only report


def test_compare_says_in_which_keys_two_configs_differ(smoke_serial: Path, tmp_path: Path):
    from resilinet_cli.config import load_config

    other = tmp_path / "other"
    shutil.copytree(smoke_serial, other)
    config = other / "config.yaml"
    text = config.read_text()
    config.write_text(text.replace("description: ", "description: another ", 1))
    assert load_config(config).description.startswith("another")
    result = invoke("compare", str(other), str(smoke_serial))
    assert result.exit_code == 0, result.output
    assert "the two runs' configs differ: description: 'another " in result.stdout


def test_smoke_validates_the_file_as_written(tmp_path: Path) -> None:
    path = tmp_path / "ten.yaml"
    path.write_text(f"base: {CONFIGS / 'quickstart.yaml'}\ntrain:\n  epochs: ten\n")
    for extra in ([], ["--smoke"]):
        result = invoke("run", str(path), *extra, "--dry-run")
        assert result.exit_code == 2
        assert result.stderr == (
            "error: ten.yaml: train.epochs: Input should be a valid integer, unable to parse "
            "string as an integer\n"
        )
    fixed = invoke("run", str(path), "--smoke", "train.epochs=2", "--dry-run")  # the user's fix
    assert fixed.exit_code == 0, fixed.output


def test_an_older_folder_without_checksums_is_read_and_gets_them_when_written(
    smoke_serial: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(smoke_serial, run)
    records = sorted(run.glob("runs/*/iter-*/run.json"))
    for path in records:
        record = json.loads(path.read_text())
        del record["files"]
        path.write_text(json.dumps(record))
    assert invoke("report", str(run)).exit_code == 0  # readable as it is
    assert all("files" not in json.loads(p.read_text()) for p in records)
    (run / "runs" / "vanilla" / "iter-2" / "run.json").unlink()  # one unit to train again
    result = invoke(*smoke_command(run))
    assert result.exit_code == 0, result.output
    for path in records:
        assert set(json.loads(path.read_text())["files"]) >= {"model.keras", "history.csv"}, path
