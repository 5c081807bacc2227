"""A live deployment of a model with exits (vanilla+exits: heads at edge and fog1) against
the exit sweep's rules, example by example, with a node killed.

The unit is trained here (2 epochs on 600 digits) and given an exits.json whose threshold T
splits the edge head's test examples, so that under the threshold rule some requests exit at
the edge and others go on to the cloud. Killing fog2 cuts the cloud off (Vanilla has no
skips): the fallback rule must then answer at the edge, the deepest exit information reaches.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from live_helpers import DEADLINE_MS, invoke
from run_helpers import trained_briefly

from resilinet_cli.live.deployment import STATE, Deployment
from resilinet_cli.live.unit import load_test, load_unit
from resilinet_cli.results import integrity
from resilinet_cli.results.layout import EXITS as EXITS_JSON
from resilinet_cli.variants import normalised_entropy

VARIANT = "vanilla+exits"
CHAIN = ["iot", "edge", "fog2", "fog1", "cloud"]  # the Health topology's node order
KILL = "kill fog2@0.5s"


@pytest.fixture(scope="module")
def exit_unit(tmp_path_factory):
    """A trained vanilla+exits unit folder (runs/vanilla+exits/iter-1) with its exits.json."""
    from resilinet_cli.config import load_config
    from resilinet_cli.data import load_splits
    from resilinet_cli.results import runs

    folder = tmp_path_factory.mktemp("exit-live")
    path = folder / "exits.yaml"
    path.write_text(
        "name: exits\ntopology: health\n"
        "dataset: {name: digits, subset: {train: 600, test: 200}}\n"
        "model: {name: mlp, hidden_units: 32, partition: 1}\n"
        f"variants: ['{VARIANT}']\n"
        f"techniques:\n  '{VARIANT}': {{exits: [edge, fog1]}}\n"
        "train: {epochs: 2, batch_size: 64}\n"
    )
    config = load_config(path)
    model, _, _ = trained_briefly(config, VARIANT, load_splits(config.dataset), folder / "fit")
    out = folder / "run"
    runs.prepare_run_folder(out, config)
    unit = out / "runs" / VARIANT / "iter-1"
    unit.mkdir(parents=True)
    model.save(unit / "model.keras")
    test = load_test(load_unit(unit))
    alive = np.ones((len(test.x), 3), "float32")
    edge = np.asarray(model.predict([test.x, alive], verbose=0)[1])  # outputs: final, edge, fog1
    threshold = a_threshold_between(sorted(normalised_entropy(p.astype(float)) for p in edge))
    saved = {"threshold": threshold, "model_sha256": integrity.sha256(unit / "model.keras")}
    (unit / EXITS_JSON).write_text(json.dumps(saved))  # as calibrate-exits writes it
    return unit


def a_threshold_between(entropies: list[float]) -> float:
    """A T in the middle half of the sorted entropies, in their widest gap: far from each."""
    gaps = np.diff(entropies)
    start = len(gaps) // 4
    middle = start + int(np.argmax(gaps[start : 3 * start]))
    assert gaps[middle] > 1e-4, "no clear gap to put T in"
    return float(entropies[middle] + gaps[middle] / 2)


def live_eval(unit, out, *extra: str) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    code, stdout, stderr = invoke(
        "live-eval", str(unit), "--chaos", KILL, "--out", str(out),
        "--deadline-ms", str(DEADLINE_MS), *extra,
    )  # fmt: skip
    assert code == 0, stderr
    rows = pd.read_csv(out / "live.csv", dtype={"contributed": str}, keep_default_na=False)
    return stdout, rows, pd.read_csv(out / "live_summary.csv", dtype={"combination": str})


def test_the_fallback_rule_answers_at_the_deepest_reached_exit(exit_unit, tmp_path):
    stdout, rows, summary = live_eval(exit_unit, tmp_path)
    assert "predictions differing from the simulated ones: 0" in stdout
    assert summary["differing"].sum() == 0
    # fog1, fog2, edge: all up, the cloud answers; fog2 dead, the edge's exit answers
    by = rows.groupby("contributed")["answered_by"].agg(set).to_dict()
    assert by["111"] == {"cloud"} and by["101"] == {"edge"}
    assert set(by) <= {"111", "101"}
    cloud = rows[rows["answered_by"] == "cloud"]
    assert set(cloud["computed"]) == {" ".join(CHAIN)}
    exits = pd.read_csv(tmp_path / "live_exits.csv")
    assert set(exits["answered_by"]) == {"cloud", "edge"}
    assert exits["requests"].sum() == len(rows)


def test_the_threshold_rule_exits_early_and_the_nodes_above_compute_nothing(exit_unit, tmp_path):
    deployed = tmp_path / "deployment"
    code, _, stderr = invoke(
        "deploy", str(exit_unit), "--state", str(deployed), "--exit-rule", "threshold",
        "--deadline-ms", str(DEADLINE_MS),
    )  # fmt: skip
    deployment = Deployment.attach(deployed) if (deployed / STATE).exists() else None
    try:
        assert code == 0, stderr
        threshold = json.loads((exit_unit / EXITS_JSON).read_text())["threshold"]
        assert deployment.spec.exit_rule == "threshold"
        assert deployment.spec.threshold == threshold
        out = tmp_path / "eval"
        code, stdout, stderr = invoke(
            "live-eval", str(exit_unit), "--state", str(deployed), "--chaos", KILL,
            "--out", str(out),
        )  # fmt: skip
        assert code == 0, stderr
    finally:
        if deployment is not None:
            deployment.stop()
    assert "predictions differing from the simulated ones: 0" in stdout
    rows = pd.read_csv(out / "live.csv", dtype={"contributed": str}, keep_default_na=False)
    summary = pd.read_csv(out / "live_summary.csv", dtype={"combination": str})
    assert summary["differing"].sum() == 0
    assert summary["near_threshold"].sum() <= 2
    everyone = rows[rows["contributed"] == "111"]
    # T splits the edge head's examples: with every node up some exit there, some go on
    assert set(everyone["answered_by"]) >= {"edge", "cloud"}
    assert set(rows.loc[rows["contributed"] == "101", "answered_by"]) == {"edge"}
    # an exited request is computed by the IoT node and the edge only (with fog2 dead the
    # cloud, cut off, computes on zeros before it asks the exits: no node knows it is cut off)
    exited = everyone[everyone["answered_by"] == "edge"]
    assert set(exited["computed"]) == {"iot edge"}
    went_on = everyone[everyone["answered_by"] == "cloud"]
    assert set(went_on["computed"]) == {" ".join(CHAIN)}
    computed = {node: int(rows["computed"].str.split().apply(lambda c, n=node: n in c).sum())
                for node in CHAIN}  # fmt: skip
    assert computed["fog1"] < computed["edge"] == len(rows)
