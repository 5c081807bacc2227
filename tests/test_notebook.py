"""The Python API as a notebook cell uses it: nothing on stderr but resilinet's own output.

A fresh interpreter runs what a cell would (``import resilinet_cli as rn``, a model swept six
times, ``predict``, ``rn.run(quiet=True)``), so TensorFlow's C++ start-up lines and its
retracing warning would reach the captured stderr as they would reach a notebook. A control at
the end makes TensorFlow warn of retracing on purpose: the warning would be seen if it came.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from paths import CONFIGS

MARK = "--- bar ---"
CONTROL = "--- control ---"

CELL = f"""
import sys
import numpy as np
import resilinet_cli as rn

config = rn.load_config(
    {str(CONFIGS / "quickstart.yaml")!r},
    overrides=["train.epochs=1", "iterations=1", "variants=[resilinet]",
               "dataset.subset.train=200", "dataset.subset.test=100"],
)
rng = np.random.default_rng(0)
x, y = rng.random((300, 64), dtype="float32"), rng.integers(0, 10, 300)
model = rn.build_model(config, "resilinet", input_shape=(64,), num_classes=10)
for _ in range(6):  # TensorFlow warns at the fifth trace it takes for retracing
    table = rn.sweep(model, x, y, config)
assert len(table) == 8, table
assert rn.predict(model, x[:5], dead=["edge"]).shape == (5, 10)
result = rn.run(config, out=sys.argv[1] + "/quiet", quiet=True)
assert not result.failed and len(result.weighted) == 4, result
sys.stderr.write({MARK!r} + "\\n")
sys.stderr.flush()
rn.run(config, out=sys.argv[1] + "/bar")
sys.stderr.write({CONTROL!r} + "\\n")
sys.stderr.flush()
import tensorflow as tf
for _ in range(6):
    tf.function(lambda t: t + 1)(tf.constant(1.0))
"""


def test_a_notebook_cell_prints_only_the_run_bar(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CELL, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # quiet=True, and no other API call printed
    before, after = result.stderr.split(MARK + "\n")
    assert before == ""  # no C++ log line, no retracing warning, no bar under quiet=True
    bar, control = after.split(CONTROL + "\n")
    assert "run: 100%" in bar and "1/1" in bar and "resilinet/iter-1" in bar
    assert "retracing" not in bar
    assert "triggered tf.function retracing" in control  # the warning is visible when it comes
    assert (tmp_path / "bar" / "tables" / "weighted_accuracy.csv").is_file()
