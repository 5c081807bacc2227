"""The failure sweep against the reference code's weight-zeroing method, and the accuracy maths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from reference_method import reference_model, reference_predictions

from resilinet_cli.data.splits import class_counts, guess_accuracy
from resilinet_cli.sweeps.sweep import correct_counts, sweep, weighted_accuracy
from resilinet_cli.topology import Topology
from resilinet_cli.variants import variant_topology


def dataset(x: np.ndarray, y: np.ndarray) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((x, y))


def test_guess_accuracy_uses_the_real_label_values() -> None:
    # Labels 1..3 (like MHEALTH's 1..12): p_train = (.5, .25, .25), p_test = (.25, .5, .25).
    y_train = np.array([1, 1, 2, 3])
    y_test = np.array([1, 2, 2, 3])
    assert guess_accuracy(class_counts(y_train, 4), class_counts(y_test, 4)) == pytest.approx(
        0.3125, abs=1e-12
    )


def test_weighted_accuracy_is_the_probability_weighted_sum(health: Topology) -> None:
    combos = health.combinations()
    frame = pd.DataFrame(combos, columns=list(health.failable))
    frame["accuracy"] = [1.0 if c == (1, 1, 1) else 0.0 for c in combos]
    hazardous = health.reliability["hazardous"]
    assert weighted_accuracy(frame, health, hazardous) == pytest.approx(0.5304, abs=1e-12)
    frame["accuracy"] = 0.25
    assert weighted_accuracy(frame, health, hazardous) == pytest.approx(0.25, abs=1e-12)


@pytest.mark.parametrize("variant", ["vanilla", "deepfogguard", "resilinet", "resilinet_plus"])
def test_mask_sweep_equals_weight_zeroing(quick_config, digits, trained, variant) -> None:
    model, family = trained[variant]
    topology = Topology.from_config(quick_config.topology)
    x, y = digits.x_test, digits.y_test
    slow = reference_model(quick_config, variant, digits)
    for combo in topology.combinations():
        alive = np.tile(np.array(combo, "float32"), (len(x), 1))
        fast = model.predict([x, alive], verbose=0, batch_size=len(x))
        slow_out = reference_predictions(slow, model, family, topology.failable, x, combo)
        np.testing.assert_allclose(fast, slow_out, atol=1e-6, err_msg=f"{variant} {combo}")
        # The batched sweep counts exactly the argmax hits of the mask-based predictions.
        hits = correct_counts(model, dataset(x, y), [combo], batch_size=37)[0]
        assert hits == int((fast.argmax(axis=1) == y).sum())


def test_a_dead_node_changes_the_prediction(trained, digits) -> None:
    """Guards the oracle above: failures must matter, or equality would prove nothing."""
    model, _ = trained["deepfogguard"]
    x = digits.x_test
    alive = np.ones((len(x), 3), "float32")
    dead_edge = alive.copy()
    dead_edge[:, 2] = 0
    full = model.predict([x, alive], verbose=0)
    failed = model.predict([x, dead_edge], verbose=0)
    assert np.abs(full - failed).max() > 1e-3


def test_sweep_rows_flow_and_guessing(quick_config, digits, trained) -> None:
    model, _ = trained["resilinet"]
    guess = guess_accuracy(
        class_counts(digits.y_train, digits.num_classes),
        class_counts(digits.y_test, digits.num_classes),
    )
    topology = variant_topology(Topology.from_config(quick_config.topology), "resilinet")
    data = dataset(digits.x_test, digits.y_test)
    frame = sweep(model, topology, data, len(digits.y_test), guess=guess, batch_size=64)
    assert list(frame.columns) == ["fog1", "fog2", "edge", "information_flow", "accuracy"]
    assert len(frame) == 8
    labels = ["".join(map(str, r[:3])) for r in frame.itertuples(index=False)]
    assert labels == [f"{i:03b}" for i in range(8)]
    no_flow = frame[~frame["information_flow"]]
    assert sorted(labels[i] for i in no_flow.index) == ["000", "001", "100"]
    assert (no_flow["accuracy"] == guess).all()
    clean = frame["accuracy"].iloc[-1]
    alive = np.ones((len(digits.x_test), 3), "float32")
    predicted = model.predict([digits.x_test, alive], verbose=0).argmax(axis=1)
    assert clean == pytest.approx((predicted == digits.y_test).mean(), abs=1e-12)


def test_vanilla_sweep_runs_only_the_all_alive_combination(quick_config, digits, trained) -> None:
    model, _ = trained["vanilla"]
    topology = variant_topology(Topology.from_config(quick_config.topology), "vanilla")
    data = dataset(digits.x_test, digits.y_test)
    frame = sweep(model, topology, data, len(digits.y_test), guess=0.1, batch_size=64)
    assert frame["information_flow"].tolist() == [False] * 7 + [True]
    assert (frame["accuracy"].iloc[:7] == 0.1).all()
