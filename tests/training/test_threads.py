"""train.threads: TensorFlow's op thread pools follow the config, once per process."""

from __future__ import annotations

import subprocess
import sys


def test_the_thread_count_is_set_before_tensorflow_starts_and_then_kept() -> None:
    """In a fresh process, as a unit's own process is: set, used, then fixed for good."""
    code = (
        "import tensorflow as tf\n"
        "from resilinet_cli.errors import RunError\n"
        "from resilinet_cli.training.threads import use_threads\n"
        "print(use_threads(1))\n"
        "print(float(tf.reduce_sum(tf.ones(8))))\n"  # the runtime starts: its pools are fixed
        "print(tf.config.threading.get_intra_op_parallelism_threads(), use_threads(1),\n"
        "      use_threads(None))\n"
        "try:\n"
        "    use_threads(2)\n"
        "except RunError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.splitlines() == [
        "1",
        "8.0",
        "1 1 1",
        "train.threads 2: this process already runs TensorFlow with 1 threads; run units of "
        "different thread counts with --workers 2 or more, each unit in its own process",
    ]
