"""``--tracker mlflow``: each unit of a run as an MLflow run, one MLflow experiment per config.

Logged from the run folder's own files once the run's tables are written, so units trained in
other processes or on Ray nodes are logged like local ones, by the machine that holds the
store. A unit is logged once: a rerun that resumes logs only the units it adds, and the
run's report (REPORT.md, tables, figures) goes to one run named ``report`` per run folder.

The store is ``$MLFLOW_TRACKING_URI``, else a local ``mlruns/`` folder (MLflow's file store,
which works offline; MLflow 3 asks for ``MLFLOW_ALLOW_FILE_STORE=true`` to use it, which is set
here for that default only).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.errors import ConfigError
from resilinet_cli.results import layout, runs
from resilinet_cli.sweeps.sweep import weighted_accuracy
from resilinet_cli.topology import Topology
from resilinet_cli.variants import variant_topology

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

INSTALL = "pip install 'resilinet[mlflow]'"
FOLDER_TAG = "resilinet.folder"
UNIT_TAG = "resilinet.unit"
REPORT_RUN = "report"
BATCH = 100  # MLflow takes at most 100 params (and 1000 metrics) per log_batch


def check_mlflow() -> None:
    """One line that says how to install MLflow when ``--tracker mlflow`` cannot work."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise ConfigError(f"--tracker mlflow: MLflow is not installed; {INSTALL}") from None


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, else the file store ``./mlruns``."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return (Path.cwd() / "mlruns").resolve().as_uri()


def log_run(out: Path, config: ExperimentConfig) -> int:
    """Log the finished units of the run in ``out`` not logged yet, and its report.

    Returns how many units were logged now.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri())
    found = client.get_experiment_by_name(config.name)
    experiment = found.experiment_id if found else client.create_experiment(config.name)
    folder = str(out.resolve())
    logged = {
        run.data.tags.get(UNIT_TAG): run.info.run_id
        for run in client.search_runs(
            [experiment], filter_string=f"tags.`{FOLDER_TAG}` = '{folder}'", max_results=50000
        )
    }
    count = 0
    for unit, record in runs.finished_records(out, config):
        if unit.name not in logged:
            log_unit(client, experiment, folder, unit, record, config)
            count += 1
    report = logged.get(REPORT_RUN)
    if report is None:
        tags = {FOLDER_TAG: folder, UNIT_TAG: REPORT_RUN}
        report = client.create_run(experiment, run_name=REPORT_RUN, tags=tags).info.run_id
    for name in (layout.REPORT, layout.TABLES, layout.FIGURES):
        path = out / name
        if path.is_dir():
            client.log_artifacts(report, str(path), artifact_path=name)
        elif path.is_file():
            client.log_artifact(report, str(path))
    client.set_terminated(report)
    return count


def log_unit(
    client: MlflowClient,
    experiment: str,
    folder: str,
    unit: runs.Unit,
    record: dict[str, Any],
    config: ExperimentConfig,
) -> None:
    """One MLflow run: the unit's config as params, its epochs and weighted accuracies as
    metrics, its seed and commit as tags, its CSV files and record as artifacts."""
    from mlflow.entities import Metric, Param

    unit_config = unit.config(config)
    tags = {
        FOLDER_TAG: folder,
        UNIT_TAG: unit.name,
        "variant": unit.variant,
        "iteration": str(unit.iteration),
        "seed": str(unit.seed),
        "git_commit": str(record.get("git", {}).get("commit", "")),
        "config_hash": unit_config.digest(),
        "training_key": str(record.get("training_key", "")),
    }
    run = client.create_run(experiment, run_name=unit.name, tags=tags).info.run_id
    params = [Param(key, value) for key, value in flatten(unit_config.to_dict())]
    for start in range(0, len(params), BATCH):
        client.log_batch(run, params=params[start : start + BATCH])
    unit_folder = unit.folder(Path(folder))
    metrics = list(epoch_metrics(unit_folder / layout.HISTORY, Metric))
    combinations = unit_folder / layout.COMBINATIONS
    if combinations.is_file():
        table = pd.read_csv(combinations)
        topology = variant_topology(Topology.from_config(unit_config.topology), unit.variant)
        step = len(pd.read_csv(unit_folder / layout.HISTORY)) if metrics else 0
        for setting, reliability in topology.reliability.items():
            value = weighted_accuracy(table, topology, reliability)
            metrics.append(Metric(f"weighted_accuracy.{setting}", value, now(), step))
    for start in range(0, len(metrics), 10 * BATCH):
        client.log_batch(run, metrics=metrics[start : start + 10 * BATCH])
    for name in (layout.HISTORY, layout.COMBINATIONS, layout.RECORD):
        if (unit_folder / name).is_file():
            client.log_artifact(run, str(unit_folder / name))
    client.set_terminated(run)


def epoch_metrics(history: Path, metric: Any) -> Iterator[Any]:
    """Every column of history.csv as a metric, one value per epoch (its step)."""
    if not history.is_file():
        return
    frame = pd.read_csv(history)
    for row in frame.itertuples(index=False):
        for column in frame.columns:
            if column != "epoch":
                yield metric(column, float(getattr(row, column)), now(), int(row.epoch))


def now() -> int:
    """MLflow's timestamps: milliseconds since the epoch."""
    return int(time.time() * 1000)


def flatten(mapping: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """``train.failout.survival`` -> value: nested sections as dotted keys, lists as JSON."""
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten(value, f"{name}.")
        else:
            yield name, value if isinstance(value, str) else json.dumps(value)
