"""``--tracker mlflow`` with MLflow 3's conventions: the default store is the embedded database
``sqlite:///mlflow.db`` in the working folder, which ``mlflow.search_runs()`` there opens with no
environment variable; an older ``./mlruns`` file store gets one line on how to migrate it; a
``--smoke`` run logs to an experiment of its own. A real MLflow store throughout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import CONFIGS
from run_helpers import UNITS, smoke_command

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.results.tracking import experiment_name, old_file_store

# MLflow 3.18's sqlite store asks SQLAlchemy 2.1 for a loader strategy it deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
COUNT_RUNS = (
    "import mlflow; print(mlflow.get_tracking_uri()); "
    "print(len(mlflow.search_runs(experiment_names=['quickstart'])))"
)


def log_in(folder: Path, run: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``resilinet run --tracker mlflow`` on the finished ``run`` from ``folder``; its stdout."""
    monkeypatch.chdir(folder)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = CliRunner().invoke(main, smoke_command(run, "--tracker", "mlflow"))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_default_store_is_mlflow_db_that_mlflow_finds_with_no_variable(
    smoke_serial: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    shutil.copytree(smoke_serial, run)
    stdout = log_in(tmp_path, run, monkeypatch)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert (tmp_path / "mlflow.db").is_file() and not (tmp_path / "mlruns").exists()
    assert list((tmp_path / "mlartifacts" / "quickstart").glob("*/artifacts/REPORT.md"))
    said = [line for line in stdout.splitlines() if line.startswith("MLflow:")]
    assert said == [
        f"MLflow: {len(UNITS)} new unit run(s) and the report logged to experiment "
        f"'quickstart' in {uri} (`mlflow ui` there shows them)"
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    found = subprocess.run([sys.executable, "-c", COUNT_RUNS], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    assert found.stdout.split() == [uri, str(len(UNITS) + 1)]  # MLflow 3 resolves its default


def test_an_old_file_store_gets_one_line_pointing_at_migrate_filestore(
    smoke_serial: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    old = MlflowClient((tmp_path / "mlruns").as_uri())  # what MLflow 2 left in ./mlruns
    old.create_run(old.create_experiment("quickstart"))
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    before = [p.name for p in (tmp_path / "mlruns").iterdir()]
    run = tmp_path / "run"
    shutil.copytree(smoke_serial, run)
    stdout = log_in(tmp_path, run, monkeypatch)
    old_uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    [line] = [line for line in stdout.splitlines() if "migrate-filestore" in line]
    assert line.endswith(f"mlflow migrate-filestore --source {tmp_path / 'mlruns'} --target "
                         f"{old_uri}, then mlflow ui --backend-store-uri {old_uri}")  # fmt: skip
    assert old_file_store(tmp_path) == tmp_path / "mlruns"  # left as it was: nothing added
    assert sorted(p.name for p in (tmp_path / "mlruns").iterdir()) == sorted(before)
    mlflow = Path(sys.executable).parent / "mlflow"  # the line's command works as printed
    subprocess.run([str(mlflow), "migrate-filestore", "--source", str(tmp_path / "mlruns"),
                    "--target", old_uri], check=True, capture_output=True, timeout=120)  # fmt: skip
    old = MlflowClient(old_uri)
    assert old.get_experiment_by_name("quickstart") is not None


def test_a_smoke_run_logs_to_an_experiment_of_its_own() -> None:
    config = CONFIGS / "quickstart.yaml"
    assert experiment_name(load_config(config)) == "quickstart"
    assert experiment_name(load_config(config, smoke=True)) == "quickstart-smoke"
