"""The Python API (resilinet_cli/api.py): the README's example, and each function on its own.

The sweep is checked against ``predict`` with the same nodes set dead, a separate path (the full
model with an alive mask, where the sweep cuts the model into nodes and shares their outputs).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from paths import CONFIGS, ROOT

import resilinet_cli as rn
from resilinet_cli.errors import ConfigError, RunError
from resilinet_cli.sweeps.sweep import weighted_accuracy as weighted_by_topology
from resilinet_cli.topology import Topology

HAZARDOUS = {"fog1": 0.85, "fog2": 0.80, "edge": 0.78}


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API\n", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_as_written(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "configs").mkdir()
    shutil.copy(CONFIGS / "quickstart.yaml", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "information_flow" in printed and "weighted accuracy: 0." in printed
    combinations = namespace["combinations"]
    assert combinations.shape == (8, 5)
    result = namespace["result"]
    assert sorted(result.weighted["variant"].unique()) == sorted(namespace["config"].variants)
    assert len(result.combinations) == 4 * 8 and not result.failed
    out = tmp_path / "results" / "api-example"
    assert (out / "tables" / "weighted_accuracy.csv").is_file()
    assert namespace["saved"].name == "resilinet"
    assert len(namespace["history"]) == 5


def test_import_is_light_and_load_config_validates() -> None:
    """``import resilinet_cli`` and ``rn.load_config`` load no TensorFlow."""
    code = (
        "import sys, resilinet_cli as rn\n"
        f"c = rn.load_config({str(CONFIGS / 'quickstart.yaml')!r}, overrides=['train.epochs=3'])\n"
        "assert c.train.epochs == 3, c.train.epochs\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_load_config_reports_the_key(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"--set train\.epoch=3: unknown key 'epoch'"):
        rn.load_config(CONFIGS / "quickstart.yaml", overrides=["train.epoch=3"])


def test_build_model_takes_features_and_an_alive_mask(quick_config) -> None:
    model = rn.build_model(quick_config, "resilinet", input_shape=(64,), num_classes=10, seed=3)
    assert [tensor.name for tensor in model.inputs] == ["features", "alive"]
    assert model.output_shape == (None, 10)
    assert rn.failable_nodes(model) == list(quick_config.topology.failable)
    again = rn.build_model(quick_config, "resilinet", input_shape=(64,), num_classes=10, seed=3)
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the seed fixes the weights
    with pytest.raises(ConfigError, match="did you mean 'resilinet'"):
        rn.build_model(quick_config, "resilinett", input_shape=(64,), num_classes=10)


def test_train_returns_one_history_row_per_epoch(quick_config, digits) -> None:
    config = quick_config.with_overrides(["train.epochs=2"])
    model = rn.build_model(config, "deepfogguard", input_shape=(64,), num_classes=10)
    history = rn.train(
        model,
        config,
        digits.x_train,
        digits.y_train,
        validation=(digits.x_val, digits.y_val),
    )
    assert list(history["epoch"]) == [1, 2]
    assert {"accuracy", "loss", "val_accuracy", "val_loss"} <= set(history.columns)
    hits = rn.predict(model, digits.x_val).argmax(axis=1) == digits.y_val
    assert hits.mean() == pytest.approx(history["val_accuracy"].max(), abs=1e-6)  # best weights


@pytest.mark.parametrize("variant", ["vanilla", "resilinet"])
def test_sweep_agrees_with_predict_under_each_combination(trained, digits, quick_config, variant):
    model, _ = trained[variant]
    x, y = digits.x_test, digits.y_test
    combinations = rn.sweep(model, x, y, quick_config)
    nodes = list(quick_config.topology.failable)
    assert list(combinations.columns) == [*nodes, "information_flow", "accuracy"]
    assert len(combinations) == 2 ** len(nodes)
    for row in combinations.itertuples(index=False):
        dead = [node for node in nodes if getattr(row, node) == 0]
        if row.information_flow:
            expected = (rn.predict(model, x, dead=dead).argmax(axis=1) == y).mean()
            assert row.accuracy == pytest.approx(expected, abs=1e-9)
        else:
            counts = np.bincount(y, minlength=10) / len(y)
            assert row.accuracy == pytest.approx(float(counts @ counts))
    # Vanilla has no skips: losing any node cuts the chain.
    assert combinations["information_flow"].sum() == (1 if variant == "vanilla" else 5)


def test_weighted_accuracy_by_name_or_order(health) -> None:
    rows = [dict(zip(health.failable, c, strict=True)) for c in health.combinations()]
    table = pd.DataFrame(rows).assign(
        information_flow=True, accuracy=np.linspace(0.1, 0.9, len(rows))
    )
    expected = 0.0  # Σ P(c)·acc(c), P a product of each node's survival or failure
    for row in table.itertuples(index=False):
        alive = {node: getattr(row, node) for node in health.failable}
        p = math.prod(HAZARDOUS[n] if up else 1 - HAZARDOUS[n] for n, up in alive.items())
        expected += p * row.accuracy
    ordered = [HAZARDOUS[node] for node in health.failable]
    by_name = dict(reversed(HAZARDOUS.items()))  # names, not the mapping's order, count
    assert rn.weighted_accuracy(table, by_name) == pytest.approx(expected, rel=1e-12)
    assert rn.weighted_accuracy(table, ordered) == pytest.approx(expected, rel=1e-12)
    assert weighted_by_topology(table, health, ordered) == pytest.approx(expected, rel=1e-12)
    assert rn.weighted_accuracy(table, [1.0, 1.0, 1.0]) == pytest.approx(0.9)  # all alive
    with pytest.raises(ConfigError, match="needs 3 values"):
        rn.weighted_accuracy(table, [0.9, 0.9])
    with pytest.raises(ConfigError, match="no value for edge"):
        rn.weighted_accuracy(table, {"fog1": 0.9, "fog2": 0.9})


def test_predict_names_an_unknown_node(trained, digits) -> None:
    model, _ = trained["resilinet"]
    with pytest.raises(ConfigError, match="unknown failable node 'edg' \\(did you mean 'edge'"):
        rn.predict(model, digits.x_test[:4], dead=["edg"])
    alive = rn.predict(model, digits.x_test[:4])
    assert alive.shape == (4, 10)
    np.testing.assert_allclose(alive.sum(axis=1), 1.0, rtol=1e-5)


def test_load_model_refuses_a_file_that_is_not_a_model(tmp_path) -> None:
    bad = tmp_path / "model.keras"
    bad.write_text("not a zip")
    with pytest.raises(RunError, match="not a Keras model file"):
        rn.load_model(bad)


def test_sweep_takes_a_topology_too(trained, digits, quick_config) -> None:
    model, _ = trained["resilinet_plus"]
    topology = Topology.from_config(quick_config.topology)
    by_topology = rn.sweep(model, digits.x_test, digits.y_test, topology)
    by_config = rn.sweep(model, digits.x_test, digits.y_test, quick_config)
    pd.testing.assert_frame_equal(by_topology, by_config)


def test_the_api_is_what_the_package_exports() -> None:
    public = {name for name in rn.__all__ if name != "__version__"}
    assert public >= {"load_config", "build_model", "train", "sweep", "weighted_accuracy", "run"}
    assert public >= {"load_model", "predict"}
    from resilinet_cli import api

    for name in public:
        assert getattr(rn, name) is getattr(api, name)
    with pytest.raises(AttributeError):
        rn.no_such_function  # noqa: B018
    assert Path(rn.__file__).parent == ROOT / "resilinet_cli"


def test_no_module_shadows_an_api_name() -> None:
    """A subpackage named like a function (``sweep``) would replace it once imported."""
    package = ROOT / "resilinet_cli"
    for name in rn.__all__:
        assert not (package / name).exists() and not (package / f"{name}.py").exists(), name
