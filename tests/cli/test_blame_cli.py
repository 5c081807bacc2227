"""Errors blame what the user typed: the override (not the file), with the fix where one is
known, in one line and exit code 2 (config/messages.py, cli/options.py, cli/targets.py)."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest
import yaml
from click.testing import CliRunner
from paths import CONFIGS

from resilinet_cli.cli import main

QUICKSTART = str(CONFIGS / "quickstart.yaml")
CUT = {"iot": "pixels", "edge": "d1", "fog2": "d2", "fog1": "d3"}


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stderr


def one_line_error(code: int, stderr: str) -> str:
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    return stderr.removeprefix("error: ").rstrip("\n")


@pytest.fixture(scope="module")
def byom_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A keras-family config whose cuts are right in the file (an untrained network will do)."""
    folder = tmp_path_factory.mktemp("blame")
    x = keras.Input((64,), name="pixels")
    h = x
    for k in range(1, 5):
        h = keras.layers.Dense(8, activation="relu", name=f"d{k}")(h)
    keras.Model(x, keras.layers.Dense(10, name="out")(h)).save(folder / "net.keras")
    raw = {
        "name": "mine",
        "topology": "health",
        "dataset": {"name": "digits"},
        "model": {"name": "keras", "path": str(folder / "net.keras"), "cut": CUT},
    }
    path = folder / "mine.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("style", ["--set", "positional"])
def test_a_bad_cut_set_by_an_override_names_the_override(byom_config, tmp_path, style) -> None:
    override = ["--set", "model.cut.edge=d11"] if style == "--set" else ["model.cut.edge=d11"]
    code, stderr = invoke("run", str(byom_config), *override, "--out", str(tmp_path / "run"))
    label = "--set model.cut.edge=d11" if style == "--set" else "model.cut.edge=d11"
    assert one_line_error(code, stderr).startswith(
        f"{label}: no layer 'd11' in the network (did you mean 'd1'?"
    )
    assert "mine.yaml" not in stderr and not (tmp_path / "run").exists()


def test_a_bad_cut_in_the_file_still_names_the_file(byom_config, tmp_path) -> None:
    """The control: an override of another key leaves the blame on the file."""
    raw = yaml.safe_load(byom_config.read_text())
    raw["model"]["cut"]["edge"] = "d11"
    config = tmp_path / "mine.yaml"
    config.write_text(yaml.safe_dump(raw))
    code, stderr = invoke("run", str(config), "train.epochs=1", "--dry-run")
    assert one_line_error(code, stderr).startswith("mine.yaml: model.cut.edge: no layer 'd11'")


def test_a_model_preset_that_does_not_fit_suggests_the_topology_it_fits() -> None:
    code, stderr = invoke("run", QUICKSTART, "model=mobilenet", "--dry-run")
    assert one_line_error(code, stderr) == (
        "model=mobilenet: model.partition: partition 1 places layers on 3 nodes, but the "
        "topology has 4 non-input nodes; use a topology it fits (topology=cnn) or set "
        "model.layers_per_node instead"
    )
    code, stderr = invoke("run", QUICKSTART, "model=mobilenet", "topology=cnn", "--dry-run")
    assert code == 0, stderr  # the suggestion is the fix


@pytest.mark.parametrize("override", [["variants=resilinet"], ["--set", "variants=resilinet"]])
def test_a_single_value_for_a_list_says_how_to_write_the_list(override) -> None:
    code, stderr = invoke("run", QUICKSTART, *override, "--dry-run")
    message = one_line_error(code, stderr)
    assert message == (
        f"{override[-1] if len(override) == 1 else '--set variants=resilinet'}: "
        "write a list: variants=[resilinet] or --variants resilinet"
    )
    assert "valid list" not in message
    for fixed in (["variants=[resilinet]"], ["--variants", "resilinet"]):
        assert invoke("run", QUICKSTART, *fixed, "--dry-run")[0] == 0


def test_a_list_key_without_a_flag_gets_the_list_syntax_alone() -> None:
    code, stderr = invoke("run", QUICKSTART, "topology.failable=edge", "--dry-run")
    assert one_line_error(code, stderr).startswith(
        "topology.failable=edge: write a list: topology.failable=[edge]"
    )


def test_evaluate_of_a_config_file_asks_for_a_run_folder() -> None:
    code, stderr = invoke("evaluate", QUICKSTART, "--failures", "all")
    message = one_line_error(code, stderr)
    assert f"{QUICKSTART} is a config file; evaluate wants a run folder" in message
    assert f"resilinet run {QUICKSTART}), then resilinet evaluate results/quickstart" in message
