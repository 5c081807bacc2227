"""Cut TensorBoard event files back to the steps a resumed training keeps.

A unit's epoch logger writes each epoch as it ends, but its checkpoint is saved at most every
30 s (``training/fit.py``): a unit stopped in between resumes from an earlier epoch and logs
those epochs again, into a new event file. Before it does, the old files lose every event at
or after the step the training resumes from, so the two files never overlap. Event files are
TFRecord files of ``Event`` protos; each is rewritten atomically, and one left without any
summary is removed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import tensorflow as tf
from tensorboard.compat.proto.event_pb2 import Event

from resilinet_cli import atomic

ITERATION_TAG = "_vs_iterations"  # Keras' evaluation_<metric>_vs_iterations: step = batches


def keep_before(epoch: int, iterations: int) -> Callable[[str, int], bool]:
    """Whether an event of ``tag`` at ``step`` precedes a training resumed at ``epoch`` (0-based)
    with ``iterations`` optimizer steps done; Keras counts epoch tags in epochs, the
    ``*_vs_iterations`` ones in optimizer steps."""

    def keep(tag: str, step: int) -> bool:
        return step <= iterations if tag.endswith(ITERATION_TAG) else step < epoch

    return keep


def trim_events(folder: Path, keep: Callable[[str, int], bool]) -> None:
    """Drop from every event file under ``folder`` the summaries ``keep(tag, step)`` refuses."""
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        records, summaries, dropped = [], 0, False
        for record in read_records(path):
            event = Event.FromString(record)
            if event.HasField("summary"):
                if not all(keep(value.tag, event.step) for value in event.summary.value):
                    dropped = True
                    continue
                summaries += 1
            records.append(record)
        if not summaries:
            path.unlink()
        elif dropped:
            with atomic.atomic_path(path) as tmp, tf.io.TFRecordWriter(str(tmp)) as writer:
                for record in records:
                    writer.write(record)


def read_records(path: Path) -> list[bytes]:
    """The file's records; a last one cut short by a kill is left out."""
    records = []
    try:
        for record in tf.data.TFRecordDataset(str(path)):
            records.append(bytes(record.numpy()))
    except tf.errors.DataLossError:
        pass
    return records
