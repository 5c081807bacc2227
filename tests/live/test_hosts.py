"""Hosts of their own (live/hosts.py): namespaces made and removed, the kernel's bandwidth
shaping measured end to end, and the one-line refusals where namespaces cannot be made."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from live_helpers import invoke

from resilinet_cli.live import hosts

needs_netns = pytest.mark.skipif(
    hosts.can_use_netns() is not None, reason=str(hosts.can_use_netns())
)
PAYLOAD = 1_000_000  # bytes
RATE = 2_000_000  # bits per second: 4 s for the payload

RECEIVER = textwrap.dedent("""
    import socket, sys, time
    server = socket.create_server((sys.argv[1], 7000))
    print("listening", flush=True)
    conn, _ = server.accept()
    started, got = time.perf_counter(), 0
    while got < int(sys.argv[2]):
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += len(chunk)
    print(got, time.perf_counter() - started, flush=True)
""")
SENDER = textwrap.dedent("""
    import socket, sys
    with socket.create_connection((sys.argv[1], 7000), timeout=30) as conn:
        conn.sendall(b"x" * int(sys.argv[2]))
""")


def in_namespace(plan: hosts.Hosts, process: str, script: str, *args: str) -> subprocess.Popen:
    command = ["ip", "netns", "exec", plan.namespaces[process], sys.executable, "-c", script]
    output = subprocess.PIPE if script == RECEIVER else subprocess.DEVNULL
    return subprocess.Popen([*command, *args], stdout=output, text=True)


@needs_netns
def test_a_megabyte_over_two_megabits_takes_four_seconds_in_the_kernel():
    plan = hosts.plan_hosts(["sender", "receiver"])
    try:
        hosts.create(plan)
        hosts.shape_bandwidth(plan, {("sender", "receiver"): RATE})
        receiver = in_namespace(plan, "receiver", RECEIVER, plan.addresses["receiver"],
                                str(PAYLOAD))  # fmt: skip
        assert receiver.stdout.readline().strip() == "listening"
        sender = in_namespace(plan, "sender", SENDER, plan.addresses["receiver"], str(PAYLOAD))
        out, _ = receiver.communicate(timeout=30)
        assert sender.wait(timeout=10) == 0
        got, seconds = out.split()
        assert int(got) == PAYLOAD
        assert 4.0 * 0.95 <= float(seconds) <= 4.0 * 1.05, seconds  # the goodput asked, ±5 %
        # the other direction is not shaped
        started = time.perf_counter()
        back = in_namespace(plan, "sender", RECEIVER, plan.addresses["sender"], str(PAYLOAD))
        assert back.stdout.readline().strip() == "listening"
        sent = in_namespace(plan, "receiver", SENDER, plan.addresses["sender"], str(PAYLOAD))
        assert sent.wait(timeout=10) == 0
        back.communicate(timeout=10)
        assert time.perf_counter() - started < 2.0
    finally:
        hosts.remove(plan.bridge, plan.namespaces.values())
    assert hosts.existing(plan.bridge, plan.namespaces.values()) == []


@needs_netns
def test_a_subnet_in_use_or_not_private_is_refused():
    used = hosts.used_networks()[0]  # loopback's, at least
    with pytest.raises(hosts.LiveError, match=f"overlaps {used}"):
        hosts.plan_hosts(["a"], str(used))
    with pytest.raises(hosts.LiveError, match="give a private IPv4 network"):
        hosts.plan_hosts(["a"], "8.8.8.0/24")
    with pytest.raises(hosts.LiveError, match="too small for 3 addresses"):
        hosts.plan_hosts(["a", "b"], "10.213.9.0/30")


def refused(args: list[str]) -> str:
    code, _, stderr = invoke("live-eval", "no-unit-needed", *args)
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    return stderr


def test_without_root_netns_is_one_line(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--hosts netns needs root" in refused(["--hosts", "netns"])


def test_without_iproute2_netns_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no ip, no tc
    assert "needs iproute2's ip and tc command" in refused(["--hosts", "netns"])


def test_a_subnet_without_netns_is_refused():
    assert "--subnet places nodes in namespaces" in refused(["--subnet", "10.213.7.0/24"])
