"""Learned stand-ins against independent paths (docs/variants.md §8).

- On an add merge a generator forced to output zeros gives back the variant without
  stand-ins, bit for bit, under every combination of nodes and of a failable link: the
  stand-in only replaces the zeros a dead sender (or link) delivers.
- Trained, a stand-in changes what the network predicts where its sender is dead, on the add
  merge and on ResiliNet's mux (where it takes the dead chain input's slot, ahead of the skip).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from run_helpers import trained_briefly

from resilinet_cli.config import load_config
from resilinet_cli.models.builder import build_from_config
from resilinet_cli.sweeps.node_graph import cut_nodes
from resilinet_cli.variants import topology_of

SHAPE = (64,)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("stand-ins") / "stand_ins.yaml"
    path.write_text(
        "name: stand_ins\ntopology: health\ndataset: {name: digits}\n"
        "model: {name: mlp, hidden_units: 32, partition: 1}\n"
        "variants: [deepfogguard, deepfogguard+standin, resilinet+standin]\n"
        "techniques:\n  deepfogguard+standin: {stand_in: true}\n"
        "  resilinet+standin: {stand_in: true, reconstruction: 0.5}\n"
        "train: {epochs: 2, batch_size: 64, failout: {granularity: example}}\n"
    )
    config = load_config(path)
    links = {"topology": {**config.topology.model_dump(), "failable_links": ["edge->fog1"]}}
    return config.model_copy(update={"topology": type(config.topology)(**links["topology"])})


def outputs(model, x, combo) -> np.ndarray:
    alive = np.tile(np.asarray(combo, "float32"), (len(x), 1))
    return np.asarray(model([x, alive], training=False))


def zero_generators(model) -> None:
    for layer in model.layers:
        if layer.name.endswith("_stand_in_out"):
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])


def test_a_generator_of_zeros_gives_back_the_add_merge_bit_for_bit(config):
    plain, _ = build_from_config(config, "deepfogguard", input_shape=SHAPE, num_classes=10, seed=2)
    filled, _ = build_from_config(
        config, "deepfogguard+standin", input_shape=SHAPE, num_classes=10, seed=2
    )
    for layer in filled.layers:
        if layer.weights and "_stand_in" not in layer.name:
            layer.set_weights(plain.get_layer(layer.name).get_weights())
    zero_generators(filled)
    x = np.random.default_rng(0).normal(size=(32, *SHAPE)).astype("float32")
    columns = topology_of(config, "deepfogguard").columns  # fog1, fog2, edge, edge->fog1
    assert columns[-1] == "edge->fog1"
    for combo in itertools.product((0, 1), repeat=len(columns)):
        np.testing.assert_array_equal(outputs(filled, x, combo), outputs(plain, x, combo))


@pytest.mark.parametrize("variant", ["deepfogguard+standin", "resilinet+standin"])
def test_a_trained_stand_in_changes_predictions_where_its_sender_is_dead(
    config, digits, tmp_path, variant
):
    model, _, _ = trained_briefly(config, variant, digits, tmp_path)
    topology = topology_of(config, variant)
    graph = cut_nodes(model, topology)
    assert graph is not None and not graph.plannable
    # the slots: every failable sender at a node with two inputs; a mux's chain slot only
    expected = (
        {("fog2", "fog1"), ("edge", "fog1"), ("fog1", "cloud"), ("fog2", "cloud"), ("edge", "fog2")}
        if variant.startswith("deepfogguard")
        else {("fog2", "fog1"), ("fog1", "cloud"), ("edge", "fog2")}
    )
    assert set(graph.stand_ins) == expected
    x = digits.x_test[:200]
    weights = [layer.get_weights() for layer in model.layers]
    trained = {c: outputs(model, x, c).argmax(1) for c in itertools.product((0, 1), repeat=4)}
    zero_generators(model)
    changed = {
        combo: int((outputs(model, x, combo).argmax(1) != predicted).sum())
        for combo, predicted in trained.items()
    }
    for layer, saved in zip(model.layers, weights, strict=True):
        layer.set_weights(saved)
    assert changed[(1, 1, 1, 1)] == 0  # nothing dead: no stand-in answers
    assert max(changed[c] for c in changed if 0 in c) > 0, changed
    # a dead link alone (edge->fog1, every node alive): its receiver's stand-in answers in the
    # add merge; the mux's chain slot into fog1 is fog2's, so there nothing changes
    dead_link = changed[(1, 1, 1, 0)]
    assert dead_link > 0 if variant.startswith("deepfogguard") else dead_link == 0
