"""Fan-in topologies end to end (docs/sensors.md): health3 from the CLI, grid4 from the API,
each device a column of the tables, evaluated by name and under a failure model; one device
gives the quickstart's tables byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from cli_helpers import invoke
from paths import CONFIGS

import resilinet_cli as rn

PRESETS = Path(rn.__file__).parent / "config" / "topologies"


@pytest.fixture(scope="module")
def health3_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("health3")
    config = folder / "h3.yaml"
    config.write_text(
        "name: h3\ndataset: {name: digits}\ntopology: health3\n"
        "model: {name: mlp, hidden_units: 64}\ntrain: {epochs: 10, batch_size: 64}\n"
        "variants: [vanilla, resilinet]\niterations: 1\n"
    )
    code, _, stderr = invoke("run", str(config), "--out", str(folder / "out"))
    assert code == 0, stderr
    return folder / "out"


def test_each_device_is_a_column_of_the_tables(health3_run):
    table = pd.read_csv(health3_run / "runs/resilinet/iter-1/combinations.csv")
    assert list(table.columns) == ["fog1", "fog2", "edge", "chest", "wrist", "ankle",
                                   "information_flow", "accuracy"]  # fmt: skip
    assert len(table) == 64
    no_device = table[(table.chest == 0) & (table.wrist == 0) & (table.ankle == 0)]
    assert not no_device.information_flow.any()  # no sensor alive: nothing to classify
    everyone = table[table[["fog1", "fog2", "edge", "chest", "wrist", "ankle"]].all(axis=1)]
    assert everyone.accuracy.item() > 0.5
    report = (health3_run / "REPORT.md").read_text()
    assert "devices chest, wrist, ankle (columns chest: chest_*; wrist: wrist_*; ankle: " in report


def test_evaluate_a_dead_sensor_by_name_and_under_a_failure_model(health3_run):
    code, stdout, stderr = invoke("evaluate", str(health3_run), "--failures", "chest")
    assert code == 0, stderr
    table = pd.read_csv(health3_run / "runs/resilinet/iter-1/combinations.csv")
    row = table[(table.chest == 0) & table[["fog1", "fog2", "edge", "wrist", "ankle"]].all(axis=1)]
    assert f"accuracy with chest dead (combination 111011): {100 * row.accuracy.item():.2f}%" in (
        stdout
    )
    batteries = CONFIGS / "failure_models" / "batteries.yaml"
    code, stdout, stderr = invoke("evaluate", str(health3_run), "--failure-model", str(batteries))
    assert code == 0, stderr
    survival = yaml.safe_load(batteries.read_text())["survival"]
    expected = rn.weighted_accuracy(table, survival)
    assert f"{100 * expected:.2f}" in stdout
    code, _, stderr = invoke("evaluate", str(health3_run), "--failures", "chst")
    assert code == 2 and "did you mean 'chest'" in stderr


def test_predict_with_a_dead_sensor_equals_the_sweep(health3_run):
    model = rn.load_model(health3_run / "runs/resilinet/iter-1/model.keras")
    assert rn.failable_nodes(model) == ["fog1", "fog2", "edge", "chest", "wrist", "ankle"]
    x = np.random.default_rng(0).normal(size=(8, 64)).astype("float32")
    dead = rn.predict(model, x, dead=["wrist"])
    alive = rn.predict(model, x)
    assert not np.allclose(dead, alive)
    # the same as the sweep's shared-work plan for that combination
    from resilinet_cli.sweeps.sweep import predict_combinations
    from resilinet_cli.variants import topology_of

    config = rn.load_config(health3_run / "config.yaml")
    topology = topology_of(config, "resilinet")
    combination = topology.combination_of_dead(["wrist"])
    planned = predict_combinations(model, topology, x, [combination])[combination]
    np.testing.assert_allclose(dead, planned, rtol=1e-5, atol=1e-6)


def test_bounded_and_sampled_estimates_hold_the_exact_value(health3_run):
    exact = pd.read_csv(health3_run / "runs/resilinet/iter-1/evaluation_weighted.csv")
    for method, option in (("bounded", ("--tolerance", "0.001")),
                           ("montecarlo", ("--half-width", "0.01"))):  # fmt: skip
        code, _, stderr = invoke("evaluate", str(health3_run), "--method", method, *option)
        assert code == 0, stderr
        estimate = pd.read_csv(health3_run / "runs/resilinet/iter-1/evaluation_weighted.csv")
        for (_, e), (_, x) in zip(estimate.iterrows(), exact.iterrows(), strict=True):
            assert e.lower - 1e-9 <= x.accuracy <= e.upper + 1e-9, (method, e.setting)


def test_grid4_from_the_api(tmp_path):
    """One DDNN-style unit on four quadrants, a local exit at the hub (the MLP family, to keep
    the suite short: MobileNet's devices are checked in tests/models/test_fan_in.py)."""
    config = rn.load_config(
        CONFIGS / "sensors" / "fashion_mobilenet.yaml",
        ["model=mlp", "model.hidden_units=32", "model.layers_per_node=1",
         "dataset.subset.train=200", "dataset.subset.val=50", "dataset.subset.test=100",
         "train.epochs=1", "variants=[vanilla+exits]", "iterations=1",
         "experiment.type=average_accuracy"],
    )  # fmt: skip
    result = rn.run(config, tmp_path / "grid4", quiet=True)
    assert not result.failed and set(result.weighted.variant) == {"vanilla+exits"}
    table = pd.read_csv(tmp_path / "grid4/runs/vanilla+exits/iter-1/combinations.csv")
    views = ["view00", "view01", "view10", "view11"]
    assert list(table.columns[:6]) == ["fog", "edge", *views]
    assert len(table) == 64
    # Vanilla has no skip: any dead node or all four cameras dead leaves no information flow
    flow = table[["fog", "edge"]].all(axis=1) & table[views].any(axis=1)
    assert (table.information_flow == flow).all()
    # without flow the local exit at the hub answers while a camera is alive, else a guess
    no_flow = table[~table.information_flow]
    assert set(no_flow.answered_by) == {"hub", "guess"}
    assert (no_flow[no_flow[views].any(axis=1)].answered_by == "hub").all()
    devices = pd.read_csv(tmp_path / "grid4/tables/devices.csv")
    assert list(devices["dead"]) == ["none", *views]


def test_one_device_gives_the_quickstart_tables_byte_for_byte(tmp_path):
    quickstart = yaml.safe_load((CONFIGS / "quickstart.yaml").read_text())
    topology = yaml.safe_load((PRESETS / "health.yaml").read_text())
    one = {**quickstart, "topology": {**topology, "inputs": {"sensor": list(range(64))}}}
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(one, sort_keys=False))
    shutil.copy(CONFIGS / "quickstart.yaml", tmp_path / "quickstart.yaml")
    quick = ["--iterations", "1", "--set", "train.epochs=1"]
    for name in ("quickstart", "one"):
        code, _, stderr = invoke("run", str(tmp_path / f"{name}.yaml"), "--out",
                                 str(tmp_path / name), *quick)  # fmt: skip
        assert code == 0, stderr
    for table in ("weighted_accuracy.csv", "combinations.csv", "weighted_accuracy.md"):
        chain = (tmp_path / "quickstart" / "tables" / table).read_bytes()
        assert (tmp_path / "one" / "tables" / table).read_bytes() == chain, table
