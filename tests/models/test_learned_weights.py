"""Weight scheme 5: one trainable hyperconnection weight per link, from 1, kept >= 0."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from reference_method import reference_model, reference_predictions

from resilinet_cli.cli import main
from resilinet_cli.layers import LinkWeight
from resilinet_cli.models.builder import build_from_config
from resilinet_cli.sweeps.sweep import sweep_model
from resilinet_cli.topology import Topology
from resilinet_cli.training.fit import set_seeds, train_model
from resilinet_cli.training.inputs import build_inputs


def test_the_constraint_keeps_a_weight_at_or_above_zero() -> None:
    x = keras.Input((3,))
    model = keras.Model(x, LinkWeight(name="w")(x))
    model.compile(keras.optimizers.SGD(1.0), "mse")
    data = np.ones((8, 3), "float32")
    model.fit(data, -data, epochs=3, verbose=0)  # the loss pulls the weight below zero
    assert float(model.get_layer("w").scale.numpy()) == 0.0


@pytest.fixture(scope="module")
def learned(quick_config, digits, tmp_path_factory):
    config = quick_config.with_overrides(["train.hyperconnection_weights.scheme=5"])
    inputs = build_inputs(digits, config, failable=3, seed=0)
    set_seeds(0)
    model, family = build_from_config(config, "resilinet", input_shape=inputs.input_shape,
                                      num_classes=inputs.num_classes, seed=0)  # fmt: skip
    weights = [layer for layer in model.layers if layer.name.endswith("_weight")]
    assert weights and all(isinstance(w, LinkWeight) for w in weights)
    assert all(float(w.scale.numpy()) == 1.0 for w in weights)
    train_model(model, inputs.train_epoch, inputs.val, epochs=2, seed=0,
                work_dir=tmp_path_factory.mktemp("learned"), verbose=0)  # fmt: skip
    return config, model, family, weights


def test_the_weights_train_and_stay_non_negative(learned) -> None:
    *_, weights = learned
    values = [float(w.scale.numpy()) for w in weights]
    assert all(v >= 0 for v in values) and any(abs(v - 1.0) > 1e-4 for v in values)


def test_a_learned_weight_model_sweeps_as_the_weight_zeroing_reference(learned, digits) -> None:
    config, model, family, _ = learned
    topology = Topology.from_config(config.topology)
    x = digits.x_test
    slow = reference_model(config, "resilinet", digits)
    for combo in topology.combinations():
        alive = np.tile(np.array(combo, "float32"), (len(x), 1))
        fast = model.predict([x, alive], verbose=0, batch_size=len(x))
        slow_out = reference_predictions(slow, model, family, topology.failable, x, combo)
        np.testing.assert_allclose(fast, slow_out, atol=1e-5)
    inputs = build_inputs(digits, config, failable=3, seed=0)
    swept = sweep_model(config, "resilinet", model, inputs)
    alive_all = np.ones((len(x), 3), "float32")
    expected = np.mean(model.predict([x, alive_all], verbose=0).argmax(1) == digits.y_test)
    assert swept[(swept[["fog1", "fog2", "edge"]] == 1).all(axis=1)]["accuracy"].item() == expected


def test_a_run_records_and_reports_the_learned_weights(tmp_path, tiny_run) -> None:
    out = tmp_path / "learned"
    args = ["-q", *tiny_run.command(out, "iterations=1", "train.hyperconnection_weights.scheme=5"),
            "--variants", "resilinet"]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    record = json.loads((out / "runs" / "resilinet" / "iter-1" / "run.json").read_text())
    learned = record["hyperconnection_weights"]
    assert set(learned) == {"iot_edge", "edge_fog2", "fog2_fog1", "fog1_cloud", "iot_fog2",
                            "edge_fog1", "fog2_cloud"}  # fmt: skip
    assert all(v >= 0 for v in learned.values()) and any(v != 1.0 for v in learned.values())
    report = (out / "REPORT.md").read_text()
    assert "**Learned hyperconnection weights**" in report
    row = next(line for line in report.splitlines() if "| edge → fog1 " in line)
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells == ["resilinet", "edge → fog1", f"{round(learned['edge_fog1'], 3):g}", "", "1"]
