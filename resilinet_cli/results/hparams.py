"""A multirun's values in TensorBoard's HParams dashboard (``tensorboard --logdir <multirun>``).

Each value's run is one HParams session under ``<multirun>/tensorboard/<value folder>``: its
varied keys as hyperparameters, and as metrics the mean weighted accuracy of each row of its
``weighted_accuracy.csv`` (``weighted_accuracy/<variant>/<setting>``), the numbers of the
multirun table. The experiment (every key's values, every metric) is written beside them, so
the dashboard lists, sorts and plots the values against each other. Written afresh from the
tables each time the multirun's table is.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import tensorflow as tf
from tensorboard.plugins.hparams import api as hp

from resilinet_cli.results import layout

METRIC = "weighted_accuracy"
STATS = {"mean", "std", "ci95", "iterations"}  # the table's numbers; the other columns name a row


def typed(texts: Sequence[str]) -> list[int] | list[float] | list[str]:
    """A key's values as written, as numbers when all of them are (the dashboard plots those)."""
    for kind in (int, float):
        try:
            return [kind(text) for text in texts]  # type: ignore[return-value]
        except ValueError:
            continue
    return list(texts)


def metric_tags(table: pd.DataFrame, varied: Sequence[str]) -> dict[str, float]:
    """``weighted_accuracy/<variant>/<setting>`` (each naming column in order) -> mean."""
    names = [c for c in table.columns if c not in STATS and c not in varied]
    return {
        "/".join([METRIC, *(str(row[c]) for c in names)]): float(row["mean"])
        for _, row in table.iterrows()
    }


def write_hparams(root: Path, runs: Sequence[tuple[dict[str, str], str, pd.DataFrame]]) -> Path:
    """``root/tensorboard``: the experiment and one session per (values, folder name, table)."""
    logs = root / layout.TENSORBOARD
    shutil.rmtree(logs, ignore_errors=True)
    varied = list(runs[0][0])
    values = {key: typed([each[0][key] for each in runs]) for key in varied}
    sessions = [metric_tags(table, varied) for _, _, table in runs]
    tags = sorted({tag for metrics in sessions for tag in metrics})
    with tf.summary.create_file_writer(str(logs)).as_default():
        hp.hparams_config(
            hparams=[hp.HParam(key, hp.Discrete(sorted(set(values[key])))) for key in varied],
            metrics=[hp.Metric(tag) for tag in tags],
        )
    for number, ((_, name, _), metrics) in enumerate(zip(runs, sessions, strict=True)):
        writer = tf.summary.create_file_writer(str(logs / name))
        with writer.as_default():
            hp.hparams({key: values[key][number] for key in varied}, trial_id=name)
            for tag, value in metrics.items():
                tf.summary.scalar(tag, value, step=0)
        writer.close()
    return logs
