"""``--tracker mlflow``: each unit of a run as an MLflow run, one MLflow experiment per config.

Logged from the run folder's own files once the run's tables are written, so units trained in
other processes or on Ray nodes are logged like local ones, by the machine that holds the
store. A unit is logged once: a rerun that resumes logs only the units it adds, and the
run's report (REPORT.md, tables, figures) goes to one run named ``report`` per run folder.

The store is ``$MLFLOW_TRACKING_URI``, else MLflow 3's own default, the embedded database
``sqlite:///mlflow.db`` in the working folder, so that ``mlflow ui`` and ``mlflow.search_runs()``
there show the runs with no environment variable; their artifacts go to
``./mlartifacts/<experiment>/`` (MLflow would put them in ``./mlruns``, where older versions
kept their file store). Such a file store is not opened (MLflow 3 refuses it): one line says
how to migrate it into a database of its own (``mlflow migrate-filestore`` overwrites its
target, so not into ``mlflow.db``). A ``--smoke`` run logs to an
experiment of its own (``<name>-smoke``), so its numbers never sit among a real run's.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.errors import ConfigError
from resilinet_cli.results import layout, runs
from resilinet_cli.sweeps.sweep import weighted_accuracy
from resilinet_cli.variants import topology_of

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

INSTALL = "pip install -e '.[mlflow]' in the resilinet repository"
DATABASE = "mlflow.db"  # MLflow 3's default store in the working folder
FILE_STORE = "mlruns"  # where MLflow 2 kept its file store
ARTIFACTS = "mlartifacts"  # the default store's artifacts, as `mlflow server` keeps them
QUIET = ("mlflow", "alembic")  # loggers that announce the database's creation at INFO
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
    """``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db`` in the working folder."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{(Path.cwd() / DATABASE).resolve().as_posix()}"


def old_file_store(folder: Path) -> Path | None:
    """``folder/mlruns`` when it is an MLflow file store (an experiment's ``meta.yaml``)."""
    store = folder / FILE_STORE
    return store if any(store.glob("*/meta.yaml")) else None


def experiment_name(config: ExperimentConfig) -> str:
    """The MLflow experiment of a config: its name, ``<name>-smoke`` for a --smoke run."""
    return f"{config.name}-smoke" if config.smoke else config.name


@dataclass(frozen=True)
class Logged:
    """What one ``log_run`` logged, and where: the line a run prints about it."""

    units: int
    experiment: str
    uri: str
    old_store: Path | None = None

    def lines(self) -> list[str]:
        said = [f"MLflow: {self.units} new unit run(s) and the report logged to experiment "
                f"{self.experiment!r} in {self.uri} (`mlflow ui` there shows them)"]  # fmt: skip
        if self.old_store is not None:
            target = f"sqlite:///{self.old_store.with_suffix('.db').as_posix()}"
            said.append(
                f"MLflow: {self.old_store} is an older MLflow file store, which MLflow 3 does "
                f"not open; to see its runs: mlflow migrate-filestore --source {self.old_store} "
                f"--target {target}, then mlflow ui --backend-store-uri {target}"
            )
        return said


def log_run(out: Path, config: ExperimentConfig) -> Logged:
    """Log the finished units of the run in ``out`` not logged yet, and its report."""
    from mlflow.tracking import MlflowClient

    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    uri = tracking_uri()
    default = "MLFLOW_TRACKING_URI" not in os.environ
    client = MlflowClient(tracking_uri=uri)
    named = experiment_name(config)
    found = client.get_experiment_by_name(named)
    artifacts = (Path.cwd() / ARTIFACTS / named).resolve().as_uri() if default else None
    experiment = found.experiment_id if found else client.create_experiment(named, artifacts)
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
    return Logged(count, named, uri, old_file_store(Path.cwd()) if default else None)


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
        topology = topology_of(unit_config, unit.variant)
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
