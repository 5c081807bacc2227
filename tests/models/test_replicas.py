"""Standby replicas against independent paths (docs/variants.md §7).

- A full-width standby holding its primary's weights must answer exactly as the primary does,
  so the replica model's output under every combination of the extended alive mask equals the
  replica-free model's under the combination in which the node is up iff any replica is
  (the role rule written out here, not taken from the code under test).
- The switch serves the first alive replica, and while training offers each replica a share
  of the examples.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from resilinet_cli.config import load_config
from resilinet_cli.layers import ReplicaSwitch, RoleFlags
from resilinet_cli.models.builder import build_from_config
from resilinet_cli.sweeps.sweep import ACCURACY, sweep
from resilinet_cli.variants import topology_of


def replica_config(tmp_path, family: str):
    model = (
        "model: {name: mlp, hidden_units: 16, partition: 1}\ndataset: {name: digits}\n"
        if family == "mlp"
        else "model: {name: mobilenet, alpha: 0.25}\ndataset: {name: cifar10}\ntopology: cnn\n"
    )
    path = tmp_path / f"{family}.yaml"
    path.write_text(
        f"name: replicas\n{model}"
        + ("topology: health\n" if family == "mlp" else "")
        + "variants: [vanilla, vanilla+full, resilinet, resilinet+full]\n"
        "techniques:\n  vanilla+full: {replicas: {edge: 2}}\n"
        "  resilinet+full: {replicas: {edge: 2}}\n"
    )
    return load_config(path)


def copy_primary_into_standby(plain, replicated) -> None:
    """Every layer of ``replicated`` takes the weights of ``plain``'s layer of the same name;
    a standby's layer (``edge_r2_*``) those of its primary's (``edge_*``, or the unprefixed
    MobileNet blocks it copies)."""
    names = {layer.name for layer in plain.layers}
    for layer in replicated.layers:
        if not layer.weights:
            continue
        source = layer.name
        if source.startswith("edge_r2_"):
            rest = source.removeprefix("edge_r2_")
            source = f"edge_{rest}" if f"edge_{rest}" in names else rest
        layer.set_weights(plain.get_layer(source).get_weights())


@pytest.mark.parametrize(("family", "shape"), [("mlp", (64,)), ("mobilenet", (32, 32, 3))])
@pytest.mark.parametrize("base", ["vanilla", "resilinet"])
def test_a_full_standby_with_the_primarys_weights_answers_as_the_primary(
    tmp_path, family, shape, base
):
    config = replica_config(tmp_path, family)
    plain, _ = build_from_config(config, base, input_shape=shape, num_classes=10, seed=3)
    replicated, _ = build_from_config(
        config, f"{base}+full", input_shape=shape, num_classes=10, seed=3
    )
    copy_primary_into_standby(plain, replicated)
    x = np.random.default_rng(0).normal(size=(24, *shape)).astype("float32")
    failable = list(config.topology.failable)  # fog1, fog2, edge (or fog, edge); then edge_r2
    edge = failable.index("edge")
    for combo in itertools.product((0, 1), repeat=len(failable) + 1):
        role = list(combo[:-1])
        role[edge] = max(combo[edge], combo[-1])  # the node is up iff any replica is
        ours = replicated([x, np.tile(combo, (len(x), 1)).astype("float32")], training=False)
        theirs = plain([x, np.tile(role, (len(x), 1)).astype("float32")], training=False)
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs), err_msg=str(combo))
    if family == "mlp":  # and so the failure sweeps' accuracies, by the shared plan and by masks
        y = np.arange(len(x)) % 10
        data = tf.data.Dataset.from_tensor_slices((x, y))
        tables = {
            model.name: sweep(model, topology_of(config, name), data, len(y), guess=0.1,
                              batch_size=64).set_index(list(topology_of(config, name).columns))
            for model, name in ((plain, base), (replicated, f"{base}+full"))
        }  # fmt: skip
        for combo, row in tables[replicated.name].iterrows():
            role = list(combo[:-1])
            role[edge] = max(combo[edge], combo[-1])
            assert row[ACCURACY] == tables[plain.name].loc[tuple(role), ACCURACY], combo


def test_the_switch_serves_the_first_alive_replica_and_zeros_when_none_is():
    primary, standby = np.full((4, 3), 1.0, "float32"), np.full((4, 3), 2.0, "float32")
    alive = np.array([[1, 1], [0, 1], [1, 0], [0, 0]], "float32")
    out = np.asarray(ReplicaSwitch([0, 1])([primary, standby, alive]))
    np.testing.assert_array_equal(out[:, 0], [1.0, 2.0, 1.0, 0.0])


def test_training_offers_each_replica_about_half_of_the_examples():
    primary, standby = np.zeros((4000, 1), "float32"), np.ones((4000, 1), "float32")
    alive = np.ones((4000, 2), "float32")
    served = np.asarray(ReplicaSwitch([0, 1], seed=1)([primary, standby, alive], training=True))
    assert 0.45 < served.mean() < 0.55
    alive[:, 1] = 0  # a dead standby is never offered
    served = np.asarray(ReplicaSwitch([0, 1], seed=1)([primary, standby, alive], training=True))
    assert served.sum() == 0


def test_receivers_see_a_replicated_node_up_while_any_replica_is():
    alive = np.array([[1, 0, 0, 0], [1, 0, 0, 1], [1, 1, 0, 0], [0, 1, 1, 0]], "float32")
    seen = np.asarray(RoleFlags([[2, 3]])(alive))  # column 2 is served by 2 and 3
    np.testing.assert_array_equal(seen[:, 2], [0, 1, 0, 1])
    np.testing.assert_array_equal(seen[:, [0, 1, 3]], alive[:, [0, 1, 3]])
