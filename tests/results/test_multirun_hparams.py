"""A multirun's HParams logs, read back with TensorBoard's own parsers: one session per value
with its varied keys as hyperparameters and its weighted accuracies as metrics."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
import tensorflow as tf
from tensorboard.plugins.hparams import metadata

from resilinet_cli.results.hparams import write_hparams
from resilinet_cli.results.multirun import write_multirun_table

TABLES = {
    "train.failout.survival=0.9,seed=1": [
        ("vanilla", "hazardous", 0.41), ("resilinet", "hazardous", 0.62)
    ],
    "train.failout.survival=0.5,seed=1": [
        ("vanilla", "hazardous", 0.40), ("resilinet", "hazardous", 0.71)
    ],
}  # fmt: skip


def summaries(folder: Path) -> list[tuple[str, int, object]]:
    """(tag, step, value) of every summary in the event files directly in ``folder``."""
    found = []
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                found.append((value.tag, event.step, value))
    return found


def test_each_value_is_a_session_of_the_hparams_dashboard(tmp_path: Path) -> None:
    runs = []
    for folder, rows in TABLES.items():
        table = pd.DataFrame(rows, columns=["variant", "setting", "mean"])
        table = table.assign(std=0.01, iterations=2)
        values = dict(part.split("=") for part in folder.split(","))
        runs.append((values, folder, table))
    logs = write_hparams(tmp_path, runs)
    assert logs == tmp_path / "tensorboard"

    [(tag, _, config)] = summaries(logs)
    assert tag == metadata.EXPERIMENT_TAG
    experiment = metadata.parse_experiment_plugin_data(config.metadata.plugin_data.content)
    domains = {
        h.name: [v.number_value for v in h.domain_discrete.values] for h in experiment.hparam_infos
    }
    assert domains == {"train.failout.survival": [0.5, 0.9], "seed": [1.0]}
    assert sorted(m.name.tag for m in experiment.metric_infos) == [
        "weighted_accuracy/resilinet/hazardous", "weighted_accuracy/vanilla/hazardous"
    ]  # fmt: skip

    for folder, rows in TABLES.items():
        found = summaries(logs / folder)
        [start] = [v for tag, _, v in found if tag == metadata.SESSION_START_INFO_TAG]
        info = metadata.parse_session_start_info_plugin_data(start.metadata.plugin_data.content)
        survival = float(folder.split(",")[0].partition("=")[2])
        assert info.hparams["train.failout.survival"].number_value == survival
        assert info.hparams["seed"].number_value == 1
        assert info.group_name or info.hparams  # a session the dashboard can list
        metrics = defaultdict(list)
        for tag, step, value in found:
            if tag.startswith("weighted_accuracy/"):
                metrics[tag].append((step, float(tf.make_ndarray(value.tensor))))
        expected = {f"weighted_accuracy/{variant}/{setting}": [(0, pytest.approx(mean))]
                    for variant, setting, mean in rows}  # fmt: skip
        assert dict(metrics) == expected  # float32 scalars


def test_the_multirun_table_writes_them_afresh_each_time(tmp_path: Path) -> None:
    folder = tmp_path / "seed=1"
    (folder / "tables").mkdir(parents=True)
    pd.DataFrame({"variant": ["vanilla"], "setting": ["normal"], "mean": [0.5], "std": [0.0],
                  "iterations": [1]}).to_csv(folder / "tables" / "weighted_accuracy.csv",
                                             index=False)  # fmt: skip
    for _ in range(2):
        write_multirun_table(tmp_path, [({"seed": "1"}, folder)])
    assert len(list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))) == 1
    assert len(list((tmp_path / "tensorboard" / "seed=1").glob("events.out.tfevents.*"))) == 1
