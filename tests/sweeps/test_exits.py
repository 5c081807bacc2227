"""The exit sweep against choosing each combination's head by hand from the full model.

The independent path: the whole Keras model, called with one alive mask per combination,
returns every head's output; which head answers is written out by hand below for the Health
topology (failable fog1, fog2, edge; exits at edge and fog1), not computed by the code under
test; the threshold rule is applied per example in NumPy with the pure-Python entropy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from run_helpers import trained_briefly

from resilinet_cli.config import load_config
from resilinet_cli.sweeps.exits import ANSWERED_BY, THRESHOLD_ACCURACY, plan_exits
from resilinet_cli.sweeps.sweep import ACCURACY, sweep
from resilinet_cli.topology import Topology
from resilinet_cli.variants import normalised_entropy, variant_topology

EXITS = ("edge", "fog1")
HEAD = {"cloud": 0, "edge": 1, "fog1": 2}  # the model's outputs: final, then each exit

# (fog1, fog2, edge) -> (the fallback's answering node, the exits the threshold rule may take)
BY_HAND = {
    "vanilla+exits": {
        (0, 0, 0): ("guess", ()),
        (0, 0, 1): ("edge", ("edge",)),
        (0, 1, 0): ("guess", ()),
        (0, 1, 1): ("edge", ("edge",)),
        (1, 0, 0): ("guess", ()),
        (1, 0, 1): ("edge", ("edge",)),
        (1, 1, 0): ("guess", ()),
        (1, 1, 1): ("cloud", ("edge", "fog1")),
    },
    # skips iot->fog2, edge->fog1, fog2->cloud: data reaches around a dead node
    "resilinet+exits": {
        (0, 0, 0): ("guess", ()),
        (0, 0, 1): ("edge", ("edge",)),
        (0, 1, 0): ("cloud", ()),
        (0, 1, 1): ("cloud", ("edge",)),
        (1, 0, 0): ("guess", ()),
        (1, 0, 1): ("cloud", ("edge", "fog1")),
        (1, 1, 0): ("cloud", ("fog1",)),
        (1, 1, 1): ("cloud", ("edge", "fog1")),
    },
}
GUESS = 0.125  # any number: combinations no head reaches score it


@pytest.fixture(scope="module")
def exit_config(quick_config, tmp_path_factory):
    path = tmp_path_factory.mktemp("exits") / "exits.yaml"
    path.write_text(
        "name: exits\ntopology: health\ndataset: {name: digits}\n"
        "model: {name: mlp, hidden_units: 32, partition: 1}\n"
        "variants: [vanilla+exits, resilinet+exits]\n"
        "techniques:\n  vanilla+exits: {exits: [edge, fog1]}\n"
        "  resilinet+exits: {exits: [edge, fog1], exit_weights: [1.0, 0.5, 0.25]}\n"
        "train: {epochs: 2, batch_size: 64}\n"
    )
    return load_config(path)


@pytest.fixture(scope="module")
def exit_models(exit_config, digits, tmp_path_factory):
    """Both exit variants, trained 2 epochs on 600 digits, with their histories."""
    models = {}
    for variant in exit_config.variants:
        work_dir = tmp_path_factory.mktemp("fit")
        model, _, history = trained_briefly(exit_config, variant, digits, work_dir)
        models[variant] = (model, history)
    return models


def heads_by_hand(model, x, combo) -> list[np.ndarray]:
    alive = np.tile(np.array(combo, "float32"), (len(x), 1))
    return [np.asarray(out) for out in model.predict([x, alive], verbose=0, batch_size=len(x))]


def a_threshold_between_entropies(model, x) -> float:
    """A T that splits the edge head's examples, far (in float32 terms) from every entropy."""
    edge = heads_by_hand(model, x, (1, 1, 1))[HEAD["edge"]]
    entropies = np.sort([normalised_entropy(p.astype(float)) for p in edge])
    gaps = np.diff(entropies)
    middle = len(gaps) // 4 + int(np.argmax(gaps[len(gaps) // 4 : 3 * len(gaps) // 4]))
    assert gaps[middle] > 1e-4, "no clear gap to put T in"
    return float(entropies[middle] + gaps[middle] / 2)


@pytest.mark.parametrize("variant", list(BY_HAND))
def test_the_sweep_equals_choosing_the_head_by_hand(exit_config, exit_models, digits, variant):
    model, _ = exit_models[variant]
    x, y = digits.x_test, digits.y_test
    topology = variant_topology(Topology.from_config(exit_config.topology), variant.split("+")[0])
    threshold = a_threshold_between_entropies(model, x)
    data = tf.data.Dataset.from_tensor_slices((x, y))
    table = sweep(model, topology, data, len(y), guess=GUESS, batch_size=64, threshold=threshold)
    exits_taken = 0
    for _, row in table.iterrows():
        combo = tuple(int(row[c]) for c in topology.columns)
        answer, candidates = BY_HAND[variant][combo]
        heads = heads_by_hand(model, x, combo)
        assert row[ANSWERED_BY] == answer, combo
        hits = heads[HEAD[answer]].argmax(axis=1) == y if answer != "guess" else None
        expected = GUESS if hits is None else hits.mean()
        assert row[ACCURACY] == pytest.approx(expected, abs=1e-12), combo
        # the threshold rule, example by example
        correct, at = 0.0, dict.fromkeys([*EXITS, "cloud", "guess"], 0)
        for i in range(len(y)):
            chosen = next(
                (n for n in candidates if normalised_entropy(heads[HEAD[n]][i]) < threshold),
                answer,
            )
            at[chosen] += 1
            correct += GUESS if chosen == "guess" else heads[HEAD[chosen]][i].argmax() == y[i]
        assert row[THRESHOLD_ACCURACY] == pytest.approx(correct / len(y), abs=1e-12), combo
        for node, examples in at.items():
            assert row[f"threshold_exit_{node}"] == pytest.approx(examples / len(y)), combo
        fractions = [row[f"threshold_exit_{n}"] for n in at]
        assert sum(fractions) == pytest.approx(1.0, abs=1e-12)
        exits_taken += at["edge"] + at["fog1"]
    assert exits_taken > 0, "the threshold must make some examples exit, or it proves nothing"


def test_fallback_with_every_node_alive_is_the_final_head(exit_config, exit_models, digits):
    model, _ = exit_models["resilinet+exits"]
    x, y = digits.x_test, digits.y_test
    topology = Topology.from_config(exit_config.topology)
    table = sweep(
        model, topology, tf.data.Dataset.from_tensor_slices((x, y)), len(y), guess=0.1,
        batch_size=50,
    )  # fmt: skip
    final = model.predict([x, np.ones((len(x), 3), "float32")], verbose=0)[0]
    assert table[ACCURACY].iloc[-1] == pytest.approx((final.argmax(axis=1) == y).mean())


def test_joint_training_sums_every_heads_loss_with_its_weight(exit_models):
    _, history = exit_models["resilinet+exits"]
    weighted = (
        history["val_cloud_stack_out_loss"] + 0.5 * history["val_edge_exit_loss"]
        + 0.25 * history["val_fog1_exit_loss"]
    )  # fmt: skip
    # Keras averages each term over batches of unequal size its own way: 1e-3, not exact
    np.testing.assert_allclose(history["val_loss"], weighted, rtol=1e-3)
    equal = history[["val_cloud_stack_out_loss", "val_edge_exit_loss", "val_fog1_exit_loss"]]
    assert not np.allclose(history["val_loss"], equal.sum(axis=1), rtol=1e-2)
    assert {"accuracy", "val_accuracy"} <= set(history.columns)  # the final output's


def test_every_family_gets_a_head_of_its_shape(exit_models) -> None:
    model, _ = exit_models["vanilla+exits"]
    assert [tuple(out.shape) for out in model.outputs] == [(None, 10)] * 3
    assert model.get_layer("edge_exit").activation.__name__ == "softmax"


def test_the_plan_runs_each_node_once_per_distinct_input(exit_config) -> None:
    topology = Topology.from_config(exit_config.topology)
    plan = plan_exits(topology, "mux", EXITS, topology.combinations())
    assert len(plan.nodes) == len(set(plan.nodes))
    edges = [s for s in plan.nodes if s[0] == "edge"]
    assert len(edges) == 1  # the edge sees the IoT output whatever fails downstream
    assert sum(1 for h in plan.heads if h[0] == "edge") == 1
    assert pd.Series([f is None for f in plan.fallback.values()]).sum() == 2


def test_the_estimators_refuse_an_exit_model_in_one_line(
    exit_config, exit_models, digits, tmp_path
):
    from resilinet_cli.errors import ConfigError
    from resilinet_cli.estimate.methods import EstimateOptions
    from resilinet_cli.experiments.evaluation import evaluate_model
    from resilinet_cli.training.inputs import build_inputs

    model, _ = exit_models["vanilla+exits"]
    model.save(tmp_path / "model.keras")
    inputs = build_inputs(digits, exit_config, failable=3, seed=0)
    settings = {"hazardous": (0.85, 0.80, 0.78)}
    with pytest.raises(ConfigError, match=r"--method bounded: vanilla\+exits has exit heads"):
        evaluate_model(
            exit_config, "vanilla+exits", tmp_path / "model.keras", inputs, None, settings,
            EstimateOptions(method="bounded", seed=0),
        )  # fmt: skip
    assert not (tmp_path / "evaluation.csv").exists()


def test_the_api_sweeps_a_defined_variant_on_its_own_topology(exit_config, exit_models, digits):
    import resilinet_cli as rn

    model, _ = exit_models["vanilla+exits"]
    table = rn.sweep(model, digits.x_test, digits.y_test, exit_config)
    by_hand = BY_HAND["vanilla+exits"]
    flags = table[["fog1", "fog2", "edge"]].itertuples(index=False)
    assert list(table[ANSWERED_BY]) == [by_hand[tuple(row)][0] for row in flags]
