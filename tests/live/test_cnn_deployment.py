"""A tiny ResiliNet MobileNet (CNN topology: fog, edge failable) live, over mutual TLS, with
every link shaped (10 ms, 20 Mbit/s) and, as root, every node in a network namespace of its own
(``--hosts netns``: its own address, named by the certificate; bandwidth shaped by the kernel).

Its spec is written directly (no dataset: random images, a uniform class prior), which is all
``Deployment.start`` needs; the combinations are made real by hanging nodes, and the live
predictions must equal the simulated ones. Every node talks mutual TLS: a client without a
certificate is refused at the handshake, one with a certificate but no token by the token.
(Without the openssl command to make certificates, the deployment runs without TLS and only the
TLS test is skipped.)
"""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
from cnn_helpers import build, cnn_config, train_one_step
from live_helpers import make_certificates, wait_for

from resilinet_cli.live import hosts, live_pb2, live_pb2_grpc
from resilinet_cli.live.client import LiveClient
from resilinet_cli.live.deployment import Deployment
from resilinet_cli.live.launch import LaunchOptions, model_spec
from resilinet_cli.live.security import channel
from resilinet_cli.live.semantics import contributing
from resilinet_cli.live.shaping import LinkShape
from resilinet_cli.live.spec import Tls
from resilinet_cli.live.wire import to_message
from resilinet_cli.sweeps.sweep import predict_combinations
from resilinet_cli.topology import Topology, link_name
from resilinet_cli.variants import variant_topology

SHAPE = (32, 32, 3)
EXAMPLES = 6
SHAPED_BANDWIDTH, SHAPED_LATENCY_MS = 20_000_000, 10.0  # every link: the kernel's and transport's


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    config = cnn_config({"name": "mobilenet", "alpha": 0.25})
    model, _ = build(config, "resilinet", SHAPE)
    x = np.random.default_rng(0).uniform(size=(16, *SHAPE)).astype("float32")
    train_one_step(model, x)
    folder = tmp_path_factory.mktemp("cnn-deployment")
    model.save(folder / "model.keras")
    netns = hosts.can_use_netns() is None  # as root: each node on a host of its own
    subnet = hosts.chosen_subnet(None, 8) if netns else None
    addresses = [str(a) for a in list(subnet.hosts())[:8]] if subnet else []
    certificates = make_certificates(tmp_path_factory.mktemp("certificates"), addresses)
    topology = variant_topology(Topology.from_config(config.topology), "resilinet")
    tls = Tls(*map(str, certificates), mutual=True) if certificates else None
    options = LaunchOptions(  # a CNN node computes for longer: a longer deadline
        deadline_ms=500, tls=tls, hosts="netns" if netns else "local",
        subnet=str(subnet) if subnet else None,
    )  # fmt: skip
    shaped = {link_name(k.src, k.dst): LinkShape(SHAPED_BANDWIDTH, SHAPED_LATENCY_MS)
              for k in topology.links}  # fmt: skip
    spec = model_spec(folder / "model.keras", topology, [0.1] * 10, options, shaping=(0, shaped))
    deployment = Deployment.start(spec, folder)
    try:
        with LiveClient(spec) as client:
            yield deployment, client, model, topology, x[:EXAMPLES]
    finally:
        deployment.stop()
        if spec.hosts is not None:
            assert not hosts.existing(spec.hosts.bridge, spec.hosts.namespaces.values())


def test_live_cnn_equals_simulated_for_every_combination(cnn):
    deployment, client, model, topology, x = cnn
    runnable = [c for c in topology.combinations() if topology.has_information_flow(c)]
    simulated = predict_combinations(model, topology, x, runnable)
    # the combinations' outputs really differ (a briefly trained CNN may predict one class)
    assert len({simulated[c].round(5).tobytes() for c in runnable}) == len(runnable)
    for combo in topology.combinations():
        dead = [n for n, alive in zip(topology.failable, combo, strict=True) if not alive]
        for node in dead:
            deployment.hang(node)
        seen = topology.label(contributing(topology, combo))
        wait_for(client, x[:1], seen)
        answers = [client.infer(x[i : i + 1]) for i in range(len(x))]
        for node in dead:
            deployment.resume(node)
        assert {a.contributed for a in answers} == {seen}
        if combo in simulated:
            live = np.concatenate([a.probabilities for a in answers])
            np.testing.assert_allclose(live, simulated[combo], atol=1e-4)
            predictions = np.concatenate([a.predictions for a in answers])
            assert (predictions == simulated[combo].argmax(-1)).all()
        else:
            assert all(a.guess for a in answers)
        wait_for(client, x[:1], "1" * len(topology.failable))


def test_the_links_are_shaped_and_in_namespaces_the_nodes_apart(cnn):
    deployment, client, _, topology, x = cnn
    spec = deployment.spec
    answers = [client.infer(x[:1]) for _ in range(5)]
    hops = len(topology.nodes) - 1  # the chain iot -> edge -> fog -> cloud
    assert min(a.latency_ms for a in answers) >= hops * SHAPED_LATENCY_MS
    if spec.hosts is None:
        pytest.skip(str(hosts.can_use_netns()))
    assert len({spec.hosts.addresses[n] for n in spec.processes}) == len(spec.processes)
    assert sorted(spec.kernel_bandwidth) == sorted(spec.link_shapes)  # all constant: htb's


def test_mutual_tls_refuses_a_client_without_certificate_or_token(cnn):
    deployment, client, _, topology, x = cnn
    spec = deployment.spec
    if spec.tls is None:
        pytest.skip("the openssl command is needed to make test certificates")
    request = live_pb2.InferRequest(features=to_message(x[:1]))
    address = spec.address(topology.input_node)
    options = [("grpc.ssl_target_name_override", "localhost")]
    ca_only = grpc.ssl_channel_credentials(Path(spec.tls.ca).read_bytes())
    with grpc.secure_channel(address, ca_only, options=options) as no_certificate:
        with pytest.raises(grpc.RpcError) as refused:
            live_pb2_grpc.NodeStub(no_certificate).Infer(
                request, timeout=3, metadata=client.metadata
            )
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE  # the handshake fails
    with grpc.insecure_channel(address) as plain:
        with pytest.raises(grpc.RpcError) as refused:
            live_pb2_grpc.NodeStub(plain).Infer(request, timeout=3, metadata=client.metadata)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    with channel(spec, topology.input_node) as certified:
        with pytest.raises(grpc.RpcError) as refused:
            live_pb2_grpc.NodeStub(certified).Infer(request, timeout=3)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert client.infer(x[:1]).predictions.shape == (1,)
