"""Committed references: marked, read and compared, never written by the tool.

Every git-tracked folder under results/ is a reference and carries the marker; a run aimed at
one runs into a fresh folder (or, named with --out, is refused in one line with the --out to
use); ``report`` rebuilds a copy; units whose models are not committed say so instead of
calling them missing; every file a reference keeps is checksummed in its unit's record.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from paths import CONFIGS, ROOT
from run_helpers import smoke_command

from resilinet_cli.cli import main
from resilinet_cli.results import integrity, layout, references


def tracked_reference_folders() -> list[Path]:
    """Top-level folders under results/ with git-tracked files: the committed references."""
    listed = subprocess.run(
        ["git", "ls-files", "results"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return sorted(
        {ROOT / "results" / Path(name).parts[1] for name in listed if name.count("/") > 1}
    )


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_every_committed_folder_under_results_carries_the_marker() -> None:
    folders = tracked_reference_folders()
    assert {folder.name for folder in folders} >= {"quick", "claims"}
    for folder in folders:
        marker = folder / layout.REFERENCE
        assert marker.is_file(), f"{folder} is committed but has no {layout.REFERENCE}"
        command = references.regenerate_command(folder)
        assert command and (command.startswith("resilinet ") or command.startswith("make "))


def test_every_committed_unit_checksums_the_files_it_keeps() -> None:
    """...and lists the model and logs as not committed; every listed file is there, whole."""
    records = [p for f in tracked_reference_folders() for p in f.glob("**/iter-*/run.json")]
    assert len(records) > 300
    for path in records:
        record = json.loads(path.read_text())
        assert record["not_committed"] == ["model.keras", "tensorboard"], path
        assert {"combinations.csv", "history.csv"} <= set(record["files"]), path
        assert integrity.check_files(path.parent, record) is None, path
        assert not (path.parent / "model.keras").exists()


def test_a_run_whose_folder_is_a_reference_runs_into_a_fresh_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    reference = tmp_path / "results" / "quickstart"
    reference.mkdir(parents=True)
    (reference / layout.REFERENCE).write_text("Regenerate: `resilinet run x.yaml`\n")
    args = [*smoke_command(Path("unused"), "--dry-run")]
    args = args[: args.index("--out")] + args[args.index("--out") + 2 :]  # the default folder
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "units to train in reproduced/quickstart" in result.stdout
    assert list(reference.iterdir()) == [reference / layout.REFERENCE]


def test_a_reference_named_with_out_is_refused_in_one_line(tmp_path: Path) -> None:
    reference = tmp_path / "ref"
    reference.mkdir()
    (reference / layout.REFERENCE).write_text("Regenerate: `resilinet run x.yaml`\n")
    result = invoke(*smoke_command(reference / "inner", "--dry-run"))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "never writes into" in result.stderr
    assert "--out reproduced/ref/inner" in result.stderr
    assert not (reference / "inner").exists()


def test_report_refuses_a_reference_and_rebuilds_a_copy(tmp_path: Path) -> None:
    reference = ROOT / "results" / "quick" / "quickstart"
    refused = invoke("report", str(reference))
    assert refused.exit_code == 2 and "--out NEW_FOLDER" in refused.stderr
    copy = tmp_path / "pages"
    built = invoke("report", str(reference), "--out", str(copy))
    assert built.exit_code == 0, built.output
    assert (copy / "REPORT.md").is_file() and not (copy / layout.REFERENCE).exists()
    for table in ("weighted_accuracy.csv", "combinations.csv", "paired.csv"):
        new, old = copy / "tables" / table, reference / "tables" / table
        assert new.read_bytes() == old.read_bytes(), table


def test_a_reference_unit_says_its_model_is_not_committed(tmp_path: Path) -> None:
    unit = ROOT / "results" / "quick" / "quickstart" / "runs" / "resilinet" / "iter-1"
    for args in (["evaluate", str(unit)], ["deploy", str(unit), "--state", str(tmp_path / "s")]):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1
        assert "model.keras is not committed" in result.stderr
        assert "train it again with: resilinet run" in result.stderr


def test_evaluate_with_a_failure_model_prints_but_does_not_write_into_a_reference() -> None:
    run = ROOT / "results" / "quick" / "quickstart"
    shared_rack = CONFIGS / "failure_models" / "shared_rack.yaml"
    result = invoke("evaluate", str(run), "--failure-model", str(shared_rack))
    assert result.exit_code == 0, result.output
    assert "not written" in result.stderr
    assert not (run / "tables" / "weighted_accuracy_shared_rack.csv").exists()


def test_promote_makes_a_folder_a_checksummed_reference(smoke_serial: Path, tmp_path: Path):
    reference = tmp_path / "results" / "smoke"
    references.promote(smoke_serial, reference, "resilinet run configs/quickstart.yaml")
    assert references.regenerate_command(reference) == "resilinet run configs/quickstart.yaml"
    units = sorted(reference.glob("runs/*/iter-*"))
    assert len(units) == 4
    for unit in units:
        assert not (unit / "model.keras").exists() and not (unit / "tensorboard").exists()
        record = json.loads((unit / "run.json").read_text())
        assert record["not_committed"] == ["model.keras", "tensorboard"]
        assert "model.keras" in record["files"]  # the model it was made with, by checksum
        assert integrity.check_files(unit, record) is None
    assert (reference / "tables" / "weighted_accuracy.csv").read_bytes() == (
        smoke_serial / "tables" / "weighted_accuracy.csv"
    ).read_bytes()
    assert not list(reference.parent.glob(".smoke.*"))  # no staging folder left


def test_promote_refuses_a_file_that_differs_from_its_record(smoke_serial: Path, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(smoke_serial, source)
    (source / "runs" / "vanilla" / "iter-1" / "history.csv").write_text("epoch\n1\n")
    with pytest.raises(Exception, match="differs from its record"):
        references.promote(source, tmp_path / "reference", "resilinet run x.yaml")
    assert not (tmp_path / "reference").exists()
