"""Each node process on a host of its own: a network namespace with its own address.

``--hosts netns`` gives every process of a deployment a Linux network namespace (``ip netns``)
with one interface, ``eth0``, whose veth peer joins a bridge in the parent's namespace; the
bridge holds the subnet's first address (the parent, and so the client, reach the nodes
through it) and the processes the next ones, in deployment order. A node binds its own address
and reaches the others across the bridge, as separate hosts on one switch would. The subnet is
private (``--subnet``, by default a free /24 of 10.213.0.0/16) and everything is created when
the deployment starts and removed when it stops: namespaces, veths, the bridge.

A link's constant bandwidth is then the kernel's to enforce: an htb class on the sender's
``eth0`` with a u32 filter on the receiver's address, at the payload rate times
``FRAME_OVERHEAD`` (Ethernet, IP and TCP headers on full segments), so that the payload's
goodput is the rate asked; each ``eth0`` sends one segment per packet (``gso_max_segs 1``), or
htb would count 64 KB segments with one header each and the goodput would overshoot by 5 %.
Latency, jitter and loss stay the transport's (shaping.py): this kernel has no netem.

Needs root and iproute2's ``ip`` and ``tc``; without them one line says so.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from resilinet_cli.live.errors import LiveError

POOL = ipaddress.ip_network("10.213.0.0/16")  # where a subnet is chosen when none is given
FRAME_OVERHEAD = 1514 / 1448  # bytes on the wire per payload byte of a full TCP segment
DEFAULT_PORT = 50051  # every node listens on it: each has an address of its own
COMMAND_TIMEOUT_S = 10


@dataclass(frozen=True)
class Hosts:
    """The namespaces of one deployment: names and addresses, per process."""

    bridge: str
    gateway: str  # the bridge's address, in the parent's namespace
    subnet: str
    namespaces: dict[str, str]  # process -> namespace name
    addresses: dict[str, str]  # process -> its address


def can_use_netns() -> str | None:
    """None when namespaces can be made here, else the one-line reason."""
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        return f"--hosts netns needs iproute2's {' and '.join(missing)} command; keep --hosts local"
    if os.geteuid() != 0:
        return "--hosts netns needs root (it creates network namespaces); keep --hosts local"
    return None


def plan_hosts(processes: Sequence[str], subnet: str | None = None) -> Hosts:
    """Names and addresses for ``processes`` on ``subnet`` (or a free /24 of ``POOL``)."""
    reason = can_use_netns()
    if reason:
        raise LiveError(reason)
    network = chosen_subnet(subnet, len(processes) + 1)
    tag = secrets.token_hex(3)
    hosts = list(network.hosts())
    return Hosts(
        bridge=f"rlb{tag}",
        gateway=str(hosts[0]),
        subnet=str(network),
        namespaces={p: f"resilinet-{tag}-{p}" for p in processes},
        addresses={p: str(hosts[i + 1]) for i, p in enumerate(processes)},
    )


def chosen_subnet(subnet: str | None, needed: int) -> ipaddress.IPv4Network:
    in_use = used_networks()
    if subnet is not None:
        try:
            network = ipaddress.ip_network(subnet)
        except ValueError:
            message = f"--subnet {subnet!r} is no network (write e.g. 10.213.7.0/24)"
            raise LiveError(message) from None
        if not isinstance(network, ipaddress.IPv4Network) or not network.is_private:
            raise LiveError(f"--subnet {subnet}: give a private IPv4 network, e.g. 10.213.7.0/24")
        if network.num_addresses - 2 < needed:
            raise LiveError(f"--subnet {subnet}: too small for {needed} addresses")
        clash = next((n for n in in_use if n.overlaps(network)), None)
        if clash is not None:
            raise LiveError(f"--subnet {subnet} overlaps {clash}, which this machine uses")
        return network
    free = [n for n in POOL.subnets(new_prefix=24) if not any(n.overlaps(u) for u in in_use)]
    if not free:
        raise LiveError(f"no free /24 left in {POOL}; give --subnet")
    return free[secrets.randbelow(len(free))]


def used_networks() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks of this namespace's interfaces."""
    lines = run(["ip", "-4", "-o", "addr", "show"]).splitlines()
    found = []
    for line in lines:
        fields = line.split()
        if "inet" in fields:
            found.append(ipaddress.ip_interface(fields[fields.index("inet") + 1]).network)
    return found


def create(hosts: Hosts) -> None:
    """The bridge, and per process its namespace and veth pair with its address; on any
    failure everything made so far is removed and LiveError names the command."""
    prefix = ipaddress.ip_network(hosts.subnet).prefixlen
    try:
        run(["ip", "link", "add", hosts.bridge, "type", "bridge"])
        run(["ip", "addr", "add", f"{hosts.gateway}/{prefix}", "dev", hosts.bridge])
        run(["ip", "link", "set", hosts.bridge, "up"])
        for i, (process, namespace) in enumerate(hosts.namespaces.items()):
            outside, inside = f"{hosts.bridge}v{i}", f"{hosts.bridge}p{i}"
            run(["ip", "netns", "add", namespace])
            run(["ip", "link", "add", outside, "type", "veth", "peer", "name", inside])
            run(["ip", "link", "set", inside, "netns", namespace])
            run(["ip", "link", "set", outside, "master", hosts.bridge, "up"])
            run(["ip", "-n", namespace, "link", "set", inside, "name", "eth0"])
            # one segment per packet, as on a real link: htb then counts real frames
            run(["ip", "-n", namespace, "link", "set", "eth0", "gso_max_segs", "1"])
            address = f"{hosts.addresses[process]}/{prefix}"
            run(["ip", "-n", namespace, "addr", "add", address, "dev", "eth0"])
            run(["ip", "-n", namespace, "link", "set", "eth0", "up"])
            run(["ip", "-n", namespace, "link", "set", "lo", "up"])
    except LiveError:
        remove(hosts.bridge, hosts.namespaces.values())
        raise


def shape_bandwidth(hosts: Hosts, rates: dict[tuple[str, str], float]) -> None:
    """htb on each sender's eth0: one class per receiver at ``rates[(sender, receiver)]``
    payload bits per second (times ``FRAME_OVERHEAD``), everything else unlimited."""
    by_sender: dict[str, list[tuple[str, float]]] = {}
    for (sender, receiver), rate in rates.items():
        by_sender.setdefault(sender, []).append((receiver, rate))
    for sender, targets in by_sender.items():
        tc = ["ip", "netns", "exec", hosts.namespaces[sender], "tc"]
        run([*tc, "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb", "default", "1"])
        run([*tc, "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:1", "htb",
             "rate", "10gbit", "quantum", "60000"])  # fmt: skip
        for index, (receiver, rate) in enumerate(targets, start=2):
            kernel_rate = f"{round(rate * FRAME_OVERHEAD)}bit"
            run([*tc, "class", "add", "dev", "eth0", "parent", "1:", "classid", f"1:{index}",
                 "htb", "rate", kernel_rate, "ceil", kernel_rate])  # fmt: skip
            run([*tc, "filter", "add", "dev", "eth0", "parent", "1:", "protocol", "ip", "prio",
                 "1", "u32", "match", "ip", "dst", f"{hosts.addresses[receiver]}/32",
                 "flowid", f"1:{index}"])  # fmt: skip


def remove(bridge: str, namespaces: Iterable[str]) -> None:
    """Delete the veths, the namespaces and the bridge. A process still inside a namespace (a
    node restarted behind the deployment's back) is killed first: a namespace lives while a
    process holds it. Each veth is deleted by name (both ends at once), not left to the
    kernel's deferred clean-up of a namespace. What is gone already is skipped."""
    for veth in interfaces(bridge):
        subprocess.run(["ip", "link", "delete", veth], capture_output=True, check=False)
    for namespace in namespaces:
        held = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True,
                              text=True, check=False)  # fmt: skip
        for pid in held.stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "delete", namespace], capture_output=True, check=False)
    subprocess.run(["ip", "link", "delete", bridge], capture_output=True, check=False)


def existing(bridge: str, namespaces: Iterable[str]) -> list[str]:
    """Which of these namespaces, the bridge and its veths exist (none, once removed)."""
    listed = set(run(["ip", "netns", "list"]).split())
    return [n for n in namespaces if n in listed] + interfaces(bridge)


def interfaces(bridge: str) -> list[str]:
    """The interfaces of this namespace named after ``bridge``: itself and its veths."""
    names = [line.split(":")[1].strip().split("@")[0]
             for line in run(["ip", "-o", "link", "show"]).splitlines()]  # fmt: skip
    return [name for name in names if name.startswith(bridge)]


def run(command: list[str]) -> str:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise LiveError(f"{' '.join(command)}: {error}") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["failed"])[0]
        raise LiveError(f"{' '.join(command)}: {reason}")
    return done.stdout
