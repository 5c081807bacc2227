"""``evaluate --failure-model`` and failure models in a run's tables, on finished run folders
written without training (as committed results are: no models)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from paths import CONFIGS
from run_helpers import HEALTH_NODES, write_run

from resilinet_cli.cli import main

SHARED_RACK = CONFIGS / "failure_models" / "shared_rack.yaml"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def rack_probability(fog1: int, fog2: int, edge: int) -> float:
    """configs/failure_models/shared_rack.yaml by hand: survival 0.95, 0.91, 0.87 and an event
    of probability 0.05 that kills both fogs."""
    own = (0.95 if fog1 else 0.05) * (0.91 if fog2 else 0.09) * (0.87 if edge else 0.13)
    event = 0.0 if fog1 or fog2 else 0.05 * (0.87 if edge else 0.13)
    return 0.95 * own + event


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, dict[tuple, float]]:
    out = tmp_path / "quick"
    write_run(out, {"vanilla": [0.5, 0.7], "resilinet": [0.8]})
    accuracy = {c: 0.3 + 0.08 * i for i, c in enumerate(itertools.product((0, 1), repeat=3))}
    frame = pd.read_csv(out / "runs" / "resilinet" / "iter-1" / "combinations.csv")
    frame["accuracy"] = [accuracy[tuple(row)] for row in frame[HEALTH_NODES].to_numpy().tolist()]
    frame.to_csv(out / "runs" / "resilinet" / "iter-1" / "combinations.csv", index=False)
    return out, accuracy


def test_a_run_is_rescored_under_a_failure_model_file(run) -> None:
    out, accuracy = run
    code, stdout, stderr = invoke(
        "evaluate", str(out), "--failure-model", str(SHARED_RACK), "--json"
    )
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["failure_model"] == "shared_rack" and report["columns"] == HEALTH_NODES
    units = {u["unit"]: u["accuracy"] for u in report["units"]}
    expected = sum(rack_probability(*c) * acc for c, acc in accuracy.items())
    assert units["resilinet/iter-1"] == pytest.approx(expected, abs=1e-12)
    assert units["vanilla/iter-2"] == pytest.approx(0.7, abs=1e-12)  # probabilities sum to 1
    weighted = pd.DataFrame(report["weighted"])
    assert list(weighted.columns) == ["variant", "setting", "mean", "std", "iterations"]
    assert set(weighted["setting"]) == {"shared_rack"}
    written = pd.read_csv(out / "tables" / "weighted_accuracy_shared_rack.csv")
    assert written["mean"].tolist() == pytest.approx(weighted["mean"].tolist())
    code, stdout, _ = invoke("evaluate", str(out), "--failure-model", str(SHARED_RACK))
    assert code == 0 and "| vanilla   |   2 | 60.00 ± 14.14 |" in stdout


def test_a_configs_failure_models_are_settings_of_its_tables(tmp_path: Path) -> None:
    out = tmp_path / "quick"
    rack = "{survival: {fog1: 0.95, fog2: 0.91, edge: 0.87}, common_cause: [{nodes: [fog1, fog2], probability: 0.05}]}"  # noqa: E501
    write_run(out, {"vanilla": [0.5], "resilinet": [0.8]}, f"failure_models={{rack: {rack}}}")
    code, _, stderr = invoke("report", str(out))
    assert code == 0, stderr
    table = pd.read_csv(out / "tables" / "weighted_accuracy.csv")
    assert list(dict.fromkeys(table["setting"])) == [
        "no_failure",
        "normal",
        "poor",
        "hazardous",
        "rack",
    ]
    code, stdout, _ = invoke("evaluate", str(out), "--failure-model", "rack", "--json")
    assert code == 0 and json.loads(stdout)["failure_model"] == "rack"
    code, _, stderr = invoke("evaluate", str(out), "--failure-model", "rak")
    assert code == 2 and "unknown failure model 'rak' (did you mean 'rack'?" in stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("survival: {fog9: 0.9}\n", "error: bad.yaml: survival.fog9: unknown node 'fog9'"),
        ("common_cause: [{nodes: [], probability: 0.1}]\n",
         "error: bad.yaml: common_cause[0].nodes: an event kills at least one node"),
        ("survival: {edge: 2}\n", "error: bad.yaml: survival.edge: Input should be less than"),
        ("links: {edge->fog2: 0.9}\n",  # the run was not swept over links
         "error: bad.yaml: links.edge->fog2: link 'edge->fog2' is not failable: list it under "
         "topology.failable_links"),
    ],
)  # fmt: skip
def test_bad_failure_model_files_are_one_line(
    run, tmp_path: Path, text: str, expected: str
) -> None:
    out, _ = run
    (tmp_path / "bad.yaml").write_text(text)
    code, _, stderr = invoke("evaluate", str(out), "--failure-model", str(tmp_path / "bad.yaml"))
    assert code == 2 and expected in stderr and stderr.count("\n") == 1, stderr
