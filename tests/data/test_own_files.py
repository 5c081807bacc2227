"""A data set of the user's own from real files (npz, CSV, Parquet): loading, label mapping,
standardisation, the data's SHA-256 in the config hash and training key, and every bad input
as one line with exit code 2 before any training."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from own_data_helpers import LABEL, MHEALTH_COLUMNS, mhealth_frame, own_config, write_table
from paths import CONFIGS, ROOT

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.config.schema import DatasetConfig
from resilinet_cli.data import load_splits, split_80_10_10
from resilinet_cli.data.files import arrays_digest
from resilinet_cli.errors import ConfigError, DataError
from resilinet_cli.experiments.kinds import plan_units
from resilinet_cli.experiments.reuse import training_key


def files(path: Path, **keys: object) -> DatasetConfig:
    return DatasetConfig(name="files", path=path, **keys)


def test_npz_of_x_and_y_gets_the_built_in_seeded_split_and_sorted_labels(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 5)).astype(np.float32)
    y = rng.integers(1, 13, size=600)  # MHEALTH's activities 1..12
    np.savez(tmp_path / "d.npz", x=x, y=y)
    splits = load_splits(files(tmp_path / "d.npz"))
    x_train, y_train, _, _, x_test, _ = split_80_10_10(x, y, 42)
    np.testing.assert_array_equal(splits.x_train, x_train)
    np.testing.assert_array_equal(splits.x_test, x_test)
    np.testing.assert_array_equal(splits.y_train, y_train - 1)  # 1..12 -> 0..11, sorted
    assert splits.num_classes == 12
    assert splits.class_names == tuple(str(k) for k in range(1, 13))
    assert splits.source["labels"] == {str(k): k - 1 for k in range(1, 13)}
    assert splits.source["rows"] == {"train": 480, "val": 60, "test": 60}
    assert splits.source["files"] == {
        "d.npz": hashlib.sha256((tmp_path / "d.npz").read_bytes()).hexdigest()
    }


def test_npz_with_its_own_splits_keeps_them_and_string_labels_are_mapped(tmp_path: Path) -> None:
    names = np.array(["sit", "walk", "run"])
    arrays = {}
    for split, n in (("train", 30), ("val", 9), ("test", 12)):
        arrays[f"x_{split}"] = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
        arrays[f"y_{split}"] = names[np.arange(n) % 3]
    np.savez(tmp_path / "s.npz", **arrays)
    splits = load_splits(files(tmp_path / "s.npz"))
    np.testing.assert_array_equal(splits.x_val, arrays["x_val"].astype(np.float32))
    assert splits.class_names == ("run", "sit", "walk")
    np.testing.assert_array_equal(splits.y_test[:3], [1, 2, 0])  # sit, walk, run
    assert splits.source["class_counts"]["val"] == {"run": 3, "sit": 3, "walk": 3}


def test_classes_name_integer_labels_in_order(tmp_path: Path) -> None:
    x = np.zeros((90, 2), np.float32) + np.arange(90)[:, None]
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(90) % 3)
    splits = load_splits(files(tmp_path / "d.npz", classes=["cat", "dog", "eel"]))
    assert splits.class_names == ("cat", "dog", "eel")


def test_csv_and_parquet_of_the_same_table_load_the_same_arrays(tmp_path: Path) -> None:
    frame = mhealth_frame(300)
    csv = load_splits(files(write_table(frame, tmp_path / "t.csv"), label=LABEL))
    parquet = load_splits(files(write_table(frame, tmp_path / "t.parquet"), label=LABEL))
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(csv, name), getattr(parquet, name))
    assert csv.x_train.shape == (240, 23) and csv.x_train.dtype == np.float32
    assert csv.source["format"] == "csv" and parquet.source["format"] == "parquet"


def test_features_by_name_and_pattern_keep_file_order(tmp_path: Path) -> None:
    path = write_table(mhealth_frame(200), tmp_path / "t.csv")
    chosen = files(path, label=LABEL, features=["wrist_*", "chest_acc_x"])
    splits = load_splits(chosen)
    assert splits.x_train.shape[1] == 1 + 9
    frame = mhealth_frame(200)
    expected = frame[["chest_acc_x", *[c for c in MHEALTH_COLUMNS if c.startswith("wrist_")]]]
    x_train, *_ = split_80_10_10(expected.to_numpy(np.float32), frame[LABEL].to_numpy(), 42)
    np.testing.assert_array_equal(splits.x_train, x_train)


def test_standardisation_is_fitted_on_the_training_split_only(tmp_path: Path) -> None:
    path = write_table(mhealth_frame(400), tmp_path / "t.csv")
    raw = load_splits(files(path, label=LABEL))
    scaled = load_splits(files(path, label=LABEL, standardize=True))
    np.testing.assert_allclose(scaled.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(scaled.x_train.std(axis=0), 1.0, atol=1e-4)
    mean, std = raw.x_train.mean(axis=0), raw.x_train.std(axis=0)
    np.testing.assert_allclose(scaled.x_test, (raw.x_test - mean) / std, rtol=1e-4, atol=1e-4)


def test_the_files_sha256_is_in_the_config_hash_and_the_training_key(tmp_path: Path) -> None:
    path = write_table(mhealth_frame(200), tmp_path / "t.csv")
    config_path = own_config(tmp_path, {"name": "files", "path": "t.csv", "label": LABEL})
    first = load_config(config_path)
    assert first.dataset.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert first.dataset.path == path.resolve()  # relative to the config file
    write_table(mhealth_frame(200, seed=5), path)
    second = load_config(config_path)
    assert second.digest() != first.digest()
    unit = plan_units(first)[0]
    assert training_key(first, unit) != training_key(second, unit)
    # the same bytes elsewhere are the same data: the same run resumes there
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (moved / "t.csv").write_bytes(path.read_bytes())
    there = load_config(config_path, [f"dataset.path={moved / 't.csv'}"])
    assert there.digest() == second.digest()
    assert training_key(there, unit) == training_key(second, unit)


def test_an_override_of_the_path_hashes_the_new_file(tmp_path: Path) -> None:
    write_table(mhealth_frame(200), tmp_path / "a.csv")
    other = write_table(mhealth_frame(200, seed=3), tmp_path / "b.csv")
    config = load_config(own_config(tmp_path, {"name": "files", "path": "a.csv", "label": LABEL}))
    changed = config.with_overrides([f"dataset.path={other}"])
    assert changed.dataset.digest == hashlib.sha256(other.read_bytes()).hexdigest()


def test_built_in_configs_keep_their_hashes() -> None:
    """New dataset keys stay out of the resolved config at their defaults."""
    for name in ("digits_failure_model", "byom_mobilenetv2_fashion"):  # committed results
        folder = ROOT / "results" / name
        recorded = json.loads((folder / "run.json").read_text())["config_hash"]
        assert load_config(folder / "config.yaml").digest() == recorded
    dumped = load_config(CONFIGS / "health.yaml").to_dict()["dataset"]
    assert set(dumped) == {
        "name", "data_dir", "download", "split_seed", "subset", "image_size", "channels"
    }  # fmt: skip


def test_changed_data_under_a_recorded_digest_is_refused_when_loaded(tmp_path: Path) -> None:
    path = write_table(mhealth_frame(200), tmp_path / "t.csv")
    recorded = hashlib.sha256(path.read_bytes()).hexdigest()
    write_table(mhealth_frame(200, seed=9), path)
    with pytest.raises(DataError, match=r"the data changed: its SHA-256 is \w+, the run's config"):
        load_splits(files(path, label=LABEL, digest=recorded))


def test_arrays_digest_depends_on_values_dtype_and_shape() -> None:
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    base = arrays_digest({"x": x, "y": np.arange(6)})
    assert base == arrays_digest({"y": np.arange(6), "x": x.copy()})
    assert base != arrays_digest({"x": x.reshape(2, 6), "y": np.arange(6)})
    assert base != arrays_digest({"x": x.astype(np.float64), "y": np.arange(6)})
    assert base != arrays_digest({"x": x + 1, "y": np.arange(6)})


def test_a_config_without_dataset_loads_only_through_the_api(tmp_path: Path) -> None:
    import resilinet_cli as rn

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"name": "c", "topology": "health"}))
    assert rn.load_config(path).dataset is None
    with pytest.raises(ConfigError, match=r"^c.yaml: dataset.name: missing; .*rn.run\(config"):
        load_config(path)
    with pytest.raises(ConfigError, match=r"dataset: missing; pass arrays"):
        rn.run(rn.load_config(path), tmp_path / "out", quiet=True)


# ---------------------------------------------------------------- bad input: one line, exit 2


def run_error(tmp_path: Path, dataset: dict, **top: object) -> str:
    """``resilinet run`` on a config of ``dataset``: exit code 2 and its one error line."""
    config = own_config(tmp_path, dataset, **top)
    result = CliRunner().invoke(main, ["run", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert not (tmp_path / "out" / "runs").exists()  # nothing trained
    return lines[0].removeprefix("error: ")


def csv_with(tmp_path: Path, change) -> str:
    frame = mhealth_frame(200)
    change(frame)
    write_table(frame, tmp_path / "t.csv")
    return "t.csv"


def test_a_missing_file_is_named_with_the_config_key(tmp_path: Path) -> None:
    message = run_error(tmp_path, {"name": "files", "path": "nope.csv"})
    assert message == f"own.yaml: dataset.path: {tmp_path / 'nope.csv'}: no such file or folder"


def test_files_without_a_path_and_own_keys_on_a_built_in_set(tmp_path: Path) -> None:
    assert "name: files needs path" in run_error(tmp_path, {"name": "files"})
    message = run_error(tmp_path, {"name": "digits", "label": "y"})
    assert "label: only for a data set of your own (name: files)" in message


def test_an_npz_without_the_named_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", features=np.zeros((4, 2)), targets=np.zeros(4))
    message = run_error(tmp_path, {"name": "files", "path": "d.npz"})
    assert message == (
        f"{tmp_path / 'd.npz'}: holds features, targets; expected x and y, or x_train and "
        "y_train (with x_val, y_val, x_test, y_test if you split it yourself)"
    )


def test_a_label_column_that_does_not_exist_suggests_one(tmp_path: Path) -> None:
    write_table(mhealth_frame(100), tmp_path / "t.csv")
    message = run_error(tmp_path, {"name": "files", "path": "t.csv", "label": "activty"})
    assert "label: unknown column 'activty' (did you mean 'activity'?" in message


def test_a_non_numeric_feature_column_names_it_and_its_line(tmp_path: Path) -> None:
    def text(frame):
        frame["wrist_acc_x"] = frame["wrist_acc_x"].astype(object)
        frame.loc[7, "wrist_acc_x"] = "n/a?"

    message = run_error(
        tmp_path, {"name": "files", "path": csv_with(tmp_path, text), "label": LABEL}
    )
    assert message == (
        f"{tmp_path / 't.csv'}: feature column 'wrist_acc_x' is not numeric (line 9: 'n/a?'); "
        "choose the feature columns with features:"
    )


def test_nan_and_infinite_values_are_counted_with_the_first_row(tmp_path: Path) -> None:
    def holes(frame):
        frame.loc[[4, 50], "chest_acc_y"] = np.nan
        frame.loc[60, "ankle_mag_z"] = np.inf

    message = run_error(
        tmp_path, {"name": "files", "path": csv_with(tmp_path, holes), "label": LABEL}
    )
    assert message == (
        f"{tmp_path / 't.csv'}: 3 row(s) hold NaN or infinite values, the first at line 6; "
        "remove or fill them"
    )


def test_labels_that_are_not_whole_numbers(tmp_path: Path) -> None:
    x = np.zeros((30, 2), np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=np.r_[np.zeros(29), 0.5])
    message = run_error(tmp_path, {"name": "files", "path": "d.npz"})
    assert "label 0.5 (example 30) is not a whole number or a string" in message
    np.savez(tmp_path / "d.npz", x_train=x, y_train=np.r_[np.zeros(29), 0.5])
    message = run_error(tmp_path, {"name": "files", "path": "d.npz"})
    assert "label 0.5 (y_train, example 30) is not a whole number or a string" in message


def test_a_class_with_no_example_in_a_split(tmp_path: Path) -> None:
    y = np.r_[np.zeros(99), 1]  # one example of class 1: some split has none
    np.savez(tmp_path / "d.npz", x=np.zeros((100, 2), np.float32), y=y.astype(int))
    message = run_error(tmp_path, {"name": "files", "path": "d.npz"})
    assert "class '1' has no example in the" in message and "split (" in message


def test_arrays_of_mismatched_lengths(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 2)), y=np.zeros(9, int))
    assert "10 examples but 9 labels; they must match" in run_error(
        tmp_path, {"name": "files", "path": "d.npz"}
    )


def test_fewer_than_two_classes(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 2)), y=np.full(10, 3))
    message = run_error(tmp_path, {"name": "files", "path": "d.npz"})
    assert message.endswith("the labels hold 1 class; a classifier needs 2")


def test_an_npz_of_python_objects_is_never_unpickled(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.array(["a", 1, None], dtype=object))
    assert "is never unpickled" in run_error(tmp_path, {"name": "files", "path": "d.npz"})


def test_a_feature_pattern_that_matches_nothing(tmp_path: Path) -> None:
    write_table(mhealth_frame(100), tmp_path / "t.csv")
    dataset = {"name": "files", "path": "t.csv", "label": LABEL, "features": ["hip_*"]}
    assert "features: pattern 'hip_*' matches no column" in run_error(tmp_path, dataset)


def test_a_file_that_is_not_a_table(tmp_path: Path) -> None:
    (tmp_path / "t.parquet").write_bytes(b"not parquet at all")
    message = run_error(tmp_path, {"name": "files", "path": "t.parquet"})
    assert message.startswith(f"{tmp_path / 't.parquet'}: cannot be read as PARQUET (")


# ------------------------------------------------------ the shipped example, data commands


def test_the_shipped_csv_is_what_its_script_makes(tmp_path: Path, monkeypatch) -> None:
    import runpy

    shipped = CONFIGS / "data" / "activities.csv"
    script = runpy.run_path(str(ROOT / "scripts" / "make_own_data_csv.py"))
    monkeypatch.setitem(script["main"].__globals__, "OUT", tmp_path / "activities.csv")
    script["main"]()
    assert (tmp_path / "activities.csv").read_bytes() == shipped.read_bytes()


def test_data_verify_and_info_take_a_config_of_own_data() -> None:
    config = CONFIGS / "own_data_csv.yaml"
    verified = CliRunner().invoke(main, ["data", "verify", str(config)])
    assert verified.exit_code == 0, verified.output
    assert verified.output.strip() == (
        "activities: train 1,200, validation 150, test 150 examples of shape 12; 4 classes "
        "(climb, run, sit, walk): ok"
    )
    data = CONFIGS / "data" / "activities.csv"
    info = CliRunner().invoke(main, ["data", "info", str(config), "--json"])
    assert info.exit_code == 0, info.output
    entry = json.loads(info.output)[str(config)]
    assert entry["path"] == str(data) and entry["format"] == "csv" and entry["files"] == 1
    assert entry["bytes"] == data.stat().st_size
    assert entry["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    text = CliRunner().invoke(main, ["data", "info", str(config)]).output
    assert f"  format: csv, 1 file, {data.stat().st_size:,} bytes" in text


def test_data_info_lists_the_arrays_kept_by_the_api(keras_home: Path) -> None:
    from resilinet_cli.data.files import keep_arrays

    digest = keep_arrays({"x": np.zeros((4, 2), np.float32), "y": np.arange(4)})
    kept = keras_home / "datasets" / "arrays" / f"{digest}.npz"
    assert kept.is_file()
    listing = json.loads(CliRunner().invoke(main, ["data", "info", "--json"]).output)
    assert listing["arrays"] == [{"path": str(kept), "bytes": kept.stat().st_size}]


def test_api_data_takes_x_y_the_three_splits_or_names_and_refuses_others() -> None:
    from resilinet_cli.data.files import as_named_arrays

    x, y = np.zeros((6, 2)), np.arange(6)
    assert set(as_named_arrays((x, y))) == {"x", "y"}
    three = as_named_arrays(((x, y), (x[:2], y[:2]), (x[:3], y[:3])))
    assert sorted(three) == sorted(["x_train", "y_train", "x_val", "y_val", "x_test", "y_test"])
    assert len(three["y_test"]) == 3
    assert set(as_named_arrays({"x": x, "y": y})) == {"x", "y"}
    with pytest.raises(DataError, match=r"^data= takes \(x, y\), .* not ndarray$"):
        as_named_arrays(x)


def test_a_split_the_npz_leaves_out_is_cut_from_train(tmp_path: Path) -> None:
    from sklearn.model_selection import train_test_split

    x = np.arange(200, dtype=np.float32).reshape(100, 2)
    y = np.arange(100) % 2
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, x_test=x[:20], y_test=y[:20])
    splits = load_splits(files(tmp_path / "d.npz"))
    x_train, x_val, _, _ = train_test_split(x, y, test_size=0.1, random_state=42)
    np.testing.assert_array_equal(splits.x_train, x_train)
    np.testing.assert_array_equal(splits.x_val, x_val)
    assert len(splits.x_test) == 20
