"""Experiment tracking: TensorBoard logs of every unit by default, MLflow runs on request.

The real engines: TensorBoard's own event reader and server, and MLflow's file store queried
back through MLflow's API.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from run_helpers import UNITS, smoke_command

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.sweeps.sweep import weighted_accuracy
from resilinet_cli.topology import Topology
from resilinet_cli.variants import variant_topology

SETTINGS = ["no_failure", "normal", "poor", "hazardous"]


def expected_weighted(run: Path, unit: str) -> dict[str, float]:
    config = load_config(run / "config.yaml")
    variant = unit.split("/")[0]
    topology = variant_topology(Topology.from_config(config.topology), variant)
    table = pd.read_csv(run / "runs" / unit / "combinations.csv")
    return {s: weighted_accuracy(table, topology, r) for s, r in topology.reliability.items()}


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of one TensorBoard log folder, read with TensorBoard's own reader."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return {
        tag: [
            (event.step, float(tf.make_ndarray(event.tensor_proto)))
            for event in events.Tensors(tag)
        ]
        for tag in events.Tags()["tensors"]
    }


def test_every_unit_logs_its_epochs_and_weighted_accuracy(smoke_serial: Path) -> None:
    for unit in UNITS:
        logs = smoke_serial / "runs" / unit / "tensorboard"
        history = pd.read_csv(smoke_serial / "runs" / unit / "history.csv")
        train, validation = scalars(logs / "train"), scalars(logs / "validation")
        assert [value for _, value in train["epoch_accuracy"]] == pytest.approx(
            list(history["accuracy"]), abs=1e-6
        )
        assert [value for _, value in validation["epoch_accuracy"]] == pytest.approx(
            list(history["val_accuracy"]), abs=1e-6
        )
        test = scalars(logs / "test")
        expected = expected_weighted(smoke_serial, unit)
        assert sorted(test) == sorted(f"weighted_accuracy/{s}" for s in SETTINGS)
        for setting in SETTINGS:
            [(step, value)] = test[f"weighted_accuracy/{setting}"]
            assert step == len(history)
            assert value == pytest.approx(expected[setting], abs=1e-6)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_tensorboard_serves_every_unit_of_a_run(smoke_serial: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(smoke_serial),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline, served = time.monotonic() + 90, []
        while time.monotonic() < deadline and len(served) < 3 * len(UNITS):
            time.sleep(1)
            try:
                url = f"http://127.0.0.1:{port}/data/runs"
                with urllib.request.urlopen(url, timeout=5) as response:
                    served = json.loads(response.read())
            except OSError:
                continue
        expected = [
            f"runs/{u}/tensorboard/{part}"
            for u in UNITS
            for part in ("test", "train", "validation")
        ]
        assert sorted(served) == sorted(expected)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_mlflow_logs_each_unit_and_the_report(
    smoke_serial: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--tracker mlflow` on a finished run: nothing trains, every unit is logged once."""
    import mlflow
    from mlflow.tracking import MlflowClient

    run = tmp_path / "run"
    shutil.copytree(smoke_serial, run)
    store = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    for _ in range(2):  # a rerun adds nothing
        result = CliRunner().invoke(main, smoke_command(run, "--tracker", "mlflow"))
        assert result.exit_code == 0, result.output

    mlflow.set_tracking_uri(store)
    found = mlflow.search_runs(experiment_names=["quickstart"])
    assert sorted(found["tags.mlflow.runName"]) == sorted([*UNITS, "report"])
    units = found[found["tags.mlflow.runName"] != "report"].set_index("tags.mlflow.runName")
    for unit in UNITS:
        row = units.loc[unit]
        record = json.loads((run / "runs" / unit / "run.json").read_text())
        assert row["tags.seed"] == str(record["seeds"]["global"])
        assert row["tags.git_commit"] == record["git"]["commit"]
        assert row["params.train.epochs"] == "1"
        assert row["params.topology.failable"] == '["fog1", "fog2", "edge"]'
        for setting, value in expected_weighted(run, unit).items():
            assert row[f"metrics.weighted_accuracy.{setting}"] == pytest.approx(value)
        history = pd.read_csv(run / "runs" / unit / "history.csv")
        assert row["metrics.val_accuracy"] == pytest.approx(history["val_accuracy"].iloc[-1])
    client = MlflowClient(store)
    report = found[found["tags.mlflow.runName"] == "report"]["run_id"].iloc[0]
    artifacts = {item.path for item in client.list_artifacts(report)}
    assert artifacts == {"REPORT.md", "tables", "figures"}
    tables = {item.path for item in client.list_artifacts(report, "tables")}
    assert "tables/weighted_accuracy.csv" in tables


def test_mlflow_not_installed_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what an environment without it raises
    result = CliRunner().invoke(main, smoke_command(tmp_path / "run", "--tracker", "mlflow"))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --tracker mlflow: MLflow is not installed; pip install -e '.[mlflow]' in the "
        "resilinet repository\n"
    )
    assert not (tmp_path / "run").exists()
