"""Standby replicas and learned stand-ins live, against the sweep, example by example.

Two variants on the Health chain, each trained here (2 epochs on 600 digits) and deployed as
one process per node and per replica: deepFogGuard (Add merges) with a full-width standby of
the edge and stand-ins on every slot, and ResiliNet (mux) with a half-width standby and a
stand-in on each mux's chain slot. Every combination of dead processes over the alive columns
(fog1, fog2, edge, edge_r2) is made real by hanging them (SIGSTOP); the live probabilities must
equal ``predict_combinations`` (the full model fed the alive mask) for each example: with the
primary dead the standby serves; with both dead the receivers' stand-ins fill the edge's slot.
A killed primary (connection refused) hands over to the standby at once, under ``live-eval``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from live_helpers import DEADLINE_MS, Live, invoke, wait_for
from run_helpers import trained_briefly

from resilinet_cli.live.client import LiveClient
from resilinet_cli.live.compute import NodeCompute
from resilinet_cli.live.deployment import Deployment
from resilinet_cli.live.launch import LaunchOptions, unit_spec
from resilinet_cli.live.semantics import contributing
from resilinet_cli.live.unit import load_test, load_unit
from resilinet_cli.sweeps.sweep import predict_combinations

EXAMPLES = 6  # per combination
# over (fog1, fog2, edge, edge_r2): all up; primary dead, standby serving; both dead (the edge
# role is down: stand-ins fill its slots); fog2 dead (a stand-in for it at fog1); fog2 and the
# edge role dead (a stand-in from nothing but zeros); fog1 dead (a stand-in at the cloud)
COMBINATIONS = [(1, 1, 1, 1), (1, 1, 0, 1), (1, 1, 0, 0), (1, 0, 1, 1), (1, 0, 0, 0), (0, 1, 1, 1)]
FULL = "deepfogguard+standby+standin"  # Add merges, full-width standby, stand-ins everywhere
HALF = "resilinet+half+standin"  # mux, half-width standby, stand-ins on the chain slots
TECHNIQUES = (
    f"  '{FULL}': {{replicas: {{edge: 2}}, stand_in: true}}\n"
    f"  '{HALF}': {{replicas: {{edge: 2}}, standby: {{edge: {{width: 0.5}}}}, stand_in: true}}\n"
)


@pytest.fixture(scope="module")
def units(tmp_path_factory):
    """Both variants trained, as unit folders (runs/<variant>/iter-1) of one run."""
    from resilinet_cli.config import load_config
    from resilinet_cli.data import load_splits
    from resilinet_cli.results import runs

    folder = tmp_path_factory.mktemp("replica-live")
    path = folder / "replicas.yaml"
    path.write_text(
        "name: replicas\ntopology: health\n"
        "dataset: {name: digits, subset: {train: 600, test: 200}}\n"
        "model: {name: mlp, hidden_units: 32, partition: 1}\n"
        f"variants: ['{FULL}', '{HALF}']\n"
        f"techniques:\n{TECHNIQUES}"
        "train: {epochs: 2, batch_size: 64}\n"
    )
    config = load_config(path)
    splits = load_splits(config.dataset)
    out = folder / "run"
    runs.prepare_run_folder(out, config)
    models = {}
    for variant in (FULL, HALF):
        model, _, _ = trained_briefly(config, variant, splits, folder / f"fit-{variant}")
        unit = out / "runs" / variant / "iter-1"
        unit.mkdir(parents=True)
        model.save(unit / "model.keras")
        models[variant] = (unit, model)
    return models


def deployed(units, variant, folder):
    unit_dir, model = units[variant]
    unit = load_unit(unit_dir)
    test = load_test(unit)
    spec = unit_spec(unit, test.prior, LaunchOptions(deadline_ms=DEADLINE_MS))
    assert spec.processes == ["iot", "edge", "fog2", "fog1", "cloud", "edge_r2"]
    return Deployment.start(spec, folder), unit, test, model


def live_against_simulated(live: Live, model) -> tuple[int, set[str]]:
    """Hang each combination's dead processes; (differing predictions, bit strings seen)."""
    deployment, client, unit, test = live.deployment, live.client, live.unit, live.test
    topology = unit.topology
    assert topology.alive_columns == ("fog1", "fog2", "edge", "edge_r2")
    x = test.x[:EXAMPLES]
    combos = COMBINATIONS
    simulated = predict_combinations(
        model, topology, x, [c for c in combos if topology.has_information_flow(c)]
    )
    everyone = topology.label(contributing(topology, (1, 1, 1, 1)))
    assert everyone == "1110"  # the primary serves, the standby waits
    differing, seen_all = 0, set()
    for combo in combos:
        dead = [n for n, a in zip(topology.alive_columns, combo, strict=True) if not a]
        for node in dead:
            deployment.hang(node)
        seen = topology.label(contributing(topology, combo))
        wait_for(client, x[:1], seen)
        label = topology.label(combo)
        answers = [client.infer(x[i : i + 1], f"{label}-{i}") for i in range(EXAMPLES)]
        for node in dead:
            deployment.resume(node)
        assert {a.contributed for a in answers} == {seen}
        seen_all.add(seen)
        if combo in simulated:
            assert not any(a.guess for a in answers)
            probabilities = np.concatenate([a.probabilities for a in answers])
            np.testing.assert_allclose(probabilities, simulated[combo], atol=1e-5)
            predictions = np.concatenate([a.predictions for a in answers])
            differing += int((predictions != simulated[combo].argmax(axis=-1)).sum())
        else:
            assert all(a.guess for a in answers)
        wait_for(client, x[:1], everyone)
    return differing, seen_all


def stand_in_matters(unit, model, x) -> bool:
    """Whether the trained stand-ins change the simulated answer with the edge role dead
    (primary and standby): the live match then proves the receivers ran them."""
    from resilinet_cli.results.model_files import load_model

    zeroed = load_model(unit.model_path)
    for layer in zeroed.layers:
        if layer.name.endswith("_stand_in_out"):
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    both_dead = (1, 1, 0, 0)
    trained = predict_combinations(model, unit.topology, x, [both_dead])[both_dead]
    zeros = predict_combinations(zeroed, unit.topology, x, [both_dead])[both_dead]
    return not np.allclose(trained, zeros, atol=1e-4)


# Processes for the Add-merge unit only (each deployment costs ~40 s on 2 cores); the mux unit's
# per-process computations are chained without processes below, over every mask.
@pytest.mark.parametrize("variant", [FULL])
def test_live_equals_simulated_with_replicas_and_stand_ins(units, variant, tmp_path):
    deployment, unit, test, model = deployed(units, variant, tmp_path / "deployment")
    with deployment, LiveClient(deployment.spec) as client:
        live = Live(deployment, client, unit, test)
        differing, seen = live_against_simulated(live, model)
        # primary dead, standby serving; both dead (the role is down, stand-ins fill in)
        assert {"1101", "1100", "1110"} <= seen
        assert differing == 0
        assert stand_in_matters(unit, model, test.x[:EXAMPLES])
        # a killed primary (connection refused) under live-eval, attached to this deployment:
        # the standby serves from then on, every answer as the sweep's (last: a restart would
        # cost a TensorFlow start; bench/replica_failover.py restarts)
        out = tmp_path / "eval"
        code, stdout, stderr = invoke(
            "live-eval", str(units[variant][0]), "--state", str(tmp_path / "deployment"),
            "--chaos", "kill edge@0.3s", "--duration", "1.5", "--out", str(out),
        )  # fmt: skip
        assert code == 0, stderr
        assert "predictions differing from the simulated ones: 0" in stdout
        summary = pd.read_csv(out / "live_summary.csv", dtype={"combination": str})
        assert summary["differing"].sum() == 0
        counts = dict(zip(summary["combination"], summary["examples"], strict=True))
        assert counts.get("1110", 0) > 0 and counts.get("1101", 0) > 0  # primary, then standby
        # Any other view (both edges in one answer) only while the kill reaches the receivers
        # one by one: a mixed view, the primary used on one path and the standby on another.
        live = pd.read_csv(out / "live.csv", dtype={"contributed": str})
        handover = live[~live["contributed"].isin(["1110", "1101"])]
        assert handover["mixed"].all()


@pytest.mark.parametrize("variant", [FULL, HALF])
def test_chained_computes_equal_the_sweep_in_every_combination(units, variant):
    """Without processes: each process's computation (compute.py) chained as the runtime
    chains them (a role served by its first alive replica) equals the sweep, all 16 masks."""
    unit_dir, model = units[variant]
    topology = load_unit(unit_dir).topology
    processes = [*topology.nodes, *(column for column, _ in topology.replicas)]
    computes = {p: NodeCompute(model, topology, p, max_rows=64) for p in processes}
    x = load_test(load_unit(unit_dir)).x[:16]
    runnable = [c for c in topology.combinations() if topology.has_information_flow(c)]
    simulated = predict_combinations(model, topology, x, runnable)
    for combo in runnable:
        flags = dict(zip(topology.alive_columns, combo, strict=True))
        outputs: dict[str, np.ndarray | None] = {}
        for node in topology.nodes:
            serving = topology.serving(flags, node)
            if serving is None:
                outputs[node] = None
            elif node == topology.input_node:
                outputs[node] = computes[node].run_input(x)
            else:
                received = [outputs[s] for s in computes[serving].senders]
                outputs[node] = computes[serving].run(received, len(x))
        np.testing.assert_allclose(outputs[topology.output_node], simulated[combo], atol=1e-5)
        reported = contributing(topology, combo)  # what a live answer reports predicts the same
        np.testing.assert_allclose(simulated[reported], simulated[combo], atol=1e-6)
