"""Helpers of the live runtime's tests (tests/live/)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resilinet_cli.live.client import Answer, LiveClient
from resilinet_cli.live.deployment import NODE_MODULE

DEADLINE_MS = 200.0  # per hop, in the tests: short, so that waiting for a hung node is cheap


def invoke(*args: str) -> tuple[int, str, str]:
    """``resilinet ARGS`` in this process: (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from resilinet_cli.cli import main

    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def node_processes(spec: Path | None = None) -> set[int]:
    """Pids of every live node process on this machine (any deployment; with ``spec``, those
    serving the deployment of that spec file only)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if NODE_MODULE.encode() in command and (spec is None or bytes(spec) in command):
                found.add(int(entry.name))
    return found


@dataclass
class Live:
    """A started deployment with its client, unit and test split."""

    deployment: Any
    client: LiveClient
    unit: Any
    test: Any

    @property
    def all_contributed(self) -> str:
        """The answers' ``contributed`` bits with every node up."""
        return "1" * len(self.unit.topology.failable)


def wait_for(
    client: LiveClient, x, contributed: str, *, seconds: float = 10.0, streak: int = 3
) -> None:
    """Send ``x`` until ``streak`` answers in a row report ``contributed`` (the receivers agree)."""
    end = time.monotonic() + seconds
    seen: list[str] = []
    in_a_row = 0
    while time.monotonic() < end:
        answer: Answer = client.infer(x)
        seen.append(answer.contributed)
        in_a_row = in_a_row + 1 if answer.contributed == contributed else 0
        if in_a_row >= streak:
            return
        time.sleep(0.01)
    raise AssertionError(f"answers never settled on {contributed}: last {seen[-10:]}")


def make_certificates(
    folder: Path, addresses: Sequence[str] = ()
) -> tuple[Path, Path, Path] | None:
    """A throwaway CA and one node certificate (localhost, 127.0.0.1 and ``addresses``; server
    and client use) made with the openssl command: (cert, key, ca); None without the command."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        return None
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
        "-subj", "/CN=resilinet test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign")  # fmt: skip
    run("req", *ec, "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=localhost")
    names = ",".join(["DNS:localhost", "IP:127.0.0.1", *(f"IP:{a}" for a in addresses)])
    (folder / "ext.cnf").write_text(
        f"subjectAltName={names}\nextendedKeyUsage=serverAuth,clientAuth\n"
    )
    run("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "node.pem", "-days", "1", "-extfile", "ext.cnf")  # fmt: skip
    return folder / "node.pem", folder / "node.key", folder / "ca.pem"
