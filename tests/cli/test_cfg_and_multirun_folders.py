"""Hydra's conventions: ``--cfg`` prints the resolved config and trains nothing; a ``-m``
multirun's value folders sit side by side under the multirun's own folder, never inside a run;
the multirun table keeps its old name readable."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from paths import CONFIGS

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.results.multirun import read_multirun_table

QUICKSTART = str(CONFIGS / "quickstart.yaml")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", [["run"], ["train", "--variant", "vanilla"]])
def test_cfg_prints_the_resolved_config_as_yaml_and_trains_nothing(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = [*command, QUICKSTART, "train.epochs=7", "--set", "seed=11", "--cfg"]
    code, stdout, stderr = invoke(*args)
    assert code == 0, stderr
    printed = yaml.safe_load(stdout)
    expected = load_config(Path(QUICKSTART), ["seed=11", "train.epochs=7"]).to_dict()
    assert printed == expected and printed["train"]["epochs"] == 7 and printed["seed"] == 11
    assert list(tmp_path.iterdir()) == []  # no results folder, nothing trained


def test_cfg_applies_presets_and_prints_one_document_per_multirun_value(tmp_path: Path) -> None:
    out = tmp_path / "multirun"
    args = ["run", QUICKSTART, "-m", "seed=3,4", "dataset=fashion_mnist", "--out", str(out)]
    code, stdout, stderr = invoke(*args, "--cfg")
    assert code == 0, stderr
    documents = list(yaml.safe_load_all(stdout))
    assert [doc["seed"] for doc in documents] == [3, 4]
    assert {doc["dataset"]["name"] for doc in documents} == {"fashion_mnist"}
    assert "--- # seed=3\n" in stdout and "--- # seed=4\n" in stdout
    assert not out.exists()


def test_cfg_still_refuses_a_bad_override_in_one_line() -> None:
    code, stdout, stderr = invoke("run", QUICKSTART, "train.epochs=-1", "--cfg")
    assert code == 2 and stdout == "" and stderr.count("\n") == 1, stderr


def test_a_multirun_by_default_gets_a_folder_of_its_own_beside_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = Path("results") / "quickstart"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("name: quickstart\n")  # an existing run
    code, stdout, stderr = invoke(
        "run", QUICKSTART, "-m", "seed=3,4", "--variants", "vanilla", "--iterations", "1",
        "--dry-run", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    folders = [Path(plan["folder"]) for plan in json.loads(stdout)]
    root = Path("results") / "quickstart-multirun"
    assert folders == [root / "seed=3", root / "seed=4"]
    assert all(folder.parent == root for folder in folders)  # side by side, not in the run


def test_a_multirun_into_a_run_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("name: quickstart\n")
    code, _, stderr = invoke("run", QUICKSTART, "-m", "seed=3,4", "--out", str(tmp_path))
    assert code == 2 and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert f"--out {tmp_path}: holds a run (config.yaml); -m puts each value's run" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_run_help_says_multirun_and_keeps_sweep_for_the_failure_sweep() -> None:
    code, stdout, _ = invoke("run", "--help")
    assert code == 0 and "tables/multirun.csv" in stdout and "--cfg" in stdout
    assert "sweep (key=a,b" not in stdout and "each sweep" not in stdout


@pytest.mark.parametrize("name", ["multirun.csv", "sweep.csv"])
def test_the_multirun_table_is_read_under_its_new_and_its_old_name(
    name: str, tmp_path: Path
) -> None:
    (tmp_path / "tables").mkdir()
    table = pd.DataFrame({"seed": [3], "variant": ["vanilla"], "setting": ["normal"],
                          "mean": [0.9], "std": [0.0], "iterations": [1]})  # fmt: skip
    table.to_csv(tmp_path / "tables" / name, index=False)
    pd.testing.assert_frame_equal(read_multirun_table(tmp_path), table)
    with pytest.raises(FileNotFoundError, match="no multirun table"):
        read_multirun_table(tmp_path / "empty")
