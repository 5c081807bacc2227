"""``resilinet run --executor ray``: units as tasks of a real two-node Ray cluster on this machine.

``ray.cluster_utils.Cluster`` starts a head and a second node as separate raylets, bound to
127.0.0.1 only (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, set by tests/conftest.py before anything
imports ray, which reads it once). Each test bounds its time and shuts its
own cluster down.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import CONFIGS
from run_helpers import (
    SMOKE_SETS,
    UNITS,
    assert_same_files,
    assert_same_units,
    smoke_command,
    smoke_profile,
    two_node_cluster,
)

from resilinet_cli.cli import main

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster() -> Iterator:
    """A head and a second node, one CPU each (a test that removes a node adds one back)."""
    with two_node_cluster() as made:
        yield made


def test_every_node_of_the_test_cluster_is_bound_to_127_0_0_1(cluster) -> None:
    """Not the host's interface address: the setting reached Ray before its import."""
    assert cluster.address.startswith("127.0.0.1:")
    ray.init(address=cluster.address)
    try:
        nodes = [node for node in ray.nodes() if node["Alive"]]
    finally:
        ray.shutdown()
    assert len(nodes) == 2
    assert {node["NodeManagerAddress"] for node in nodes} == {"127.0.0.1"}


def unit_task_processes() -> list[int]:
    """Ray worker processes that are running a unit right now (Ray names them by task)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"ray::unit_files"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def finished_units(out: Path) -> int:
    records = list((out / "runs").glob("*/iter-*/run.json")) if out.exists() else []
    return sum('"done"' in record.read_text() for record in records)


def test_a_profile_on_the_cluster_with_a_shared_folder(cluster, tmp_path, smoke_serial) -> None:
    """reproduce: both experiments' units in one queue of tasks that write into the run
    folder themselves (--shared-out: this machine is every node); each training runs once."""
    out = tmp_path / "profile"
    args = ["reproduce", "--profile", str(smoke_profile(tmp_path)), "--out", str(out)]
    result = CliRunner().invoke(
        main, [*args, "--executor", "ray", "--address", cluster.address, "--shared-out"]
    )
    assert result.exit_code == 0, result.output
    for experiment in ("quickstart", "again"):
        assert_same_units(out / experiment, smoke_serial)
    assert "queue: 4 done, 0 in flight, 0 failed of 4" in result.stdout
    assert result.stdout.count(": same training as ") == len(UNITS)


def test_a_two_node_cluster_gives_the_serial_runs_files_even_when_a_node_leaves(
    cluster, tmp_path, smoke_serial
) -> None:
    """The second node goes away mid-run: Ray runs its unit again on the head, and the run's
    files are the serial run's, with each task's records and TensorBoard logs brought back."""
    out = tmp_path / "ray"
    args = smoke_command(out, "--executor", "ray", "--address", cluster.address)
    driver = subprocess.Popen(
        [sys.executable, "-m", "resilinet_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    try:
        deadline = time.monotonic() + 180
        while len(unit_task_processes()) < 2 or finished_units(out) < 1:
            assert driver.poll() is None and time.monotonic() < deadline, "ended too early"
            time.sleep(0.05)
        second = next(node for node in cluster.worker_nodes)
        cluster.remove_node(second)  # while both nodes hold a unit
        stdout, stderr = driver.communicate(timeout=240)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes(timeout=60)
    assert driver.returncode == 0, stderr
    assert finished_units(out) == len(UNITS)
    assert_same_files(out, smoke_serial)
    for unit in UNITS:
        assert f"{unit}: accuracy with no failures" in stdout
        record = json.loads((out / "runs" / unit / "run.json").read_text())
        assert record["argv"] == ["resilinet", *args] and record["overrides"] == SMOKE_SETS
        logs = out / "runs" / unit / "tensorboard"
        assert {p.name for p in logs.iterdir()} == {"train", "validation", "test"}
        assert all(any(part.iterdir()) for part in logs.iterdir())
    assert "queue: 4 done, 0 in flight, 0 failed of 4" in stdout


def test_a_unit_whose_task_fails_is_reported_and_the_others_finish(cluster, tmp_path) -> None:
    """Without retries, a unit whose worker dies is a failed unit; the run goes on (here from
    the Python API, in a Ray session the caller opened)."""
    import resilinet_cli as rn

    out = tmp_path / "ray"
    config = rn.load_config(CONFIGS / "quickstart.yaml", overrides=SMOKE_SETS)
    killed: list[int] = []

    def kill_one_task() -> None:
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            running = unit_task_processes()
            if running:
                os.kill(running[0], signal.SIGKILL)
                killed.append(running[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_task, daemon=True)
    killer.start()
    options = rn.RayOptions(address=cluster.address, max_retries=0)
    ray.init(address=cluster.address, log_to_driver=False)  # as a notebook might have done
    result = rn.run(config, out, variants=["vanilla", "resilinet"], ray=options)
    assert ray.is_initialized()  # the notebook's session is left open
    ray.shutdown()
    killer.join(timeout=5)
    assert killed
    assert len(result.failed) == 1
    unit, why = result.failed[0]
    assert "Error" in why and unit.name in UNITS
    assert "ray::unit_files() (pid" not in why  # the cause, not the task's name
    assert finished_units(out) == len(UNITS) - 1


def test_an_unreachable_address_fails_in_one_line_within_seconds(tmp_path) -> None:
    at = time.monotonic()
    args = smoke_command(tmp_path / "run", "--executor", "ray", "--address", "127.0.0.1:1")
    result = CliRunner().invoke(main, args)
    assert time.monotonic() - at < 30
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "--address 127.0.0.1:1: no Ray cluster answers there" in result.stderr


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        (["--num-gpus", "1"], "--num-gpus (or resources.num_gpus) 1: no node of the Ray "
         "cluster has that many (the largest has 0 GPU)"),
        (["--set", "resources.num_gpus=0.5"], "--num-gpus (or resources.num_gpus) 0.5: no "
         "node of the Ray cluster has that many (the largest has 0 GPU)"),
        (["--num-cpus", "8"], "--num-cpus (or resources.num_cpus) 8: no node of the Ray "
         "cluster has that many (the largest has 1 CPU)"),
    ],
)  # fmt: skip
def test_resources_no_node_has_are_refused_before_any_unit_is_queued(
    cluster, tmp_path, asked: list[str], said: str
) -> None:
    """From the command line or from the config's resources section."""
    out = tmp_path / "run"
    args = smoke_command(out, "--executor", "ray", "--address", cluster.address)
    result = CliRunner().invoke(main, [*args, *asked])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert f"error: {said}; a unit would wait forever" in result.stderr
    assert finished_units(out) == 0 and not list(out.glob("runs/*/iter-*"))


def test_options_of_the_other_executor_are_refused(tmp_path) -> None:
    out = tmp_path / "run"
    both = CliRunner().invoke(main, smoke_command(out, "--executor", "ray", "--workers", "2"))
    assert both.exit_code == 2 and "--workers: applies to --executor local" in both.stderr
    local = CliRunner().invoke(main, smoke_command(out, "--address", "auto"))
    assert local.exit_code == 2 and "--address: applies to --executor ray" in local.stderr


def test_without_ray_installed_the_executor_says_how_to_get_it(tmp_path) -> None:
    code = (
        "import sys; sys.modules['ray'] = None\n"  # as if the extra were not installed
        "from resilinet_cli.cli import main\n"
        f"main({smoke_command(tmp_path / 'run', '--executor', 'ray')!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: --executor ray: Ray is not installed; pip install -e '.[ray]' in the resilinet "
        "repository"
    )
    assert not (tmp_path / "run").exists()
