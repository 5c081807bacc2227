"""``train.distribute: mirrored``: MirroredStrategy over 2 logical CPU devices trains as 1 does.

TensorFlow fixes its logical devices when it first runs an op, so the two-device run happens in
a fresh interpreter that splits the CPU before anything else touches TensorFlow.

The model is the quickstart's ResiliNet MLP: failout (per batch), input muxes, node gates and
the per-epoch reseeding of failout all run on both replicas. No batch norm: with it, each
replica would normalise with the statistics of its half of the batch, and the losses would
differ by design. Every batch (64, and the last of 24) splits evenly over the two replicas;
Keras averages the replicas' mean losses, which is the batch's mean loss only then.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import tensorflow as tf
from paths import CONFIGS

from resilinet_cli.training.distribute import distribution_scope, replicas_in_sync

TOLERANCE = 1e-5

# Per-batch failout; per-example failout, whose draws each replica takes from the whole batch's;
# and per-example failout drawn from a failure model with a common-cause event, whose event
# draws must do the same. One fresh interpreter runs every case.
CASES = {
    "batch": ["train.failout.granularity=batch"],
    "example": ["train.failout.granularity=example"],
    "example_events": [
        "train.failout.granularity=example",
        "failure_models={rack: {survival: {fog1: 0.9, fog2: 0.9, edge: 0.9}, "
        "common_cause: [{nodes: [fog1, fog2], probability: 0.2}]}}",
        "train.failout.model=rack",
    ],
}

SCRIPT = """
import json, sys, tempfile
from pathlib import Path

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np

from resilinet_cli.config import load_config
from resilinet_cli.data import load_splits
from resilinet_cli.errors import ConfigError
from resilinet_cli.models.builder import build_from_config
from resilinet_cli.training.distribute import distribution_scope, replicas_in_sync
from resilinet_cli.training.fit import set_seeds, train_model
from resilinet_cli.training.inputs import build_inputs

SHRINK = ["train.epochs=2", "dataset.subset.train=600", "dataset.subset.val=100",
          "dataset.subset.test=10"]
reports = {}
for case, overrides in json.loads(sys.argv[2]).items():
    config = load_config(Path(sys.argv[1]), [*SHRINK, *overrides])
    splits = load_splits(config.dataset)
    failable = len(config.topology.failable)
    report = {"train": len(splits.y_train), "val": len(splits.y_val)}
    weights = {}
    for how in ("none", "mirrored"):
        set_seeds(0)
        inputs = build_inputs(splits, config, failable, seed=0)
        with distribution_scope(how):
            model, _ = build_from_config(
                config, "resilinet", input_shape=inputs.input_shape,
                num_classes=inputs.num_classes, seed=0,
            )
            history = train_model(
                model, inputs.train_epoch, inputs.val, epochs=config.train.epochs, seed=0,
                work_dir=Path(tempfile.mkdtemp()), verbose=0,
            )
            report[how] = {
                "replicas": replicas_in_sync(),
                "loss": history["loss"].tolist(),
                "val_loss": history["val_loss"].tolist(),
            }
        weights[how] = model.get_weights()
    report["weights"] = max(
        float(np.abs(a - b).max()) for a, b in zip(weights["none"], weights["mirrored"])
    )
    reports[case] = report

with distribution_scope("mirrored"):  # Keras cannot accumulate gradients under tf.distribute
    model, _ = build_from_config(
        config, "resilinet", input_shape=inputs.input_shape, num_classes=inputs.num_classes,
        seed=0,
    )
    try:
        train_model(
            model, inputs.train_epoch, None, epochs=1, seed=0,
            work_dir=Path(tempfile.mkdtemp()), gradient_accumulation_steps=2,
        )
        reports["accumulation"] = "trained"
    except ConfigError as error:
        reports["accumulation"] = str(error)
print(json.dumps(reports))
"""


@pytest.fixture(scope="module")
def runs() -> dict:
    """Every case, one and two devices, in one fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(CONFIGS / "quickstart.yaml"), json.dumps(CASES)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(params=list(CASES))
def two_devices(runs: dict, request: pytest.FixtureRequest) -> dict:
    return runs[request.param]


def test_mirrored_over_two_devices_trains_like_one_device(two_devices: dict) -> None:
    none, mirrored = two_devices["none"], two_devices["mirrored"]
    assert none["replicas"] == 1 and mirrored["replicas"] == 2
    assert (two_devices["train"], two_devices["val"]) == (600, 100)  # even splits, see above
    assert len(none["loss"]) == len(mirrored["loss"]) == 2
    for key in ("loss", "val_loss"):
        for single, split in zip(none[key], mirrored[key], strict=True):
            assert abs(single - split) <= TOLERANCE, (key, none[key], mirrored[key])
    # Gradients summed over two devices round differently; the weights agree to that rounding.
    assert two_devices["weights"] <= TOLERANCE


def test_mirrored_refuses_gradient_accumulation(runs: dict) -> None:
    assert "gradient_accumulation_steps" in runs["accumulation"]


def test_none_enters_no_strategy() -> None:
    with distribution_scope("none"):
        assert not tf.distribute.has_strategy()
        assert replicas_in_sync() == 1


def test_an_unknown_distribution_is_refused() -> None:
    with pytest.raises(ValueError, match="mirrored"):
        distribution_scope("multiworker")
