"""Start, watch and stop a deployment: one OS process per node, and a state file to find them.

A deployment folder holds ``spec.json`` (what every node reads, with the token: owner-only),
``deployment.json`` (the state: each node's pid, port and address) and one log per node.
``Deployment`` owns the processes it starts (``live-eval``, the tests); ``stop_state`` stops
those a detached ``resilinet deploy`` left running, from the state file alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from resilinet_cli import atomic
from resilinet_cli.live import hosts
from resilinet_cli.live.errors import LiveError
from resilinet_cli.live.node import EXIT_PORT
from resilinet_cli.live.security import channel, metadata
from resilinet_cli.live.spec import DeploymentSpec
from resilinet_cli.topology import LINK_ARROW

SPEC = "spec.json"
STATE = "deployment.json"
NODE_MODULE = "resilinet_cli.live.node"
START_TIMEOUT = 180.0  # seconds for every node to load TensorFlow and its model
# every node process this process started, until its exit status is collected: a detached
# deployment (``deploy`` run in-process) or a restarted node of an attached one is stopped by pid
_STARTED: list[subprocess.Popen[bytes]] = []


def new_token() -> str:
    return secrets.token_urlsafe(24)


def choose_ports(host: str, nodes: Iterable[str], first: int | None) -> dict[str, int]:
    """Consecutive ports from ``first``, each checked free; or free ports the system picks."""
    nodes = list(nodes)
    if first is None:
        held = []
        try:
            for _ in nodes:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.bind((host, 0))
                held.append(sock)
            return {n: s.getsockname()[1] for n, s in zip(nodes, held, strict=True)}
        finally:
            for sock in held:
                sock.close()
    ports = {node: first + i for i, node in enumerate(nodes)}
    for node, port in ports.items():
        check_port(host, port, node)
    return ports


def check_port(host: str, port: int, node: str) -> None:
    if not 0 < port < 65536:
        raise LiveError(f"port {port} (node {node}) is not a TCP port")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise LiveError(
                f"port {port} on {host} is already in use (node {node}); choose another --port"
            ) from None


class PidProcess:
    """A node started by another process (a detached ``deploy``), driven by its pid.

    It offers what ``Deployment`` uses of ``subprocess.Popen``; "running" means the pid is still
    a node of this deployment, so a pid the system reuses is never signalled.
    """

    def __init__(self, pid: int, spec_path: Path) -> None:
        self.pid = pid
        self.spec_path = str(spec_path)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        with contextlib.suppress(ChildProcessError):  # reap it if it is our child after all
            os.waitpid(self.pid, os.WNOHANG)
        if self.returncode is None and not is_node_process(self.pid, self.spec_path):
            self.returncode = -1
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        end = time.monotonic() + (timeout if timeout is not None else 1e9)
        while self.poll() is None:
            if time.monotonic() > end:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
            time.sleep(0.02)
        return self.returncode or 0


class Deployment:
    """The node processes of one spec: started by this process, or attached to by pid."""

    def __init__(self, spec: DeploymentSpec, folder: Path) -> None:
        self.spec = spec
        self.folder = Path(folder)
        self.processes: dict[str, subprocess.Popen[bytes] | PidProcess] = {}
        self.spec_path = self.folder / SPEC
        self.spawned_at: dict[str, float] = {}  # time.monotonic() when each node was started
        self.ready_s: dict[str, float] = {}  # seconds from its start until it served

    @classmethod
    def attach(cls, folder: Path) -> Deployment:
        """The running deployment of ``folder`` (from ``resilinet deploy``), to drive its nodes."""
        state_path = Path(folder) / STATE
        if not state_path.is_file():
            raise LiveError(f"{folder}: no deployment state (is a deployment running there?)")
        state = json.loads(state_path.read_text(encoding="utf-8"))
        deployment = cls(DeploymentSpec.read(Path(state["spec"])), Path(folder))
        deployment.spec_path = Path(state["spec"])
        for node, entry in state["nodes"].items():
            deployment.processes[node] = PidProcess(entry["pid"], deployment.spec_path)
        return deployment

    @classmethod
    def start(
        cls,
        spec: DeploymentSpec,
        folder: Path,
        *,
        nodes: Iterable[str] | None = None,
        timeout: float = START_TIMEOUT,
        on_ready: Callable[[str, float], None] | None = None,
    ) -> Deployment:
        """Start ``nodes`` (all by default) in parallel; return once each serves.

        ``on_ready(node, seconds)`` is told as each one starts serving, seconds after it was
        started (loading TensorFlow and its model takes most of them). Any failure stops every
        process already started, so nothing is left behind.
        """
        deployment = cls(spec, folder)
        spec.write(deployment.spec_path)
        try:
            if spec.hosts is not None and nodes is None:
                make_hosts(spec)
            wanted = list(nodes) if nodes is not None else spec.processes
            for node in wanted:
                deployment.spawn(node)
            deployment.write_state()
            deployment.wait_ready(wanted, timeout, on_ready)
        except BaseException:
            deployment.stop()
            raise
        return deployment

    def spawn(self, node: str) -> None:
        log = open(self.folder / f"{node}.log", "ab")  # noqa: SIM115 (the child owns it)
        command = [sys.executable, "-m", NODE_MODULE, "--spec", str(self.spec_path)]
        if self.spec.hosts is not None:  # its own namespace: its own address (hosts.py)
            command = ["ip", "netns", "exec", self.spec.hosts.namespaces[node], *command]
        self.processes[node] = subprocess.Popen(
            [*command, "--node", node],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=os.environ.copy(),
            start_new_session=True,  # Ctrl-C in the terminal does not reach the nodes
        )
        _STARTED.append(self.processes[node])
        self.spawned_at[node] = time.monotonic()
        log.close()

    def wait_ready(
        self,
        nodes: Iterable[str],
        timeout: float = START_TIMEOUT,
        on_ready: Callable[[str, float], None] | None = None,
    ) -> None:
        """Wait until each node's health check says SERVING (``on_ready`` is told, and
        ``ready_s`` keeps the seconds since its start); LiveError if one exits."""
        waiting = set(nodes)
        end = time.monotonic() + timeout
        channels = {node: channel(self.spec, node) for node in waiting}
        try:
            while waiting:
                for node in sorted(waiting):
                    self.check_running(node)
                    if serving(channels[node], self.spec, timeout=0.2):
                        waiting.discard(node)
                        started = self.spawned_at.get(node, end - timeout)
                        self.ready_s[node] = time.monotonic() - started
                        if on_ready is not None:
                            on_ready(node, self.ready_s[node])
                if waiting and time.monotonic() > end:
                    raise LiveError(
                        f"nodes {', '.join(sorted(waiting))} not serving after {timeout:.0f} s"
                    )
                if waiting:
                    time.sleep(0.05)
        finally:
            for ch in channels.values():
                ch.close()

    def check_running(self, node: str) -> None:
        code = self.processes[node].poll()
        if code is None:
            return
        if code == EXIT_PORT:
            raise LiveError(
                f"port {self.spec.ports[node]} on {self.spec.host} is already in use "
                f"(node {node}); choose another --port"
            )
        raise LiveError(f"node {node} exited with code {code}: {self.last_log_line(node)}")

    def last_log_line(self, node: str) -> str:
        path = self.folder / f"{node}.log"
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1].strip() if lines else f"see {path}"

    # ---- chaos ---------------------------------------------------------------------------

    def kill(self, node: str) -> None:
        process = self.processes[node]
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def hang(self, node: str) -> None:
        self.processes[node].send_signal(signal.SIGSTOP)

    def resume(self, node: str) -> None:
        self.processes[node].send_signal(signal.SIGCONT)

    def restart(self, node: str, *, wait: bool = True) -> None:
        """Kill the node if it runs, start it again on its port, and (by default) wait for it."""
        if node in self.processes and self.processes[node].poll() is None:
            self.resume(node)
            self.kill(node)
        self.spawn(node)
        self.write_state()
        if wait:
            self.wait_ready([node])

    def alive(self, node: str) -> bool:
        return node in self.processes and self.processes[node].poll() is None

    # ---- the state file and teardown -------------------------------------------------------

    def pids(self) -> dict[str, int]:
        return {node: p.pid for node, p in self.processes.items() if p.poll() is None}

    def write_state(self) -> None:
        atomic.write_json(
            self.folder / STATE,
            {
                "spec": str(self.spec_path),
                "nodes": {
                    node: {"pid": pid, "address": self.spec.address(node)}
                    for node, pid in self.pids().items()
                },
            },
        )

    def stop(self) -> None:
        """Stop every node (a hung one too) and reap it; remove the state file."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reap({process.pid for process in self.processes.values()})
        if self.spec.hosts is not None:
            hosts.remove(self.spec.hosts.bridge, self.spec.hosts.namespaces.values())
        with contextlib.suppress(FileNotFoundError):
            (self.folder / STATE).unlink()

    def detach(self) -> None:
        """Leave the nodes running after this process exits (``resilinet deploy``)."""
        self.processes = {}

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serving(ch: grpc.Channel, spec: DeploymentSpec, *, timeout: float) -> bool:
    stub = health_pb2_grpc.HealthStub(ch)
    try:
        reply = stub.Check(
            health_pb2.HealthCheckRequest(service=""), timeout=timeout, metadata=metadata(spec)
        )
    except grpc.RpcError:
        return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def is_node_process(pid: int, spec_path: str) -> bool:
    """Whether ``pid`` still is one of our nodes (not a pid the system handed out again)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return NODE_MODULE.encode() in command and spec_path.encode() in command


def stop_state(state_path: Path) -> list[str]:
    """Stop the nodes a state file lists; return their names. LiveError if there is none."""
    if not state_path.is_file():
        raise LiveError(f"{state_path}: no deployment state (is the deployment running?)")
    state = json.loads(state_path.read_text(encoding="utf-8"))
    ours = {
        node: entry["pid"]
        for node, entry in state["nodes"].items()
        if is_node_process(entry["pid"], state["spec"])
    }
    for pid in ours.values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + 3
    while time.monotonic() < end and any(is_node_process(p, state["spec"]) for p in ours.values()):
        time.sleep(0.05)
    for pid in ours.values():
        if is_node_process(pid, state["spec"]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    reap(set(ours.values()))
    spec = DeploymentSpec.read(Path(state["spec"]))
    if spec.hosts is not None:
        hosts.remove(spec.hosts.bridge, spec.hosts.namespaces.values())
    state_path.unlink()
    return sorted(ours)


def make_hosts(spec: DeploymentSpec) -> None:
    """The namespaces of ``spec`` and the kernel's share of its links' shaping (hosts.py)."""
    assert spec.hosts is not None
    hosts.create(spec.hosts)
    rates = {}
    for link in spec.kernel_bandwidth:
        src, dst = link.split(LINK_ARROW)
        for sender in spec.replicas_of(src):
            for receiver in spec.replicas_of(dst):
                rates[(sender, receiver)] = float(spec.link_shapes[link]["bandwidth"])
    hosts.shape_bandwidth(spec.hosts, rates)


def reap(pids: set[int]) -> None:
    """Collect the exit status of stopped nodes this very process started (``deploy`` run
    in-process, as tests and notebooks do; a restart), so none lingers as a zombie."""
    for process in [p for p in _STARTED if p.pid in pids]:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        _STARTED.remove(process)
