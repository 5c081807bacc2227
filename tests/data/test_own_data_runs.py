"""Own data end to end: ``resilinet run --smoke`` on an npz, a CSV and a Parquet file, and
``rn.run(config, data=...)`` on arrays; each sweep's all-alive accuracy equals the model's plain
accuracy on the same test split, and no unit trained on other data is resumed or copied."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from own_data_helpers import LABEL, mhealth_frame, own_config, write_table

import resilinet_cli as rn
from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.data import load_splits
from resilinet_cli.errors import RunError
from resilinet_cli.live.unit import load_test, load_unit

UNIT = Path("runs") / "resilinet" / "iter-1"


def all_alive_accuracy(out: Path) -> float:
    table = pd.read_csv(out / UNIT / "combinations.csv")
    return float(table[(table[["fog1", "fog2", "edge"]] == 1).all(axis=1)]["accuracy"].iloc[0])


def plain_accuracy(out: Path) -> float:
    """The saved model's accuracy with every node alive, on the test split the run used."""
    config = load_config(out / "config.yaml")
    splits = load_splits(config.dataset)
    model = rn.load_model(out / UNIT / "model.keras")
    predicted = rn.predict(model, splits.x_test).argmax(axis=1)
    return float((predicted == splits.y_test).mean())


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".parquet"])
def test_run_smoke_on_a_file_of_each_format(tmp_path: Path, suffix: str) -> None:
    frame = mhealth_frame(500)
    path = tmp_path / f"mine{suffix}"
    dataset: dict = {"name": "files", "path": path.name}
    if suffix == ".npz":
        np.savez(path, x=frame.drop(columns=LABEL).to_numpy(), y=frame[LABEL].to_numpy())
    else:
        write_table(frame, path)
        dataset["label"] = LABEL
    config = own_config(tmp_path, dataset)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(config), "--smoke", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "tables" / "weighted_accuracy.csv").is_file()
    record = json.loads((out / UNIT / "run.json").read_text())
    data = record["data"]
    assert data["format"] == suffix[1:] and data["path"] == str(path)
    assert data["rows"] == {"train": 400, "val": 50, "test": 50}
    assert data["classes"] == ["1", "2", "3", "4"]
    assert json.loads((out / "run.json").read_text())["data"] == data
    report = (out / "REPORT.md").read_text()
    assert f"your own {suffix[1:]} file {path} (SHA-256 {data['digest']})" in report
    assert all_alive_accuracy(out) == pytest.approx(plain_accuracy(out), abs=1e-9)
    if suffix == ".csv":  # the live runtime's clients read the same test split
        test = load_test(load_unit(out / UNIT))
        splits = load_splits(load_config(out / "config.yaml").dataset)
        np.testing.assert_array_equal(test.x, splits.x_test)
        np.testing.assert_array_equal(test.y, splits.y_test)


def test_api_runs_arrays_and_never_resumes_a_run_of_other_arrays(tmp_path: Path) -> None:
    frame = mhealth_frame(500, classes=3)
    x = frame.drop(columns=LABEL).to_numpy(np.float32)
    y = np.array(["run", "sit", "walk"])[frame[LABEL].to_numpy() - 1]
    config = rn.load_config(own_config(tmp_path, {"standardize": True}), smoke=True)
    out = tmp_path / "out"
    result = rn.run(config, out, data=(x, y), quiet=True)
    assert not result.failed and set(result.weighted["variant"]) == {"resilinet"}
    record = json.loads((out / UNIT / "run.json").read_text())
    assert record["data"]["source"] == "arrays"
    assert record["data"]["labels"] == {"run": 0, "sit": 1, "walk": 2}
    assert load_config(out / "config.yaml").dataset.digest == record["data"]["digest"]
    assert all_alive_accuracy(out) == pytest.approx(plain_accuracy(out), abs=1e-9)
    assert "arrays passed to rn.run (SHA-256" in (out / "REPORT.md").read_text()

    finished = record["finished"]
    rn.run(config, out, data=(x.copy(), y.copy()), quiet=True)  # the same data: resumes
    assert json.loads((out / UNIT / "run.json").read_text())["finished"] == finished
    with pytest.raises(RunError, match=r"dataset\.digest"):
        rn.run(config, out, data=(x + 1.0, y), quiet=True)
