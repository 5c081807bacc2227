"""A run whose topology has failable links, end to end: trained with failout drawn from a
failure model with links, swept over nodes and links, scored and rescored under that model,
and one dead link evaluated on the saved model."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from paths import CONFIGS
from run_helpers import TINY

from resilinet_cli.api import alive_columns, failable_nodes, predict
from resilinet_cli.cli import main
from resilinet_cli.config import read_yaml
from resilinet_cli.topology import Topology

NODES = ["fog1", "fog2", "edge"]
LINKS = ["edge->fog2", "iot->fog2"]
FLAKY = {"survival": {"fog1": 0.9, "fog2": 0.9, "edge": 0.8},
         "links": {"edge->fog2": 0.7, "iot->fog2": 0.95}}  # fmt: skip


def flaky_probability(combo: tuple[int, ...]) -> float:
    """FLAKY by hand: every node and link fails on its own."""
    survival = (0.9, 0.9, 0.8, 0.7, 0.95)
    p = 1.0
    for alive, s in zip(combo, survival, strict=True):
        p *= s if alive else 1 - s
    return p


@pytest.fixture(scope="module")
def linked_run(tmp_path_factory) -> Path:
    """The quickstart, with fog2's two inputs failable and failout drawn from FLAKY."""
    folder = tmp_path_factory.mktemp("links")
    raw = read_yaml(CONFIGS / "quickstart.yaml")
    raw["failure_models"] = {"flaky": FLAKY}
    raw["train"]["failout"] = {"model": "flaky", "granularity": "example"}
    (folder / "linked.yaml").write_text(yaml.safe_dump(raw))
    out = folder / "run"
    links = ",".join(f"'{link}'" for link in LINKS)  # Hydra's grammar needs '>' quoted
    args = ["run", str(folder / "linked.yaml"), "--out", str(out), "--variants", "resilinet",
            "--set", f"topology.failable_links=[{links}]", "--set", "iterations=1",
            *TINY]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def test_the_sweep_covers_every_node_and_link_combination(linked_run: Path) -> None:
    frame = pd.read_csv(linked_run / "runs" / "resilinet" / "iter-1" / "combinations.csv")
    assert list(frame.columns) == [*NODES, *LINKS, "information_flow", "accuracy"]
    combos = [tuple(row) for row in frame[NODES + LINKS].to_numpy().tolist()]
    assert combos == list(itertools.product((0, 1), repeat=5))
    # edge alive but both its ways on (edge->fog2, and iot->fog2 around it) cut, fog1 dead:
    # nothing reaches the cloud; with fog1 alive the edge -> fog1 skip still carries data
    flow = dict(zip(combos, frame["information_flow"], strict=True))
    assert not flow[(0, 1, 1, 0, 0)] and flow[(1, 1, 1, 0, 0)]
    # a dead link to a dead fog2 changes nothing: the same node outputs, the same accuracy
    accuracy = dict(zip(combos, frame["accuracy"], strict=True))
    assert accuracy[(1, 0, 1, 0, 1)] == accuracy[(1, 0, 1, 1, 1)]


def test_failout_draws_the_links_after_the_nodes(linked_run: Path) -> None:
    from resilinet_cli.results.model_files import load_model

    model = load_model(linked_run / "runs" / "resilinet" / "iter-1" / "model.keras")
    assert model.inputs[1].shape[-1] == 5
    assert model.get_layer("failout").survival == [0.9, 0.9, 0.8, 0.7, 0.95]
    assert model.get_layer("edge_fog2_link_gate").index == 3
    assert alive_columns(model) == [*NODES, *LINKS] and failable_nodes(model) == NODES
    x = np.random.default_rng(0).random((4, *model.inputs[0].shape[1:]), dtype="float32")
    mask = np.array([[1, 1, 1, 0, 1]] * 4, "float32")
    expected = model.predict([x, mask], verbose=0)
    np.testing.assert_array_equal(predict(model, x, dead=["edge->fog2"]), expected)


def test_the_failure_model_with_links_scores_the_run(linked_run: Path) -> None:
    frame = pd.read_csv(linked_run / "runs" / "resilinet" / "iter-1" / "combinations.csv")
    combos = [tuple(row) for row in frame[NODES + LINKS].to_numpy().tolist()]
    expected = sum(flaky_probability(c) * a for c, a in zip(combos, frame["accuracy"], strict=True))
    table = pd.read_csv(linked_run / "tables" / "weighted_accuracy.csv").set_index("setting")
    assert table.loc["flaky", "mean"] == pytest.approx(expected, abs=1e-12)
    # a reliability setting of the nodes alone: failable links always carry data
    topology = Topology.from_config(_config(linked_run).topology)
    hazardous = topology.reliability["hazardous"]
    up = [(c, a) for c, a in zip(combos, frame["accuracy"], strict=True) if c[3] and c[4]]
    assert table.loc["hazardous", "mean"] == pytest.approx(
        sum(topology.probability(c, hazardous) * a for c, a in up), abs=1e-12
    )
    result = CliRunner().invoke(
        main, ["evaluate", str(linked_run), "--failure-model", "flaky", "--json"]
    )
    assert result.exit_code == 0, result.output
    units = json.loads(result.stdout)["units"]
    assert units[0]["accuracy"] == pytest.approx(expected, abs=1e-12)


def test_evaluate_takes_a_dead_link(linked_run: Path) -> None:
    unit = linked_run / "runs" / "resilinet" / "iter-1"
    frame = pd.read_csv(unit / "combinations.csv")
    row = frame[(frame[NODES].sum(axis=1) == 3) & (frame["edge->fog2"] == 0)]
    row = row[row["iot->fog2"] == 1]
    result = CliRunner().invoke(
        main, ["evaluate", str(unit / "model.keras"), "--failures", "edge->fog2"]
    )
    assert result.exit_code == 0, result.output
    expected = 100 * float(row["accuracy"].iloc[0])
    assert f"accuracy with edge->fog2 dead (combination 11101): {expected:.2f}%" in result.output
    result = CliRunner().invoke(
        main, ["evaluate", str(unit / "model.keras"), "--failures", "edge->fog1"]
    )
    assert result.exit_code == 2
    assert "--failures: unknown failable node or link 'edge->fog1'" in result.output


def _config(run: Path):
    from resilinet_cli.config import load_config

    return load_config(run / "config.yaml")
