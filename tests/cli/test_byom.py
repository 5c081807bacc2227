"""Bring your own network from the command line: a saved model swept as it is, bad networks
refused in one line, code imported only with --allow-code, and ``resilinet partition``."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from paths import TOPOLOGIES

from resilinet_cli.cli import main
from resilinet_cli.config import read_yaml, validate_config
from resilinet_cli.data import load_splits
from resilinet_cli.models.cuts import LayerGraph

SUBSET = {"train": 300, "val": 100, "test": 150}
CUT = {"iot": "pixels", "edge": "d1", "fog2": "d2", "fog1": "d3"}  # cloud: d4 and the output


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def mlp(width: int = 32) -> keras.Model:
    x = keras.Input((64,), name="pixels")
    h = x
    for k in range(1, 5):
        h = keras.layers.Dense(width, activation="relu", name=f"d{k}")(h)
    return keras.Model(x, keras.layers.Dense(10, activation="softmax", name="out")(h))


def write_config(folder: Path, model: dict, name: str = "mine") -> Path:
    raw = {
        "name": name,
        "topology": "health",
        "dataset": {"name": "digits", "subset": SUBSET},
        "model": {"name": "keras", **model},
        "train": {"epochs": 1, "batch_size": 64},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, keras.Model]:
    """A user's own network, trained a little on digits and saved as .keras."""
    folder = tmp_path_factory.mktemp("byom")
    raw = {"name": "x", "topology": read_yaml(TOPOLOGIES / "health.yaml"),
           "dataset": {"name": "digits", "subset": SUBSET}}  # fmt: skip
    splits = load_splits(validate_config(raw, "x").dataset)
    keras.utils.set_random_seed(0)
    network = mlp()
    network.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    network.fit(splits.x_train, splits.y_train, epochs=40, verbose=0)
    path = folder / "mine.keras"
    network.save(path)
    return path, network


def test_a_saved_network_swept_without_training_scores_as_the_original(
    saved: tuple[Path, keras.Model], tmp_path: Path
) -> None:
    path, network = saved
    path = Path(shutil.copy(path, tmp_path / "copy.keras"))
    config = write_config(tmp_path, {"path": str(path), "cut": CUT})
    out = tmp_path / "run"
    code, _, stderr = invoke("-q", "run", str(config), "--no-train", "--out", str(out),
                             "--variants", "vanilla,resilinet")  # fmt: skip
    assert code == 0, stderr
    raw = {"name": "x", "topology": read_yaml(TOPOLOGIES / "health.yaml"),
           "dataset": {"name": "digits", "subset": SUBSET}}  # fmt: skip
    splits = load_splits(validate_config(raw, "x").dataset)
    expected = np.mean(network.predict(splits.x_test, verbose=0).argmax(1) == splits.y_test)
    combos = pd.read_csv(out / "runs" / "vanilla" / "iter-1" / "combinations.csv")
    everyone = combos[(combos[["fog1", "fog2", "edge"]] == 1).all(axis=1)]
    assert everyone["accuracy"].item() == pytest.approx(expected, abs=1e-9)
    assert expected > 0.5  # trained: the comparison is not between two guesses
    history = pd.read_csv(out / "runs" / "vanilla" / "iter-1" / "history.csv")
    assert len(history) == 0  # nothing was trained
    resilinet = pd.read_csv(out / "runs" / "resilinet" / "iter-1" / "combinations.csv")
    assert len(resilinet) == 8 and (out / "tables" / "weighted_accuracy.csv").is_file()
    mlp().save(path)  # another network under the same name: the finished units are not its
    code, _, stderr = invoke("run", str(config), "--no-train", "--out", str(out))
    assert code == 2 and stderr.count("\n") == 1
    assert f"model.path ({path}) changed since this folder's units were trained" in stderr


def lambda_model(path: Path) -> Path:
    x = keras.Input((64,), name="pixels")
    h = keras.layers.Lambda(lambda t: t * 2, name="double")(x)
    h = keras.layers.Dense(8, name="d1")(h)
    model = keras.Model(x, keras.layers.Dense(10, activation="softmax", name="out")(h))
    model.save(path)
    return path


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            {"cut": {**CUT, "edge": "d11"}},
            "mine.yaml: model.cut.edge: no layer 'd11' in the network (did you mean 'd1'?",
        ),
        (
            {"cut": {**CUT, "edge": "d3", "fog1": "d1"}},
            "mine.yaml: model.cut.fog2: cuts out of order: 'd2' (fog2) runs before or beside 'd3'",
        ),
        ({"cut": {**CUT, "fog1": "out"}}, "mine.yaml: model.cut.fog1: 'out' is the network's last"),
    ],
)
def test_bad_cuts_exit_2_in_one_line(saved, tmp_path: Path, model: dict, expected: str) -> None:
    config = write_config(tmp_path, {"path": str(saved[0]), **model})
    code, _, stderr = invoke("run", str(config), "--out", str(tmp_path / "run"))
    assert code == 2 and stderr.startswith(f"error: {expected}"), stderr
    assert stderr.count("\n") == 1 and not (tmp_path / "run").exists()


def test_bad_networks_exit_2_in_one_line(tmp_path: Path) -> None:
    cases = {
        "not_a_model.keras": "not a Keras model file (not a .keras zip archive)",
        "lambda.keras": "holds a Lambda layer, which safe_mode refuses",
    }
    (tmp_path / "not_a_model.keras").write_text("hello")
    lambda_model(tmp_path / "lambda.keras")
    for name, expected in cases.items():
        config = write_config(tmp_path, {"path": str(tmp_path / name), "cut": CUT})
        code, _, stderr = invoke("run", str(config), "--dry-run")
        assert code == 2 and f"mine.yaml: model.path: {tmp_path / name}: " in stderr, stderr
        assert expected in stderr and stderr.count("\n") == 1


def test_a_network_that_does_not_fit_the_data_exits_2_before_training(tmp_path: Path) -> None:
    x = keras.Input((8, 8, 1), name="pixels")
    h = keras.layers.Flatten(name="flat")(x)
    for k in range(1, 5):
        h = keras.layers.Dense(8, name=f"d{k}")(h)
    model = keras.Model(x, keras.layers.Dense(10, activation="softmax", name="out")(h))
    model.save(tmp_path / "images.keras")
    config = write_config(tmp_path, {"path": str(tmp_path / "images.keras"), "cut": CUT})
    code, _, stderr = invoke("run", str(config), "--out", str(tmp_path / "run"))
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert "the network takes inputs of shape (8, 8, 1), the dataset gives (64,)" in stderr
    assert not list((tmp_path / "run").glob("runs/*/iter-1/model.keras"))


FACTORY = """
import keras

def build(width=16):
    x = keras.Input((64,), name="pixels")
    h = x
    for k in range(1, 5):
        h = keras.layers.Dense(width, activation="relu", name=f"d{k}")(h)
    return keras.Model(x, keras.layers.Dense(10, activation="softmax", name="out")(h))
"""


def test_a_factory_is_imported_only_with_allow_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_nets.py").write_text(FACTORY)
    config = write_config(tmp_path, {"source": "my_nets:build", "args": {"width": 12}, "cut": CUT})
    code, _, stderr = invoke("run", str(config), "--dry-run")
    assert code == 2 and "model.source: 'my_nets:build' imports Python code" in stderr
    assert "--allow-code" in stderr
    code, stdout, stderr = invoke("run", str(config), "--dry-run", "--allow-code", "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["counts"]["todo"] == 4


def test_partition_lists_every_cut_point_with_its_costs(saved, tmp_path: Path) -> None:
    path, network = saved
    code, stdout, stderr = invoke("partition", str(path), "--topology", "health", "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    points = report["cut_points"]
    assert [p["layer"] for p in points] == LayerGraph(network).cut_points()
    assert [p["layer"] for p in points] == ["pixels", "d1", "d2", "d3", "d4"]
    assert [p["bytes_per_example"] for p in points] == [64 * 4, 32 * 4, 32 * 4, 32 * 4, 32 * 4]
    dense = [2 * 64 * 32 + 32, *[2 * 32 * 32 + 32] * 3]  # the profiler: multiply-add = 2
    assert [p["cumulative_flops"] for p in points] == [0, *np.cumsum(dense).tolist()]
    assert report["topology"] == ["iot", "edge", "fog2", "fog1", "cloud"]
    code, stdout, _ = invoke("partition", str(path), "--topology", "health")
    assert code == 0 and "d3" in stdout and "bytes/example" in stdout


def test_partition_suggests_cuts_within_the_limits(saved, tmp_path: Path) -> None:
    path, _ = saved
    limits = ["--max-flops", "iot=0", "--max-flops", f"edge={2 * 64 * 32 + 32}"]
    code, stdout, stderr = invoke("partition", str(path), "--topology", "health", "--suggest",
                                  "--json", *limits)  # fmt: skip
    assert code == 0, stderr
    suggestion = json.loads(stdout)["suggestion"]
    # every link carries 128 bytes: the tie goes to computing early (fog2 and fog1 unlimited)
    assert suggestion == {"iot": "pixels", "edge": "d1", "fog2": "d3", "fog1": "d4"}
    code, _, stderr = invoke("partition", str(path), "--topology", "health", "--suggest",
                             "--max-link-bytes", "100")  # fmt: skip
    assert code == 2 and "no cuts fit the limits" in stderr and stderr.count("\n") == 1
    assert f"iot at most {MLP_FLOPS * 15 // 100:,} FLOPs (default: 15%" in stderr  # stated


# The saved mlp's FLOPs per example, by the profiler's rules (multiply-add 2, bias 1 per unit,
# softmax 5 per element): d1, then d2-d4, then the output layer.
D1, DN, OUT = 2 * 64 * 32 + 32, 2 * 32 * 32 + 32, 2 * 32 * 10 + 10 + 5 * 10
MLP_FLOPS = D1 + 3 * DN + OUT


def test_partition_suggests_within_a_default_input_node_budget(saved) -> None:
    """Fewest bytes alone would cut the iot at d1 (128 bytes, 37 % of the FLOPs); 15 % of them
    leaves it the raw input, and the edge then computes most of the network: a warning."""
    path, _ = saved
    code, stdout, stderr = invoke("partition", str(path), "--topology", "health", "--suggest",
                                  "--json")  # fmt: skip
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["total_flops"] == MLP_FLOPS
    budget = MLP_FLOPS * 15 // 100
    assert report["default_budget"] == {"node": "iot", "percent": 15, "max_flops": budget}
    assert report["max_flops"] == {"iot": budget}
    assert report["suggestion"] == {"iot": "pixels", "edge": "d2", "fog2": "d3", "fog1": "d4"}
    assert report["node_flops"] == {"iot": 0, "edge": D1 + DN, "fog2": DN, "fog1": DN,
                                    "cloud": OUT}  # fmt: skip
    share = f"{100 * (D1 + DN) / MLP_FLOPS:.1f}%"
    assert report["warnings"] == [
        f"edge computes {share} of the FLOPs per example, more than half; --max-flops edge=N "
        "limits it"
    ]
    assert stderr == f"warning: {report['warnings'][0]}\n"
    code, stdout, stderr = invoke("partition", str(path), "--topology", "health", "--suggest")
    assert code == 0 and stderr == f"warning: {report['warnings'][0]}\n"
    assert (
        f"Limits: iot at most {budget:,} FLOPs (default: 15% of the total; --max-flops iot=N "
        "sets another)\n"
    ) in stdout
    assert f"edge {(D1 + DN) / 1000:.1f} kFLOPs ({share})" in stdout


def test_partition_explicit_limits_replace_the_default_budget(saved) -> None:
    path, _ = saved
    code, stdout, stderr = invoke("partition", str(path), "--topology", "health", "--suggest",
                                  "--json", "--max-flops", f"iot={MLP_FLOPS}")  # fmt: skip
    assert code == 0 and stderr == "", stderr  # no node computes most: no warning
    report = json.loads(stdout)
    assert report["default_budget"] is None and report["max_flops"] == {"iot": MLP_FLOPS}
    assert report["suggestion"] == {"iot": "d1", "edge": "d2", "fog2": "d3", "fog1": "d4"}
    assert report["warnings"] == []
    assert max(report["node_flops"].values()) == D1 < MLP_FLOPS / 2
    code, stdout, _ = invoke("partition", str(path), "--topology", "health", "--suggest",
                             "--max-flops", "iot=5e3", "--max-link-bytes", "200")  # fmt: skip
    assert code == 0
    assert "Limits: iot at most 5,000 FLOPs, links at most 200 bytes\n" in stdout
    assert "default" not in stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--max-flops", "iot=abc"], "'iot=abc': N must be a number of FLOPs, 0 or more"),
        (["--max-flops", "iot=inf"], "'iot=inf': N must be a number of FLOPs, 0 or more"),
        (["--max-flops", "iot=nan"], "'iot=nan': N must be a number of FLOPs, 0 or more"),
        (["--max-flops", "iot=-1"], "'iot=-1': N must be a number of FLOPs, 0 or more"),
        (["--max-flops", "mars=5"], "'mars=5': expected NODE=N with NODE one of iot, edge"),
        (["--max-flops", "iot"], "'iot': expected NODE=N"),
        (["--max-link-bytes", "0"], "--max-link-bytes"),
    ],
)
def test_partition_bad_limits_are_one_line(saved, args: list[str], expected: str) -> None:
    path, _ = saved
    code, _, stderr = invoke("partition", str(path), "--topology", "health", "--suggest", *args)
    assert code == 2 and expected in stderr and stderr.count("\n") == 1, stderr


def test_partition_of_the_example_config_marks_its_cuts() -> None:
    from paths import CONFIGS

    code, stdout, stderr = invoke("partition", str(CONFIGS / "byom_mobilenetv2_fashion.yaml"))
    assert code == 0, stderr
    lines = {line.split()[0]: line for line in stdout.splitlines() if line.strip()}
    assert lines["block_2_add"].rstrip().endswith("iot")
    assert lines["block_12_add"].rstrip().endswith("fog")
    assert "conv2_block1_1_relu" not in stdout and "block_3_expand_relu" in stdout
    assert math.isclose(float(lines["block_2_add"].split()[2]), 2.0)  # 8x8x8 floats: 2.0 KiB


def test_a_partition_ablation_compares_cut_settings(saved, tmp_path: Path) -> None:
    """model.cut as a list: the partition ablation cuts the same network both ways."""
    path, _ = saved
    later = {"iot": "d1", "edge": "d2", "fog2": "d3", "fog1": "d4"}
    raw = yaml.safe_load(
        write_config(tmp_path, {"path": str(path), "cut": [CUT, later]}).read_text()
    )
    raw.update(experiment={"type": "partition", "partitions": [1, 2]}, variants=["vanilla"])
    config = tmp_path / "ablation.yaml"
    config.write_text(yaml.safe_dump(raw))
    out = tmp_path / "run"
    code, _, stderr = invoke("-q", "run", str(config), "--no-train", "--out", str(out))
    assert code == 0, stderr
    table = pd.read_csv(out / "tables" / "combinations.csv", dtype={"combination": str})
    everyone = table[table["combination"] == "111"].set_index("partition")["mean"]
    assert everyone[1] == everyone[2]  # the same weights, cut elsewhere: same all-alive accuracy
    raw["model"]["cut"][1]["edge"] = "d4"  # level 2 out of order: refused before any unit
    config.write_text(yaml.safe_dump(raw))
    code, _, stderr = invoke("run", str(config), "--no-train", "--out", str(tmp_path / "bad"))
    assert code == 2 and "model.cut[1].fog2: cuts out of order" in stderr, stderr
    assert stderr.count("\n") == 1


def test_weights_are_loaded_into_the_network_before_it_is_cut(
    saved, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import resilinet_cli as rn
    from resilinet_cli.errors import ConfigError

    path, network = saved
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weighted_nets.py").write_text(FACTORY)
    network.save_weights(tmp_path / "mine.weights.h5")
    model = {"source": "weighted_nets:build", "args": {"width": 32}, "cut": CUT}
    config = rn.load_config(write_config(tmp_path, {**model, "weights": "mine.weights.h5"}))
    with pytest.raises(ConfigError, match="--allow-code"):
        rn.build_model(config, "vanilla", input_shape=(64,), num_classes=10)
    x = np.random.default_rng(0).random((20, 64), dtype=np.float32)
    for variant in ("vanilla", "resilinet"):
        built = rn.build_model(config, variant, input_shape=(64,), num_classes=10, allow_code=True)
        assert np.allclose(rn.predict(built, x), network.predict(x, verbose=0), atol=1e-6)
    config = rn.load_config(write_config(tmp_path, {**model, "weights": str(path)}))  # a .keras
    built = rn.build_model(config, "vanilla", input_shape=(64,), num_classes=10, allow_code=True)
    assert np.allclose(rn.predict(built, x), network.predict(x, verbose=0), atol=1e-6)
    narrow = rn.load_config(write_config(tmp_path, {**model, "args": {"width": 12},
                                                    "weights": "mine.weights.h5"}))  # fmt: skip
    with pytest.raises(ConfigError, match=r"^model\.weights: mine\.weights\.h5 does not fit"):
        rn.build_model(narrow, "vanilla", input_shape=(64,), num_classes=10, allow_code=True)


def test_a_missing_network_file_is_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"path": str(tmp_path / "gone.keras"), "cut": CUT})
    code, _, stderr = invoke("run", str(config), "--dry-run")
    assert (
        code == 2
        and stderr == f"error: mine.yaml: model.path: {tmp_path / 'gone.keras'}: no such file\n"
    )
