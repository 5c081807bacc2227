"""TensorBoard logs of a unit, so that ``tensorboard --logdir results/<name>`` shows every unit.

Keras' ``TensorBoard`` callback writes each epoch's logs: loss and accuracy under ``train``,
their validation values under ``validation`` (and, with ``train.epoch_sweep``, the validation
set's weighted accuracy per reliability setting). After the sweep, the unit's weighted accuracy
on the test set is written under ``test``, one scalar per setting. Logs are written beside the
unit's files in ``tensorboard/``; they change nothing that is trained or measured.
"""

from __future__ import annotations

from pathlib import Path

import keras
import pandas as pd
import tensorflow as tf

from resilinet_cli.results import layout
from resilinet_cli.sweeps.sweep import weighted_accuracy
from resilinet_cli.topology import Topology


def logs_on(tracker: str) -> bool:
    return tracker != "none"


def epoch_logger(folder: Path) -> keras.callbacks.TensorBoard:
    """Per-epoch scalars only: no graph, no profiling, no histograms (each would cost time)."""
    return keras.callbacks.TensorBoard(
        log_dir=str(folder / layout.TENSORBOARD),
        histogram_freq=0,
        write_graph=False,
        write_images=False,
        update_freq="epoch",
        profile_batch=0,
    )


def write_weighted(folder: Path, combinations: pd.DataFrame, topology: Topology, step: int) -> None:
    """The test set's weighted accuracy per reliability setting, as scalars at ``step``.

    ``topology`` is the variant's own, as for the sweep.
    """
    writer = tf.summary.create_file_writer(str(folder / layout.TENSORBOARD / "test"))
    with writer.as_default():
        for setting, reliability in topology.reliability.items():
            value = weighted_accuracy(combinations, topology, reliability)
            tf.summary.scalar(f"weighted_accuracy/{setting}", value, step=step)
    writer.close()
