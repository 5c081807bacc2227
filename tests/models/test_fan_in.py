"""Fan-in topologies (docs/sensors.md): the sweep's shared-work plan and the model with alive
masks against an independent slow path, per aggregate; probabilities and information flow
against brute force; one device is the chain, bit for bit."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml
from reference_method import reference_predictions

from resilinet_cli.config import load_config
from resilinet_cli.estimate.enumeration import flow_mask
from resilinet_cli.models.builder import build_from_config
from resilinet_cli.sweeps.sweep import predict_combinations
from resilinet_cli.variants import topology_of

PRESETS = Path(__file__).parents[2] / "resilinet_cli" / "config" / "topologies"


def health3(tmp_path, *overrides: str, name: str = "h3"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        "name: h3\ndataset: {name: digits}\ntopology: health3\n"
        "model: {name: mlp, hidden_units: 16}\niterations: 1\n"
    )
    return load_config(path, list(overrides))


class SlowPath:
    """The hub's input by hand: each device's stack run on its own, a dead device's output
    zeroed (concat) or left out (max, mean), combined with numpy; then the rest of the model
    from the hub on, fed the combination's alive flags for the chain's nodes."""

    def __init__(self, model, topology, aggregate: str, x: np.ndarray) -> None:
        self.topology, self.aggregate, self.rows = topology, aggregate, len(x)
        self.devices = [
            np.asarray(keras.Model(model.inputs[0], model.get_layer(f"{d}_stack_out").output)(x))
            for d in topology.devices
        ]
        hub = model.get_layer(f"{topology.input_node}_stack_in").output
        self.rest = keras.Model([hub, model.inputs[1]], model.output)

    def __call__(self, combination) -> np.ndarray:
        flags = dict(zip(self.topology.columns, combination, strict=True))
        alive = [bool(flags[d]) for d in self.topology.devices]
        if self.aggregate == "concat":
            parts = [
                o if up else np.zeros_like(o) for o, up in zip(self.devices, alive, strict=True)
            ]
            hub = np.concatenate(parts, -1)
        else:
            live = [o for o, up in zip(self.devices, alive, strict=True) if up]
            reduce = np.max if self.aggregate == "max" else np.mean
            hub = reduce(np.stack(live), 0) if live else np.zeros_like(self.devices[0])
        mask = np.asarray([combination] * self.rows, dtype="float32")
        return np.asarray(self.rest([hub, mask], training=False))


@pytest.mark.parametrize("aggregate", ["concat", "max", "mean"])
@pytest.mark.parametrize("variant", ["resilinet", "deepfogguard", "vanilla"])
def test_sweep_equals_slow_path_for_every_combination(tmp_path, aggregate, variant):
    config = health3(tmp_path, f"topology.aggregate={aggregate}")
    keras.utils.set_random_seed(3)
    model, _ = build_from_config(config, variant, input_shape=(64,), num_classes=10, seed=3)
    topology = topology_of(config, variant)
    assert topology.devices == ("chest", "wrist", "ankle")
    x = np.random.default_rng(0).normal(size=(12, 64)).astype("float32")
    flowing = [c for c in topology.combinations() if topology.has_information_flow(c)]
    planned = predict_combinations(model, topology, x, flowing)
    by_hand = SlowPath(model, topology, aggregate, x)
    masks = np.repeat(np.asarray(flowing, dtype="float32"), len(x), axis=0)
    whole = np.asarray(model([np.tile(x, (len(flowing), 1)), masks], training=False))
    differing = []
    for i, combination in enumerate(flowing):
        expected = whole[i * len(x) : (i + 1) * len(x)]  # the model fed the alive mask
        np.testing.assert_allclose(planned[combination], expected, rtol=1e-5, atol=1e-6)
        if not np.allclose(by_hand(combination), expected, rtol=1e-5, atol=1e-6):
            differing.append(combination)
    assert not differing
    # a dead device changes the prediction: the aggregate really reads its flags
    everyone = (1,) * len(topology.columns)
    chest_dead = topology.combination_of_dead(["chest"])
    assert not np.allclose(planned[everyone], planned[chest_dead])


def test_devices_see_their_own_columns(tmp_path):
    config = health3(tmp_path)
    model, _ = build_from_config(config, "vanilla", input_shape=(64,), num_classes=10, seed=1)
    views = {d: model.get_layer(f"{d}_view").columns for d in ("chest", "wrist", "ankle")}
    # digits names no columns: three contiguous near-equal blocks, 22/21/21
    assert views == {"chest": list(range(22)), "wrist": list(range(22, 43)),
                     "ankle": list(range(43, 64))}  # fmt: skip
    x = np.zeros((1, 64), dtype="float32")
    x[0, 30] = 1.0  # a wrist column: only the wrist's view changes
    for device, columns in views.items():
        seen = np.asarray(model.get_layer(f"{device}_view")(x))
        assert seen.shape == (1, len(columns))
        assert seen.any() == (device == "wrist")


def test_mhealth_sensors_by_name(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("name: m\ndataset: {name: mhealth}\ntopology: health3\nmodel: {name: mlp}\n")
    config = load_config(path)
    model, _ = build_from_config(config, "vanilla", input_shape=(23,), num_classes=13, seed=1)
    columns = {d: model.get_layer(f"{d}_view").columns for d in ("chest", "wrist", "ankle")}
    assert columns == {"chest": [0, 1, 2, 3, 4], "wrist": list(range(14, 23)),
                       "ankle": list(range(5, 14))}  # fmt: skip


def test_probability_and_flow_equal_brute_force(tmp_path):
    config = health3(tmp_path)
    topology = topology_of(config, "resilinet")
    assert topology.columns == ("fog1", "fog2", "edge", "chest", "wrist", "ankle")
    # the device rule: each device takes edge's survival (the failable node nearest the input)
    survival = {"fog1": 0.99, "fog2": 0.96, "edge": 0.92, "chest": 0.92, "wrist": 0.92,
                "ankle": 0.92}  # fmt: skip
    assert config.topology.reliability["normal"] == list(survival.values())
    total = 0.0
    for combination in itertools.product((0, 1), repeat=6):
        flags = dict(zip(topology.columns, combination, strict=True))
        brute = math.prod(survival[n] if flags[n] else 1 - survival[n] for n in survival)
        got = topology.probability(combination, config.topology.reliability["normal"])
        assert got == pytest.approx(brute, rel=1e-12)
        total += got
        # flow by hand: some device alive, and the ResiliNet skips get past dead fog/edge nodes
        # (hub->edge->fog2->fog1->cloud with hub->fog2, edge->fog1, fog2->cloud)
        edge, fog2, fog1 = flags["edge"], flags["fog2"], flags["fog1"]
        reaches_fog2 = fog2 and True  # hub reaches fog2 directly or through edge
        reaches_fog1 = fog1 and (edge or reaches_fog2)
        chain = bool(reaches_fog2 or reaches_fog1)
        expected = bool(flags["chest"] or flags["wrist"] or flags["ankle"]) and chain
        assert topology.has_information_flow(combination) == expected, combination
    assert total == pytest.approx(1.0)
    rows = np.asarray(topology.combinations())
    assert flow_mask(topology, rows).tolist() == [topology.has_information_flow(tuple(r))
                                                   for r in rows]  # fmt: skip


def one_device_files(tmp_path):
    """The quickstart's Health chain on digits, and the same with one device that sees every
    column (its hub is the chain's IoT node)."""
    topology = yaml.safe_load((PRESETS / "health.yaml").read_text())
    chain = {"name": "c", "dataset": {"name": "digits"}, "topology": topology,
             "model": {"name": "mlp", "hidden_units": 16}}  # fmt: skip
    one = {**chain, "topology": {**topology, "inputs": {"sensor": list(range(64))}}}
    files = []
    for name, config in (("chain", chain), ("one", one)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(config))
        files.append(tmp_path / f"{name}.yaml")
    return files


def test_one_device_is_the_chain_bit_for_bit(tmp_path):
    chain, one = (load_config(path) for path in one_device_files(tmp_path))
    assert topology_of(one).columns == topology_of(chain).columns  # one device never fails
    x = np.random.default_rng(1).normal(size=(16, 64)).astype("float32")
    for variant in ("vanilla", "resilinet"):
        predictions = []
        for config in (chain, one):
            keras.utils.set_random_seed(7)
            model, _ = build_from_config(config, variant, input_shape=(64,), num_classes=10,
                                         seed=7)  # fmt: skip
            topology = topology_of(config, variant)
            predictions.append(predict_combinations(model, topology, x, topology.combinations()))
        for combination, value in predictions[0].items():
            assert np.array_equal(value, predictions[1][combination]), (variant, combination)


@pytest.mark.parametrize("variant", ["resilinet", "vanilla"])
def test_concat_sweep_equals_the_reference_weight_zeroing(tmp_path, variant):
    """The reference code's slow path: a dead node's (or device's) last layer zeroed, every
    flag alive; with concat a dead device then sends zeros, as the alive mask makes it."""
    config = health3(tmp_path)
    build = {"input_shape": (64,), "num_classes": 10, "seed": 5}
    model, family = build_from_config(config, variant, **build)
    slow, _ = build_from_config(config, variant, mux_detect="zeros", **build)
    topology = topology_of(config, variant)
    x = np.random.default_rng(2).normal(size=(10, 64)).astype("float32")
    flowing = [c for c in topology.combinations() if topology.has_information_flow(c)]
    planned = predict_combinations(model, topology, x, flowing)
    for combination in flowing:
        zeroed = reference_predictions(slow, model, family, topology.failable, x, combination)
        np.testing.assert_allclose(planned[combination], zeroed, rtol=1e-5, atol=1e-6)


def test_failout_draws_devices_like_nodes(tmp_path):
    """Failout keeps each device at its own rate, per example, or as a failure model gives it."""
    config = health3(tmp_path, "train.failout.granularity=example",
                     "train.failout.survival={chest: 0.5, edge: 0.8}")  # fmt: skip
    model, _ = build_from_config(config, "resilinet", input_shape=(64,), num_classes=10, seed=1)
    failout = model.get_layer("failout")
    # fog1, fog2, edge, chest, wrist, ankle: the unnamed at the default 0.9
    assert failout.survival == pytest.approx([0.9, 0.9, 0.8, 0.5, 0.9, 0.9])
    drawn = np.asarray(failout(np.ones((4000, 6), "float32"), training=True))
    assert drawn.mean(axis=0) == pytest.approx([0.9, 0.9, 0.8, 0.5, 0.9, 0.9], abs=0.03)
    path = tmp_path / "batteries.yaml"
    path.write_text(
        "name: h3\ndataset: {name: digits}\ntopology: health3\nmodel: {name: mlp}\n"
        "train: {failout: {model: batteries}}\nfailure_models:\n  batteries:\n"
        "    survival: {fog1: 0.99, fog2: 0.96, edge: 0.92, chest: 0.6, wrist: 0.7, ankle: 0.8}\n"
    )
    model, _ = build_from_config(load_config(path), "resilinet", input_shape=(64,),
                                 num_classes=10, seed=1)  # fmt: skip
    assert model.get_layer("failout").survival == pytest.approx([0.99, 0.96, 0.92, 0.6, 0.7, 0.8])


def test_a_device_may_run_its_own_number_of_layers_or_share_them(tmp_path):
    layers = "model.layers_per_node={edge: 1, fog2: 2, fog1: 3, cloud: 4, chest: 2}"
    config = health3(tmp_path, layers)
    model, _ = build_from_config(config, "vanilla", input_shape=(64,), num_classes=10, seed=1)
    names = {layer.name for layer in model.layers}
    assert {"chest_layer_1", "chest_layer_2", "wrist_layer_1"} <= names
    assert "wrist_layer_2" not in names
    shared = health3(tmp_path, "topology.shared=true", name="shared")
    model, _ = build_from_config(shared, "vanilla", input_shape=(64,), num_classes=10, seed=1)
    device = model.get_layer("device")  # one set of weights, run by every device
    assert len(device.weights) == 2 and device.input.shape[-1] == 22  # padded to the widest


@pytest.mark.parametrize("aggregate", ["concat", "max"])
def test_grid4_mobilenet_sweep_equals_the_model_for_every_combination(tmp_path, aggregate):
    """MobileNet's devices (conv1 and block 1 on each quadrant) through the shared-work plan."""
    path = tmp_path / "g4.yaml"
    path.write_text(
        "name: g4\ndataset: {name: fashion_mnist}\ntopology: grid4\n"
        "model: {name: mobilenet, alpha: 0.25, strides: cifar, partition: 2}\n"
    )
    config = load_config(path, [f"topology.aggregate={aggregate}"])
    model, _ = build_from_config(config, "resilinet", input_shape=(28, 28, 1), num_classes=10,
                                 seed=2)  # fmt: skip
    topology = topology_of(config, "resilinet")
    assert model.get_layer("view01_view").box == [0, 14, 14, 14]
    x = np.random.default_rng(3).normal(size=(3, 28, 28, 1)).astype("float32")
    flowing = [c for c in topology.combinations() if topology.has_information_flow(c)]
    planned = predict_combinations(model, topology, x, flowing)
    masks = np.repeat(np.asarray(flowing, dtype="float32"), len(x), axis=0)
    whole = np.asarray(model([np.tile(x, (len(flowing), 1, 1, 1)), masks], training=False))
    for i, combination in enumerate(flowing):
        expected = whole[i * len(x) : (i + 1) * len(x)]
        np.testing.assert_allclose(planned[combination], expected, rtol=1e-4, atol=1e-5)
