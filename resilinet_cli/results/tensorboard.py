"""TensorBoard logs of a unit, so that ``tensorboard --logdir results/<name>`` shows every unit.

Keras' ``TensorBoard`` callback writes each epoch's logs: loss and accuracy under ``train``,
their validation values under ``validation`` (and, with ``train.epoch_sweep``, the validation
set's weighted accuracy per reliability setting). After the sweep, the unit's weighted accuracy
on the test set is written under ``test``, one scalar per setting. Logs are written beside the
unit's files in ``tensorboard/``; they change nothing that is trained or measured. A resumed
unit first cuts its old event files back to the epochs its checkpoint kept, and a unit swept
again replaces its test scalars, so no step is ever logged twice (``event_files.py``).
"""

from __future__ import annotations

from pathlib import Path

import keras
import pandas as pd
import tensorflow as tf

from resilinet_cli.results import layout
from resilinet_cli.results.event_files import keep_before, trim_events
from resilinet_cli.sweeps.sweep import weighted_accuracy
from resilinet_cli.topology import Topology


def logs_on(tracker: str) -> bool:
    return tracker != "none"


class EpochLogger(keras.callbacks.TensorBoard):
    """Keras' logger, told where the training starts (``training.fit.ResumedLog``)."""

    def resume_at(self, epoch: int, iterations: int) -> None:
        """Drop what an interrupted training logged from ``epoch`` on: it is trained again."""
        trim_events(Path(self.log_dir), keep_before(epoch, iterations))


def epoch_logger(folder: Path) -> EpochLogger:
    """Per-epoch scalars only: no graph, no profiling, no histograms (each would cost time)."""
    return EpochLogger(
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
    logs = folder / layout.TENSORBOARD / "test"
    trim_events(logs, lambda tag, at: at < step)  # a unit swept again: its new values only
    writer = tf.summary.create_file_writer(str(logs))
    with writer.as_default():
        for setting, reliability in topology.reliability.items():
            value = weighted_accuracy(combinations, topology, reliability)
            tf.summary.scalar(f"weighted_accuracy/{setting}", value, step=step)
    writer.close()
