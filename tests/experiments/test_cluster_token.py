"""Ray 2.60's token authentication, and a cluster that cannot be used: the README's recipe on a
real head started with ``ray start --head`` on 127.0.0.1, and one line within 10 s, with no
results folder, for a cluster that is unreachable or refuses this machine's token.

The head runs ``ray start --block`` in a session of its own; every process it starts carries a
marker in its environment, and teardown stops exactly those processes.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import ROOT
from run_helpers import smoke_command

from resilinet_cli.cli import main

ray = pytest.importorskip("ray")
RAY = str(Path(sys.executable).parent / "ray")
MARKER = "RESILINET_TEST_TOKEN_CLUSTER"
TOKEN_LINE = (
    "the cluster uses token authentication: export RAY_AUTH_MODE=token and copy the head's "
    "~/.ray/auth_token to this machine's ~/.ray/ (or set RAY_AUTH_TOKEN)"
)
TIMED = """
import sys, time
import ray  # imported first: the bound is on connecting, not on starting Python
from resilinet_cli.cli import main
start, code = time.monotonic(), 0
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print(f"{code} {time.monotonic() - start:.2f}")
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def marked_processes(marker: str) -> list[int]:
    """Processes whose environment holds ``MARKER=marker``: the head and all it started."""
    found, wanted = [], f"{MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if wanted in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def stop_marked(marker: str) -> None:
    for sent in (signal.SIGTERM, signal.SIGKILL):
        for pid in marked_processes(marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sent)
        deadline = time.monotonic() + 15
        while marked_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.5)


@pytest.fixture(scope="module")
def token_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    """The recipe: ``export RAY_AUTH_MODE=token; ray get-auth-token --generate; ray start
    --head``, here bound to 127.0.0.1 with one CPU. Yields its address and the environment of
    a machine that holds the token."""
    marker = uuid.uuid4().hex
    home = tmp_path_factory.mktemp("ray-home")
    env = {**os.environ, "HOME": str(home), "RAY_AUTH_MODE": "token", MARKER: marker,
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "PYTHONPATH": str(ROOT)}  # fmt: skip
    env.pop("RAY_AUTH_TOKEN", None)
    subprocess.run([RAY, "get-auth-token", "--generate"], env=env, check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    assert (home / ".ray" / "auth_token").is_file()
    port = free_port()
    temp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths must fit
    head = subprocess.Popen(
        [RAY, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port",
         str(port), "--num-cpus", "1", "--include-dashboard", "false",
         "--disable-usage-stats", "--temp-dir", temp],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline, said = time.monotonic() + 120, []
        while time.monotonic() < deadline:
            line = head.stdout.readline() if head.stdout else ""
            said.append(line)
            if "Ray runtime started" in line or not line:
                break
        assert "Ray runtime started" in said[-1], "".join(said)
        yield f"127.0.0.1:{port}", env
    finally:
        stop_marked(marker)
        head.wait(timeout=30)
        if head.stdout:
            head.stdout.close()


def timed_run(args: list[str], env: dict) -> tuple[int, float, str]:
    """(exit status, seconds inside ``main``, stderr) of the CLI in a process of its own."""
    done = subprocess.run([sys.executable, "-c", TIMED, *args], env=env, capture_output=True,
                          text=True, timeout=180)  # fmt: skip
    code, seconds = done.stdout.split()[-2:]
    return int(code), float(seconds), done.stderr


def test_the_token_recipe_runs_units_each_queued_before_it_trains(
    token_cluster: tuple[str, dict], tmp_path: Path
) -> None:
    address, env = token_cluster
    out = tmp_path / "run"
    args = smoke_command(out, "--iterations", "1", "--executor", "ray", "--address", address)
    done = subprocess.run([sys.executable, "-m", "resilinet_cli", *args], env=env,
                          capture_output=True, text=True, timeout=400)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    training = [i for i, line in enumerate(lines) if re.search(r"\]: training|: training", line)]
    queued = lines.index("queue: 0 done, 2 in flight, 0 failed of 2")
    assert len(training) == 2 and queued < min(training), done.stdout  # queued, then training
    for unit in ("vanilla/iter-1", "resilinet/iter-1"):
        assert sum(f"{unit}: training" in line for line in lines) == 1
        assert '"done"' in (out / "runs" / unit / "run.json").read_text()


@pytest.mark.parametrize(
    "machine",
    [
        {},  # no RAY_AUTH_MODE, no token
        {"RAY_AUTH_MODE": "token"},  # no token: Ray's C++ client would abort the process
        {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0123456789abcdef" * 2},  # another's
    ],
    ids=["no-auth-mode", "no-token", "wrong-token"],
)
def test_a_cluster_that_refuses_this_machine_is_one_line_within_10_s(
    token_cluster: tuple[str, dict], tmp_path: Path, machine: dict[str, str]
) -> None:
    address, head_env = token_cluster
    env = {k: v for k, v in head_env.items() if not k.startswith("RAY_AUTH")}
    env |= {"HOME": str(tmp_path), **machine}
    out = tmp_path / "run"
    code, seconds, stderr = timed_run(
        smoke_command(out, "--executor", "ray", "--address", address), env
    )
    assert code == 2 and seconds < 10, (seconds, stderr)
    assert stderr == f"error: --address {address}: {TOKEN_LINE}\n"
    assert not out.exists()  # no half-made results folder


def test_an_unreachable_address_is_one_line_within_10_s_and_makes_no_folder(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    at = time.monotonic()
    args = smoke_command(out, "--executor", "ray", "--address", "127.0.0.1:1")
    result = CliRunner().invoke(main, args)
    assert time.monotonic() - at < 10
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "--address 127.0.0.1:1: no Ray cluster answers there within 10 s" in result.stderr
    assert not out.exists()


def test_reproduce_on_an_unreachable_address_makes_no_folder(tmp_path: Path) -> None:
    out = tmp_path / "profile"
    args = ["reproduce", "--profile", "quick", "--out", str(out), "--executor", "ray",
            "--address", "127.0.0.1:1"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "--address 127.0.0.1:1: no Ray cluster answers there" in result.stderr
    assert not out.exists()


def test_a_loopback_address_ray_rewrites_is_named_in_the_one_line(
    token_cluster: tuple[str, dict], tmp_path: Path
) -> None:
    """Without RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, Ray dials this machine's own address for
    127.0.0.1; a head bound to 127.0.0.1 only does not answer there, and the line says so."""
    address, head_env = token_cluster
    env = {k: v for k, v in head_env.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    out = tmp_path / "run"
    code, seconds, stderr = timed_run(
        smoke_command(out, "--executor", "ray", "--address", address), env
    )
    if code == 0:
        pytest.skip("this machine's only address is 127.0.0.1")
    assert code == 2 and seconds < 10 + 2, (seconds, stderr)  # the socket's own 10 s, at most
    assert stderr.startswith(f"error: --address {address}: no Ray cluster answers there within")
    assert "(Ray dials " in stderr and stderr.count("\n") == 1, stderr
    assert not out.exists()
