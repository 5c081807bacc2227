"""Failable links end to end, on the failure_model experiment's run (configs/ablations/
digits_failure_model.yaml, whose topology lets edge->fog2 and fog2->fog1 fail): a unit trained
with failout drawn from a failure model with links, swept over nodes and links, scored and
rescored under that model, and one dead link evaluated on the saved model."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from resilinet_cli.api import alive_columns, failable_nodes, predict
from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.topology import Topology

NODES = ["fog1", "fog2", "edge"]
LINKS = ["edge->fog2", "fog2->fog1"]
FLAKY = (0.95, 0.95, 0.9, 0.75, 0.8)  # flaky_links: survival of the nodes, then of the links


def flaky_probability(combo: tuple[int, ...]) -> float:
    """flaky_links by hand: every node and link fails on its own."""
    p = 1.0
    for alive, s in zip(combo, FLAKY, strict=True):
        p *= s if alive else 1 - s
    return p


@pytest.fixture(scope="module")
def unit(failure_model_run: Path) -> Path:
    """The unit trained with failout drawn from flaky_links."""
    return failure_model_run / "runs" / "failout=flaky_links" / "resilinet" / "iter-1"


def combinations(unit: Path) -> tuple[list[tuple[int, ...]], pd.DataFrame]:
    frame = pd.read_csv(unit / "combinations.csv")
    return [tuple(row) for row in frame[NODES + LINKS].to_numpy().tolist()], frame


def test_the_sweep_covers_every_node_and_link_combination(unit: Path) -> None:
    combos, frame = combinations(unit)
    assert list(frame.columns) == [*NODES, *LINKS, "information_flow", "accuracy"]
    assert combos == list(itertools.product((0, 1), repeat=5))
    flow = dict(zip(combos, frame["information_flow"], strict=True))
    # both chain hops into and out of fog2 dead: the skips iot->fog2->cloud still carry data
    assert flow[(1, 1, 1, 0, 0)] and not flow[(0, 0, 1, 1, 1)]
    # a dead link to a dead fog2 changes nothing: the same node outputs, the same accuracy
    accuracy = dict(zip(combos, frame["accuracy"], strict=True))
    assert accuracy[(1, 0, 1, 0, 1)] == accuracy[(1, 0, 1, 1, 1)]


def test_failout_draws_the_links_after_the_nodes(unit: Path) -> None:
    from resilinet_cli.results.model_files import load_model

    model = load_model(unit / "model.keras")
    assert model.inputs[1].shape[-1] == 5
    assert model.get_layer("failout").survival == list(FLAKY)
    assert model.get_layer("edge_fog2_link_gate").index == 3
    assert alive_columns(model) == [*NODES, *LINKS] and failable_nodes(model) == NODES
    x = np.random.default_rng(0).random((4, *model.inputs[0].shape[1:]), dtype="float32")
    mask = np.array([[1, 1, 1, 0, 1]] * 4, "float32")
    expected = model.predict([x, mask], verbose=0)
    np.testing.assert_array_equal(predict(model, x, dead=["edge->fog2"]), expected)
    independent = load_model(unit.parents[2] / "failout=independent" / "resilinet" / "iter-1"
                             / "model.keras")  # fmt: skip
    assert independent.get_layer("failout").survival == [0.9, 0.9, 0.9, 1.0, 1.0]


def test_the_failure_model_with_links_scores_the_run(unit: Path, failure_model_run: Path) -> None:
    combos, frame = combinations(unit)
    expected = sum(flaky_probability(c) * a for c, a in zip(combos, frame["accuracy"], strict=True))
    table = pd.read_csv(failure_model_run / "tables" / "weighted_accuracy.csv")
    ours = table[table["failout"] == "flaky_links"].set_index("setting")
    assert ours.loc["flaky_links", "mean"] == pytest.approx(expected, abs=1e-12)
    # a reliability setting of the nodes alone: failable links always carry data
    config = load_config(failure_model_run / "config.yaml")
    topology = Topology.from_config(config.topology)
    hazardous = topology.reliability["hazardous"]
    up = [(c, a) for c, a in zip(combos, frame["accuracy"], strict=True) if c[3] and c[4]]
    assert ours.loc["hazardous", "mean"] == pytest.approx(
        sum(topology.probability(c, hazardous) * a for c, a in up), abs=1e-12
    )
    result = CliRunner().invoke(
        main, ["evaluate", str(failure_model_run), "--failure-model", "flaky_links", "--json"]
    )
    assert result.exit_code == 0, result.output
    units = {u["unit"]: u["accuracy"] for u in json.loads(result.stdout)["units"]}
    assert units["failout=flaky_links/resilinet/iter-1"] == pytest.approx(expected, abs=1e-12)


def test_evaluate_takes_a_dead_link(unit: Path) -> None:
    _, frame = combinations(unit)
    row = frame[(frame[NODES].sum(axis=1) == 3) & (frame["edge->fog2"] == 0)]
    row = row[row["fog2->fog1"] == 1]
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
