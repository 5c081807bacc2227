"""How many threads TensorFlow's ops use: part of a unit's settings, since float sums can
depend on it (``train.threads``)."""

from __future__ import annotations

import os

from resilinet_cli.errors import RunError


def cores() -> int:
    """The cores this process may run on: TensorFlow's own default thread count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def use_threads(threads: int | None) -> int:
    """Give TensorFlow's op thread pools ``threads`` threads (None: one per core); return the
    number in use.

    TensorFlow fixes the pools when it runs its first op, so a process that already trained
    with another number cannot follow a new one: that is one clear error, not a silent change.
    """
    import tensorflow as tf

    current = tf.config.threading.get_intra_op_parallelism_threads() or cores()
    if threads is None or threads == current:
        return current
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        raise RunError(
            f"train.threads {threads}: this process already runs TensorFlow with {current} "
            "threads; run units of different thread counts with --workers 2 or more, "
            "each unit in its own process"
        ) from None
    return threads
