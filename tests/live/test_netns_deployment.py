"""Nodes on hosts of their own: ``resilinet deploy --hosts netns`` puts each node process in a
network namespace with its own address on a private bridge, serves mutual TLS with a
certificate that names those addresses, and shapes a link's bandwidth in the kernel (htb).
``live-eval`` through it from eight clients, the nodes batching, with a node hung, killed and
restarted, equals the sweep; and after
``deploy --stop`` no namespace, veth, bridge or process is left. Needs root and iproute2."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pandas as pd
import pytest
import yaml
from live_helpers import DEADLINE_MS, invoke, make_certificates, node_processes

from resilinet_cli.live import hosts
from resilinet_cli.live.deployment import STATE, Deployment

pytestmark = pytest.mark.skipif(
    hosts.can_use_netns() is not None, reason=str(hosts.can_use_netns())
)
LINKS = {"iot->edge": {"latency": 20}, "edge->fog2": {"bandwidth": 4_000_000}}


@pytest.fixture(scope="module")
def netns(live_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("netns")
    subnet = hosts.chosen_subnet(None, 8)
    addresses = [str(a) for a in list(subnet.hosts())[:8]]
    made = make_certificates(folder, addresses)
    if made is None:
        pytest.skip("the openssl command is needed to make test certificates")
    cert, key, ca = made
    links = folder / "links.yaml"
    links.write_text(yaml.safe_dump({"seed": 3, "links": LINKS}))
    unit_dir = live_run / "runs" / "resilinet" / "iter-1"
    state = folder / "deployment"
    code, stdout, stderr = invoke(
        "deploy", str(unit_dir), "--state", str(state), "--hosts", "netns", "--subnet",
        str(subnet), "--links", str(links), "--deadline-ms", str(DEADLINE_MS),
        "--batch-window-ms", "5", "--max-batch", "8",
        "--tls-cert", str(cert), "--tls-key", str(key), "--tls-ca", str(ca), "--mtls",
    )  # fmt: skip
    deployment = Deployment.attach(state) if (state / STATE).exists() else None
    try:
        assert code == 0, stderr
        for node in deployment.spec.processes:  # each printed at its own address
            assert deployment.spec.address(node) in stdout
        yield deployment, unit_dir, subnet
    finally:
        if deployment is not None:
            deployment.stop()
            spec = deployment.spec.hosts
            assert not hosts.existing(spec.bridge, spec.namespaces.values())


def listening(pid: int) -> set[str]:
    """The addresses ``pid`` listens on, read in its own network namespace (IPv4, and IPv6
    sockets of a v4-mapped address: how gRPC binds one)."""
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state != "0A":  # LISTEN
                continue
            raw = bytes.fromhex(local.split(":")[0])
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))  # host order
            address = ipaddress.ip_address(words)
            mapped = getattr(address, "ipv4_mapped", None)
            found.add(str(mapped or address))
    return found


def test_each_node_listens_on_its_own_address(netns):
    deployment, _, subnet = netns
    spec = deployment.spec
    addresses = [spec.hosts.addresses[n] for n in spec.processes]
    assert len(set(addresses)) == len(addresses)
    assert all(ipaddress.ip_address(a) in subnet for a in addresses)
    for node, pid in deployment.pids().items():
        assert listening(pid) == {spec.hosts.addresses[node]}, node
    assert spec.tls is not None and spec.tls.server_name == ""  # verified by the address
    links = pd.read_csv(deployment.folder / "links.csv").set_index("link")
    assert links.loc["edge->fog2", "bandwidth_path"] == "kernel (htb)"
    assert links.loc["iot->edge", "latency_path"] == "transport"


def test_live_eval_across_namespaces_equals_the_sweep(netns, tmp_path):
    deployment, unit_dir, _ = netns
    out = tmp_path / "eval"
    code, stdout, stderr = invoke(
        "live-eval", str(unit_dir), "--state", str(deployment.folder), "--out", str(out),
        "--clients", "8", "--rate", "80",
        "--chaos", "hang fog2@1s, resume fog2@2s, kill edge@3s, restart edge@3.5s",
    )  # fmt: skip
    assert code == 0, stderr
    assert "predictions differing from the simulated ones: 0" in stdout
    summary = pd.read_csv(out / "live_summary.csv", dtype={"combination": str})
    assert summary["differing"].sum() == 0
    assert {"111", "101", "110"} <= set(summary["combination"])
    live = pd.read_csv(out / "live.csv")
    assert live["client"].nunique() == 8 and live["mixed"].sum() <= 0.05 * len(live)
    events = pd.read_csv(out / "live_events.csv")
    assert events["seen_after_ms"].notna().all()  # the restarted edge came back, in its namespace
    restarted = Deployment.attach(deployment.folder)
    assert restarted.alive("edge") and not deployment.alive("edge")
    assert listening(restarted.pids()["edge"]) == {deployment.spec.hosts.addresses["edge"]}


def test_deploy_stop_removes_namespaces_and_processes(netns):
    """Last in this module."""
    deployment = Deployment.attach(netns[0].folder)  # edge's pid is the restarted one
    spec = deployment.spec
    pids = set(deployment.pids().values())
    assert len(pids) == len(spec.processes)
    code, _, stderr = invoke("deploy", "--stop", "--state", str(deployment.folder))
    assert code == 0, stderr
    assert not pids & node_processes()
    assert hosts.existing(spec.hosts.bridge, spec.hosts.namespaces.values()) == []
