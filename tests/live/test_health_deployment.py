"""One live Health deployment (ResiliNet, mux) against the sweep's simulation, and its faults.

The deployment is started by ``resilinet deploy`` (detached, as a user would) and driven by
pid from its state file. Every combination of dead nodes is made real by hanging their
processes (SIGSTOP): the receivers find them dead within a deadline and stop waiting for them;
the live predictions must then equal ``predict_combinations`` example by example. Killing,
restarting, a malformed tensor, a call without the token, ``live-eval`` under chaos and the
final ``deploy --stop`` use the same deployment.
"""

from __future__ import annotations

import itertools
import time

import grpc
import numpy as np
import pandas as pd
import pytest
from live_helpers import DEADLINE_MS, Live, invoke, node_processes, wait_for

from resilinet_cli.live import live_pb2, live_pb2_grpc
from resilinet_cli.live.client import LiveClient
from resilinet_cli.live.deployment import STATE, Deployment
from resilinet_cli.live.security import channel
from resilinet_cli.live.semantics import contributing
from resilinet_cli.live.summary import LIVE_COLUMNS
from resilinet_cli.live.unit import load_test, load_unit
from resilinet_cli.live.wire import to_message
from resilinet_cli.sweeps.sweep import predict_combinations

EXAMPLES = 24  # per combination
DEADLINE = DEADLINE_MS / 1000
NODES = ["iot", "edge", "fog2", "fog1", "cloud"]  # the Health chain, in order
SLACK = 0.15  # seconds of scheduling noise allowed on a shared 2-core machine


@pytest.fixture(scope="module")
def live(live_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("health-deployment")
    unit_dir = live_run / "runs" / "resilinet" / "iter-1"
    code, stdout, stderr = invoke(
        "deploy", str(unit_dir), "--state", str(folder), "--deadline-ms", str(DEADLINE_MS)
    )
    deployment = Deployment.attach(folder) if (folder / STATE).exists() else None
    try:
        assert code == 0, stderr
        unit = load_unit(unit_dir)
        for node in unit.topology.nodes:  # each node's time to ready and address are printed
            assert f"{node:>8}  ready after " in stdout
            assert deployment.spec.address(node) in stdout
        with LiveClient(deployment.spec) as client:
            yield Live(deployment, client, unit, load_test(unit))
    finally:
        if deployment is not None:
            deployment.stop()  # by pid: also when a test failed


def test_live_equals_simulated_for_every_combination(live, trained):
    deployment, client, unit, test = live.deployment, live.client, live.unit, live.test
    model = trained["resilinet"][0]
    topology = unit.topology
    x = test.x[:EXAMPLES]
    combos = topology.combinations()
    runnable = [c for c in combos if topology.has_information_flow(c)]
    simulated = predict_combinations(model, topology, x, runnable)
    differing = 0
    distinct = set()
    for combo in combos:
        dead = [n for n, alive in zip(topology.failable, combo, strict=True) if not alive]
        for node in dead:
            deployment.hang(node)
        seen = topology.label(contributing(topology, combo))  # e.g. 000 for 001: edge is cut off
        wait_for(client, x[:1], seen)
        answers = [
            client.infer(x[i : i + 1], f"{topology.label(combo)}-{i}") for i in range(EXAMPLES)
        ]
        for node in dead:
            deployment.resume(node)
        assert {a.contributed for a in answers} == {seen}
        # after detection no request waits for a dead node's deadline again
        assert max(a.latency_ms for a in answers) < DEADLINE_MS
        if combo in simulated:
            assert not any(a.guess for a in answers)
            live_predictions = np.concatenate([a.predictions for a in answers])
            expected = simulated[combo].argmax(axis=-1)
            differing += int((live_predictions != expected).sum())
            probabilities = np.concatenate([a.probabilities for a in answers])
            np.testing.assert_allclose(probabilities, simulated[combo], atol=1e-5)
            distinct.add(tuple(live_predictions))
        else:
            assert all(a.guess for a in answers)
            assert all(0 <= a.predictions[0] < len(test.prior) for a in answers)
        wait_for(client, x[:1], live.all_contributed)
    assert differing == 0
    assert len(distinct) > 1  # the combinations really differ: the check has teeth


def test_a_hung_node_costs_one_deadline_once(live):
    deployment, client, test = live.deployment, live.client, live.test
    x = test.x[:1]
    wait_for(client, x, live.all_contributed)
    deployment.hang("fog2")
    try:
        started = time.monotonic()
        first = client.infer(x)
        detected = time.monotonic() - started
        later = [client.infer(x) for _ in range(10)]
    finally:
        deployment.resume("fog2")
    assert detected <= DEADLINE + 0.05 + SLACK
    assert first.contributed == "101"  # fog1, fog2, edge
    assert all(a.contributed == "101" for a in later)
    assert max(a.latency_ms for a in later) < DEADLINE_MS / 2
    wait_for(client, x, live.all_contributed, seconds=2.0)


def test_a_killed_node_is_found_at_once_and_used_again_after_a_restart(live):
    deployment, client, test = live.deployment, live.client, live.test
    x = test.x[:1]
    wait_for(client, x, live.all_contributed)
    deployment.kill("edge")
    answers = [client.infer(x) for _ in range(5)]
    assert all(a.contributed == "110" for a in answers)
    assert max(a.latency_ms for a in answers) < DEADLINE_MS  # refused, not waited for
    deployment.restart("edge")  # waits until it serves
    started = time.monotonic()
    wait_for(client, x, live.all_contributed, seconds=5.0, streak=1)
    spec = deployment.spec
    assert time.monotonic() - started < spec.rise * spec.health_interval_s + 0.25 + 1.0


def test_a_malformed_tensor_is_refused_and_the_node_keeps_serving(live):
    deployment, client, test = live.deployment, live.client, live.test
    stub = client.stub
    good = test.x[:1]
    bad = {
        "dtype": good.astype("float64"),
        "shape": good[:, :10],
        "oversized": np.zeros((deployment.spec.max_rows + 1, good.shape[1]), good.dtype),
    }
    for name, features in bad.items():
        request = live_pb2.InferRequest(request_id=name, features=to_message(features))
        with pytest.raises(grpc.RpcError) as refused:
            stub.Infer(request, timeout=2, metadata=client.metadata)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, name
    lying = to_message(good)
    lying.shape[:] = [2, good.shape[1]]  # says two rows, carries one
    with pytest.raises(grpc.RpcError) as refused:
        stub.Infer(live_pb2.InferRequest(features=lying), timeout=2, metadata=client.metadata)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert client.infer(good).predictions.shape == (1,)


def test_a_call_without_the_token_is_refused(live):
    deployment, test = live.deployment, live.test
    request = live_pb2.InferRequest(features=to_message(test.x[:1]))
    for node in ("iot", "fog1"):
        with channel(deployment.spec, node) as outside:
            stub = live_pb2_grpc.NodeStub(outside)
            for metadata in ((), (("x-resilinet-token", "guessed"),)):
                with pytest.raises(grpc.RpcError) as refused:
                    if node == "iot":
                        stub.Infer(request, timeout=2, metadata=metadata)
                    else:
                        pull = live_pb2.PullRequest(request_id="x", rows=1)
                        stub.Output(pull, timeout=2, metadata=metadata)
                assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_live_eval_under_chaos_through_the_running_deployment(live, tmp_path):
    deployment, unit = live.deployment, live.unit
    wait_for(live.client, live.test.x[:1], live.all_contributed)
    out = tmp_path / "eval"
    chaos = "hang fog2@0.3s, resume fog2@0.8s, kill fog1@1.2s"
    code, stdout, stderr = invoke(
        "live-eval", str(unit.folder), "--state", str(deployment.folder), "--chaos", chaos,
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert "predictions differing from the simulated ones: 0" in stdout
    rows = pd.read_csv(out / "live.csv", dtype={"contributed": str})
    header = (
        "example,sent_at_ms,latency_ms,contributed,prediction,label,guess,answered_by,computed,"
        "lost,mixed,client,queue_ms:iot,compute_ms:iot,queue_ms:edge,compute_ms:edge,queue_ms:fog2,"
        "compute_ms:fog2,queue_ms:fog1,compute_ms:fog1,queue_ms:cloud,compute_ms:cloud,"
        "transfer_ms:iot->edge,transfer_ms:edge->fog2,transfer_ms:fog2->fog1,"
        "transfer_ms:fog1->cloud,transfer_ms:iot->fog2,transfer_ms:edge->fog1,"
        "transfer_ms:fog2->cloud"
    )
    assert (out / "live.csv").read_text().splitlines()[0] == header
    assert list(rows.columns[: len(LIVE_COLUMNS)]) == LIVE_COLUMNS
    assert_timings_add_up(rows, out)
    assert len(rows) >= len(live.test.y)  # the whole split, at least once
    # fog1, fog2, edge: all up, then fog2 hung (not contributing), then fog1 killed
    assert set(rows["contributed"]) >= {"111", "101", "011"}
    summary = pd.read_csv(out / "live_summary.csv", dtype={"combination": str})
    assert (out / "live_summary.csv").read_text().splitlines()[0] == (
        "combination,examples,information_flow,live_accuracy,sweep_accuracy,differing,"
        "mixed_view,lost_message,near_threshold,latency_p50_ms,latency_p99_ms"
    )
    # the Health topology has no failable links: a combination is the contributed bits
    assert set(summary["combination"]) == set(rows["contributed"])
    assert summary["differing"].sum() == 0
    assert summary["examples"].sum() == len(rows)
    # a request caught while a node fails or recovers is counted apart, and such are rare
    assert summary["mixed_view"].sum() <= 2 * 3
    assert "mixed views (a node failing or recovering mid-request, not compared): " in stdout
    events = pd.read_csv(out / "live_events.csv")
    assert list(events["event"]) == ["hang", "resume", "kill"]
    assert events["seen_after_ms"].notna().all()
    assert events["seen_after_ms"].iloc[0] <= DEADLINE_MS + 50 + 1000 * SLACK
    assert (out / "live_latency.png").stat().st_size > 10_000
    assert not deployment.alive("fog1") and deployment.alive("fog2")


def assert_timings_add_up(rows: pd.DataFrame, out) -> None:
    """Each node that computed timed its queue and compute, each hop into it its transfer;
    on the Health chain every node computes in turn, so a request's queue and compute times
    together are at most its latency, measured around them by the client."""
    for node in NODES:
        ran = rows["computed"].fillna("").str.split().apply(lambda nodes, n=node: n in nodes)
        timed = rows.loc[ran, [f"queue_ms:{node}", f"compute_ms:{node}"]]
        assert timed.notna().all().all() and (timed >= 0).all().all()
        assert rows.loc[~ran, f"queue_ms:{node}"].isna().all()
    spent = sum(rows[f"{kind}_ms:{n}"].fillna(0) for n in NODES for kind in ("queue", "compute"))
    assert (spent <= rows["latency_ms"] + 0.5).all()
    chain = [f"transfer_ms:{a}->{b}" for a, b in itertools.pairwise(NODES)]
    healthy = rows[(rows["contributed"] == "111") & (rows["mixed"] == 0)]
    assert healthy[chain].notna().all().all() and (healthy[chain] >= 0).all().all()
    hops = pd.read_csv(out / "live_hops.csv")
    assert list(hops.columns) == ["hop", "kind", "requests", "p50_ms", "p99_ms", "mean_ms"]
    assert set(hops["kind"]) == {"queue", "compute", "transfer"}
    assert (hops["p50_ms"] <= hops["p99_ms"]).all()
    cloud = hops[(hops["hop"] == "cloud") & (hops["kind"] == "compute")]
    assert int(cloud["requests"].iloc[0]) == len(rows)  # the cloud computes every answer
    assert (out / "live_hops.png").stat().st_size > 10_000


def test_deploy_stop_leaves_no_process_behind(live):
    """Last in this module: ``deploy --stop`` stops every node (a hung one too)."""
    deployment = live.deployment
    deployment.hang("fog2")
    pids = deployment.pids()
    assert len(pids) >= len(live.unit.topology.nodes) - 1  # fog1 was killed
    code, stdout, stderr = invoke("deploy", "--stop", "--state", str(deployment.folder))
    assert code == 0, stderr
    assert "stopped" in stdout
    for pid in pids.values():
        assert pid not in node_processes()
    assert not (deployment.folder / STATE).exists()
