"""`evaluate` and `report` on results as committed: tables and per-unit CSV/JSON, no models.

A tiny profile is reproduced once; each test copies its folder and deletes what a commit leaves
out (every ``model.keras``, see .gitignore) or what ``report`` must rebuild.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from paths import CONFIGS
from run_helpers import as_yaml_list, tiny_sets

from resilinet_cli.cli import main
from resilinet_cli.results.layout import PROFILE_RECORD

TINY = as_yaml_list(tiny_sets("iterations=1"))
EXPERIMENTS = ["quickstart", "digits_skip_sensitivity"]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def profile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reproduced profile: two tiny experiments and one whose data is missing."""
    root = tmp_path_factory.mktemp("profile")
    profile = root / "configs" / "profiles" / "tiny.yaml"
    profile.parent.mkdir(parents=True)
    profile.write_text(
        "description: A tiny profile for the tests.\n"
        "experiments:\n"
        f"  - config: {CONFIGS / 'quickstart.yaml'}\n"
        f"    set: {TINY[:-1]}, 'variants=[vanilla,resilinet]']\n"
        f"  - config: {CONFIGS / 'ablations' / 'digits_skip_sensitivity.yaml'}\n"
        f"    set: {TINY[:-1]}, 'topology.skips=[[edge,fog1]]']\n"
        f"  - config: {CONFIGS / 'health.yaml'}\n    set: [dataset.download=false]\n"
    )
    out = root / "out"
    code, _, stderr = invoke("reproduce", "--profile", str(profile), "--out", str(out))
    assert code == 0, stderr
    return out


def as_committed(source: Path, target: Path) -> Path:
    """A copy of ``source`` without its models and logs, as a clone of the repository has it:
    each unit's record lists them as not committed (scripts/promote_reference.py), but the copy
    carries no marker, so that ``report`` may rebuild it."""
    shutil.copytree(source, target)
    for model in target.glob("**/model.keras"):
        model.unlink()
    for logs in target.glob("**/tensorboard"):
        shutil.rmtree(logs)
    for path in target.glob("**/iter-*/run.json"):
        record = json.loads(path.read_text())
        record["not_committed"] = ["model.keras", "tensorboard"]
        path.write_text(json.dumps(record))
    return target


def test_report_rebuilds_a_profile_page_and_every_experiment(
    profile_dir: Path, tmp_path: Path
) -> None:
    out = as_committed(profile_dir, tmp_path / "out")
    page = (out / "REPORT.md").read_text()
    tables: dict[str, bytes] = {}
    for name in EXPERIMENTS:
        folder = out / name
        tables[name] = (folder / "tables" / "weighted_accuracy.csv").read_bytes()
        for built in ("tables", "figures"):
            shutil.rmtree(folder / built)
        (folder / "REPORT.md").unlink()
    (out / "REPORT.md").unlink()

    code, stdout, stderr = invoke("report", str(out))
    assert code == 0, stderr
    assert stdout.splitlines() == [
        f"quickstart: {out / 'quickstart' / 'REPORT.md'}",
        f"digits_skip_sensitivity: {out / 'digits_skip_sensitivity' / 'REPORT.md'}",
        f"Report: {out / 'REPORT.md'} (2 experiments)",
    ]
    # The same page as `reproduce` wrote, byte for byte, with what did not run kept.
    assert (out / "REPORT.md").read_text() == page
    assert "**health**: data missing" in page and "# resilinet: tiny profile" in page
    for name in EXPERIMENTS:
        folder = out / name
        assert (folder / "tables" / "weighted_accuracy.csv").read_bytes() == tables[name]
        assert (folder / "REPORT.md").is_file() and list((folder / "figures").glob("*.png"))
    skips = pd.read_csv(out / "digits_skip_sensitivity" / "tables" / "weighted_accuracy.csv")
    assert list(dict.fromkeys(skips["skip_config"])) == ["none", "edge→fog1"]


def test_report_rebuilds_an_older_profile_folder_by_its_name(
    profile_dir: Path, tmp_path: Path
) -> None:
    """A folder written before profile.json existed (results/quick) is read as its profile."""
    out = as_committed(profile_dir, tmp_path / "quick")
    (out / PROFILE_RECORD).unlink()
    code, stdout, stderr = invoke("report", str(out))
    assert code == 0, stderr
    assert stdout.splitlines()[-1] == f"Report: {out / 'REPORT.md'} (2 experiments)"
    page = (out / "REPORT.md").read_text()
    assert page.startswith("# resilinet: quick profile\n")
    assert "The paper's experiment types on offline stand-ins" in page  # quick.yaml's text
    # The quick profile's order, and its experiments that have no folder here are listed.
    first = page.index("## Health topology on scikit-learn digits, all four variants")
    assert first < page.index("## Health topology on scikit-learn digits (offline stand-in)")
    assert f"- **fashion_resnet_merge**: skipped; no results folder in {out}." in page
    assert (out / PROFILE_RECORD).is_file()  # the next rebuild reads the record


def test_report_on_a_folder_that_is_neither_a_run_nor_a_profile(tmp_path: Path) -> None:
    code, _, stderr = invoke("report", str(tmp_path))
    assert code == 2
    assert stderr == (
        f"error: {tmp_path}: no config.yaml, so not a run folder, and no experiment folders in it\n"
    )


def test_evaluate_without_models_says_they_are_not_committed_and_how_to_retrain(
    profile_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = as_committed(profile_dir, tmp_path / "committed")
    run = out / "quickstart"
    code, stdout, stderr = invoke("evaluate", str(run))
    command = f"resilinet run {run / 'config.yaml'} --out results/quickstart"
    assert (code, stdout) == (2, "")
    assert stderr == (
        f"error: {run}: 2 finished units but no model.keras: models are not committed with the "
        f"results (only their tables, CSV and JSON files); train them again with: {command}\n"
    )
    unit = run / "runs" / "resilinet" / "iter-1"
    code, _, stderr = invoke("evaluate", str(unit))
    assert code == 2
    assert stderr.endswith(f"{command} --variants resilinet --iterations 1..1\n")
    code, _, stderr = invoke("evaluate", str(out))
    assert code == 2
    assert stderr == (
        f"error: {out}: a folder of 2 experiments (digits_skip_sensitivity, quickstart), "
        f"not one run; evaluate one of them, e.g. resilinet evaluate "
        f"{out / 'digits_skip_sensitivity'}\n"
    )

    # The command it gives trains the models again: the same units, the same numbers.
    monkeypatch.chdir(tmp_path)
    code, _, stderr = invoke(*shlex.split(command)[1:])
    assert code == 0, stderr
    retrained = tmp_path / "results" / "quickstart"
    for variant in ("vanilla", "resilinet"):
        folder = Path("runs") / variant / "iter-1"
        assert (retrained / folder / "model.keras").is_file()
        assert (retrained / folder / "combinations.csv").read_bytes() == (
            run / folder / "combinations.csv"
        ).read_bytes()
    code, stdout, stderr = invoke("evaluate", "results/quickstart", "--reliability", "hazardous")
    assert code == 0, stderr
    assert "Weighted accuracy in % of each model:" in stdout
