"""``resilinet deploy`` with mutual TLS, as a user types it: real node processes on 127.0.0.1
that answer a certified client with the simulated prediction, refuse a plain one, and are all
gone after ``deploy --stop``."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
from live_helpers import DEADLINE_MS, invoke, make_certificates, node_processes, wait_for

from resilinet_cli.live import live_pb2, live_pb2_grpc
from resilinet_cli.live.client import LiveClient
from resilinet_cli.live.deployment import STATE, Deployment
from resilinet_cli.live.unit import load_test, load_unit
from resilinet_cli.live.wire import to_message
from resilinet_cli.sweeps.sweep import predict_combinations

EXAMPLES = 8


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    made = make_certificates(tmp_path_factory.mktemp("certificates"))
    if made is None:
        pytest.skip("the openssl command is needed to make test certificates")
    return made


def test_deploy_with_mutual_tls_serves_certified_clients_only_and_stops(
    live_run: Path, trained, certificates: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    cert, key, ca = certificates
    unit_dir = live_run / "runs" / "resilinet" / "iter-1"
    folder = tmp_path / "tls-deployment"
    code, stdout, stderr = invoke(
        "deploy", str(unit_dir), "--state", str(folder), "--deadline-ms", str(DEADLINE_MS),
        "--tls-cert", str(cert), "--tls-key", str(key), "--tls-ca", str(ca), "--mtls",
    )  # fmt: skip
    deployment = Deployment.attach(folder) if (folder / STATE).exists() else None
    try:
        assert code == 0, stderr
        spec = deployment.spec
        assert spec.tls is not None and spec.tls.mutual
        assert Path(spec.tls.ca) == ca
        unit = load_unit(unit_dir)
        x = load_test(unit).x[:EXAMPLES]
        topology = unit.topology
        for node in topology.nodes:  # each node's address is printed
            assert spec.address(node) in stdout
        every = tuple(1 for _ in topology.failable)
        with LiveClient(spec) as client:
            wait_for(client, x[:1], "1" * len(topology.failable))
            answers = [client.infer(x[i : i + 1]) for i in range(EXAMPLES)]
            address = spec.address(topology.input_node)
            request = live_pb2.InferRequest(features=to_message(x[:1]))
            with grpc.insecure_channel(address) as plain, pytest.raises(grpc.RpcError) as refused:
                live_pb2_grpc.NodeStub(plain).Infer(request, timeout=3, metadata=client.metadata)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        simulated = predict_combinations(trained["resilinet"][0], topology, x, [every])[every]
        probabilities = np.concatenate([a.probabilities for a in answers])
        np.testing.assert_allclose(probabilities, simulated, atol=1e-5)
        pids = deployment.pids()
        assert len(pids) == len(topology.nodes)
        code, stdout, stderr = invoke("deploy", "--stop", "--state", str(folder))
        assert code == 0 and "stopped" in stdout, stderr
        assert not set(pids.values()) & node_processes()
        assert not (folder / STATE).exists()
    finally:
        if deployment is not None and (folder / STATE).exists():
            deployment.stop()  # by pid, also when the test failed
