"""The shared-work sweep: its plan by hand, and its outputs against masks and weight zeroing."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import tensorflow as tf
from reference_method import reference_model, reference_predictions

from resilinet_cli.sweeps.node_graph import cut_nodes
from resilinet_cli.sweeps.plan import flop_ratio, input_links, plan_sweep
from resilinet_cli.sweeps.sweep import correct_counts, predict_combinations, sweep
from resilinet_cli.topology import Topology
from resilinet_cli.variants import variant_topology

HEALTH_RUNNABLE = [(0, 1, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0), (1, 1, 1)]  # fog1, fog2, edge


@pytest.mark.parametrize("merge", ["mux", "add"])
def test_health_plan_runs_each_node_once_per_distinct_input(health: Topology, merge: str) -> None:
    plan = plan_sweep(health, merge, HEALTH_RUNNABLE)
    # edge: alive or dead; fog2: fed by the edge or (edge dead) by the IoT skip; fog1: by fog2
    # in either state or, fog2 dead, by the edge skip; the cloud: one input per combination.
    assert Counter(s[0] for s in plan.nodes) == {
        "iot": 1, "edge": 1, "fog2": 2, "fog1": 3, "cloud": 5
    }  # fmt: skip
    assert len(plan.distinct_outputs()) == 5
    layers = {"iot": 0, "edge": 1, "fog2": 2, "fog1": 3, "cloud": 4}  # partition 1
    assert flop_ratio(plan, health, layers) == pytest.approx(34 / 10)
    for position, signature in enumerate(plan.nodes):  # inputs are planned before their users
        senders = [link[2] for link in input_links(signature) if link[2] is not None]
        assert all(plan.nodes.index(sender) < position for sender in senders)


def test_the_mux_takes_the_skip_only_when_the_chain_sender_is_dead(health: Topology) -> None:
    plan = plan_sweep(health, "mux", HEALTH_RUNNABLE)
    chosen = plan.outputs[(0, 1, 0)][1]  # fog1 and edge dead: the cloud takes fog2's skip
    assert chosen[0] == "one" and chosen[1][:2] == ("fog2", "cloud")
    fog2 = chosen[1][2]
    assert fog2[1][1][:2] == ("iot", "fog2")  # and fog2 takes the IoT skip


def test_a_chain_has_a_flop_floor_of_one(health: Topology) -> None:
    chain = health.with_skips(())
    plan = plan_sweep(chain, "add", [(1, 1, 1)])
    assert len(plan.nodes) == len(chain.nodes)
    assert flop_ratio(plan, chain, dict.fromkeys(chain.nodes, 1.0)) == 1.0


@pytest.mark.parametrize("variant", ["vanilla", "deepfogguard", "resilinet", "resilinet_plus"])
def test_health_shared_sweep_equals_masks_and_weight_zeroing(
    quick_config, digits, trained, variant
) -> None:
    model, family = trained[variant]
    topology = variant_topology(Topology.from_config(quick_config.topology), variant)
    x = digits.x_test
    runnable = [c for c in topology.combinations() if topology.has_information_flow(c)]
    shared = predict_combinations(model, topology, x, runnable)
    assert set(shared) == set(runnable)
    slow = reference_model(quick_config, variant, digits)
    full = Topology.from_config(quick_config.topology)
    for combo in runnable:
        alive = np.tile(np.array(combo, "float32"), (len(x), 1))
        masked = model.predict([x, alive], verbose=0, batch_size=len(x))
        zeroed = reference_predictions(slow, model, family, full.failable, x, combo)
        np.testing.assert_allclose(shared[combo], masked, atol=1e-5, err_msg=f"{combo}")
        np.testing.assert_allclose(shared[combo], zeroed, atol=1e-5, err_msg=f"{combo}")


def test_shared_and_masked_sweeps_count_the_same_hits(quick_config, digits, trained) -> None:
    model, _ = trained["resilinet_plus"]
    topology = variant_topology(Topology.from_config(quick_config.topology), "resilinet_plus")
    data = tf.data.Dataset.from_tensor_slices((digits.x_test, digits.y_test))
    frame = sweep(model, topology, data, len(digits.y_test), guess=0.1, batch_size=64)
    runnable = frame[frame["information_flow"]]
    combos = [tuple(int(v) for v in row[:3]) for row in runnable.itertuples(index=False)]
    masked = correct_counts(model, data, combos, batch_size=64) / len(digits.y_test)
    np.testing.assert_array_equal(runnable["accuracy"].to_numpy(), masked)


def test_a_chunked_sweep_equals_an_unchunked_one(quick_config, digits, trained) -> None:
    model, _ = trained["resilinet"]
    topology = variant_topology(Topology.from_config(quick_config.topology), "resilinet")
    data = tf.data.Dataset.from_tensor_slices((digits.x_test, digits.y_test))
    size = len(digits.y_test)
    whole = sweep(model, topology, data, size, guess=0.1, batch_size=size)
    chunked = sweep(model, topology, data, size, guess=0.1, batch_size=37)
    assert size > 37 * 2
    assert whole.equals(chunked)


def test_a_model_without_node_markers_is_swept_with_masks(quick_config, digits) -> None:
    slow = reference_model(quick_config, "resilinet", digits)
    topology = variant_topology(Topology.from_config(quick_config.topology), "resilinet")
    assert cut_nodes(slow, topology) is None
    data = tf.data.Dataset.from_tensor_slices((digits.x_test, digits.y_test))
    frame = sweep(slow, topology, data, len(digits.y_test), guess=0.1, batch_size=64)
    assert frame["information_flow"].sum() == 5
