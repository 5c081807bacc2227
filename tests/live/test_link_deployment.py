"""A unit whose topology has failable links, live: every link is up, only node processes fail.

The sweep can fail a link (``topology.failable_links``); the live runtime cannot, since a link
is a gRPC call that works while both its ends do. So a live answer must equal the sweep's
combination with every link up, never one with a link down, and ``live-eval`` must compare
against that combination (its link bits 1 in ``live_summary.csv``). The model is the session's
trained ResiliNet rebuilt with link flags (the same weights fit; tests/sweeps/
test_link_failures.py), deployed once for this module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from live_helpers import DEADLINE_MS, Live, invoke, wait_for

from resilinet_cli.live.client import LiveClient
from resilinet_cli.live.deployment import STATE, Deployment
from resilinet_cli.live.unit import load_test, load_unit
from resilinet_cli.sweeps.sweep import predict_combinations

LINKS = ["edge->fog2", "iot->fog2"]  # fog2's chain input and its skip from the IoT node
EXAMPLES = 24


@pytest.fixture(scope="module")
def linked(trained, quick_config, digits, tmp_path_factory):
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.results import runs

    # the trained models' config, with failable links
    config = quick_config.with_overrides([f"topology.failable_links=[{','.join(LINKS)}]"])
    model, _ = build_from_config(
        config, "resilinet", input_shape=digits.x_test.shape[1:],
        num_classes=digits.num_classes, seed=0,
    )  # fmt: skip
    model.set_weights(trained["resilinet"][0].get_weights())
    run = tmp_path_factory.mktemp("live-links") / "run"
    runs.prepare_run_folder(run, config)
    unit_dir = run / "runs" / "resilinet" / "iter-1"
    unit_dir.mkdir(parents=True)
    model.save(unit_dir / "model.keras")
    folder = run / "deployment"
    code, _, stderr = invoke(
        "deploy", str(unit_dir), "--state", str(folder), "--deadline-ms", str(DEADLINE_MS)
    )
    deployment = Deployment.attach(folder) if (folder / STATE).exists() else None
    try:
        assert code == 0, stderr
        unit = load_unit(unit_dir)
        with LiveClient(deployment.spec) as client:
            yield Live(deployment, client, unit, load_test(unit)), model
    finally:
        if deployment is not None:
            deployment.stop()


def test_live_answers_equal_the_links_up_combination(linked):
    live, model = linked
    topology, x = live.unit.topology, live.test.x[:EXAMPLES]
    assert topology.failable_links == tuple(LINKS)  # fog1, fog2, edge, then the two links
    cases = {  # what runs live -> the same nodes with a link down, which must not be what runs
        (1, 1, 1, 1, 1): (1, 1, 1, 0, 1),  # all up; edge->fog2 down: fog2 would take the skip
        (1, 1, 0, 1, 1): (1, 1, 0, 1, 0),  # edge dead; iot->fog2 down too: fog2 would get zeros
    }
    simulated = predict_combinations(model, topology, x, [*cases, *cases.values()])
    for up, down in cases.items():
        nodes = up[: len(topology.failable)]  # the link bits are 1: nothing to fail for them
        dead = [n for n, alive in zip(topology.failable, nodes, strict=True) if not alive]
        for node in dead:
            live.deployment.hang(node)
        try:
            seen = topology.label(nodes)
            wait_for(live.client, x[:1], seen)
            answers = [live.client.infer(x[i : i + 1]) for i in range(EXAMPLES)]
        finally:
            for node in dead:
                live.deployment.resume(node)
        assert {a.contributed for a in answers} == {seen}
        assert not any(a.guess for a in answers)
        probabilities = np.concatenate([a.probabilities for a in answers])
        np.testing.assert_allclose(probabilities, simulated[up], atol=1e-5)
        assert not np.allclose(probabilities, simulated[down], atol=1e-3)  # the link matters
    wait_for(live.client, x[:1], live.all_contributed)


def test_live_eval_compares_with_every_link_up(linked, tmp_path):
    live, _ = linked
    out = tmp_path / "eval"
    code, stdout, stderr = invoke(
        "live-eval", str(live.unit.folder), "--state", str(live.deployment.folder),
        "--chaos", "kill edge@0.3s", "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert "predictions differing from the simulated ones: 0" in stdout
    rows = pd.read_csv(out / "live.csv", dtype={"contributed": str})
    assert set(rows["contributed"]) == {"111", "110"}  # fog1, fog2, edge: no link bits live
    summary = pd.read_csv(out / "live_summary.csv", dtype={"combination": str})
    # the combination compared with: the contributing nodes, then edge->fog2, iot->fog2 up
    assert set(summary["combination"]) == {"11111", "11011"}
    assert summary["information_flow"].all()
    assert summary["differing"].sum() == 0
    assert summary["examples"].sum() == len(rows)
