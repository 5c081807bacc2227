"""`resilinet search` end to end on an 8-candidate, 2-epoch grid, two trials at once: stopped by
SIGTERM, killed, and resumed without retraining a finished trial; the same trials from a 2-node
Ray cluster, two of them copied from the first search; and an Optuna search with ASHA whose
stopped trials stay off the front."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from paths import ROOT
from search_helpers import GRID_SPACE, SMALL_CONFIG, with_changes, write

TIMEOUT = 300  # seconds any one search may take here
SCORES = ["val_expected_hazardous", "test_expected_hazardous", "test_worst_hazardous"]
DESIGN = ["candidate", "variant", "partition", "skips", "failout", "epochs", "state"]
SPACE = with_changes(GRID_SPACE, max_concurrent_trials=2)  # one per CPU here, one per node there


def command(config: Path, space: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "resilinet_cli", "search", str(config), "--space", str(space),
            "--out", str(out), *extra]  # fmt: skip


def environment() -> dict[str, str]:
    """This process's environment without a cluster address: a search of its own."""
    return {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}


def finished_units(out: Path) -> dict[str, str]:
    """Trial id -> the 'finished' time its unit record holds, for every finished unit."""
    found = {}
    for record in (out / "trials").glob("*/runs/*/iter-1/run.json"):
        data = json.loads(record.read_text(encoding="utf-8"))
        if data.get("status") == "done":
            found[record.parents[3].name] = data.get("finished") or data["started"]
    return found


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("search_inputs")
    return write(folder, "config.yaml", SMALL_CONFIG), write(folder, "space.yaml", SPACE)


def stop_after(config: Path, space: Path, out: Path, finished: int, sig: int) -> int:
    """Start the search, send ``sig`` once ``finished`` units are done (SIGTERM to the driver;
    SIGKILL to its whole process group, the Ray processes it started too); its exit status."""
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    process = subprocess.Popen(command(config, space, out), cwd=ROOT, start_new_session=True,
                               env=environment(), **quiet)  # fmt: skip
    deadline = time.monotonic() + TIMEOUT
    try:
        while len(finished_units(out)) < finished and process.poll() is None:
            assert time.monotonic() < deadline, "no trial finished in time"
            time.sleep(0.5)
        if sig == signal.SIGKILL:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.send_signal(sig)
        return process.wait(timeout=TIMEOUT)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def resumed(inputs, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A grid search stopped by SIGTERM once a trial finished, killed (SIGKILL) once another
    did, then run again by the same command to the end; and what was finished before."""
    config, space = inputs
    out = tmp_path_factory.mktemp("search") / "grid"
    assert stop_after(config, space, out, 1, signal.SIGTERM) == 128 + signal.SIGTERM
    first = finished_units(out)
    stop_after(config, space, out, len(first) + 1, signal.SIGKILL)
    before = finished_units(out)
    assert first.items() <= before.items() and len(first) < len(before) < 8
    rerun = subprocess.run(command(config, space, out), cwd=ROOT, capture_output=True,
                           text=True, timeout=TIMEOUT, env=environment())  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    return out, before


def test_a_killed_search_resumes_without_retraining_finished_trials(resumed) -> None:
    out, before = resumed
    after = finished_units(out)
    assert len(after) == 8
    assert {trial: after[trial] for trial in before} == before  # not trained again
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 8 and set(trials["state"]) == {"finished"}
    assert trials[SCORES].notna().all().all()
    assert trials["val_expected_hazardous"].between(0, 1).all()


def test_the_front_is_the_non_dominated_finished_trials(resumed) -> None:
    out, _ = resumed
    trials = pd.read_csv(out / "trials.csv")
    pareto = pd.read_csv(out / "pareto.csv")
    accuracy, latency = trials["val_expected_hazardous"], trials["latency_ms"]
    expected = {
        row.candidate
        for row in trials.itertuples()
        if not any(
            (accuracy[j] >= row.val_expected_hazardous and latency[j] <= row.latency_ms)
            and (accuracy[j] > row.val_expected_hazardous or latency[j] < row.latency_ms)
            for j in trials.index
        )
    }
    assert set(pareto["candidate"]) == expected
    assert list(pareto["latency_ms"]) == sorted(pareto["latency_ms"])
    report = (out / "REPORT.md").read_text(encoding="utf-8")
    assert "## Methods" in report and "a full grid" in report and "## Front" in report
    assert (out / "front.png").stat().st_size > 10_000


def test_every_trial_folder_is_a_run_folder(resumed) -> None:
    """`resilinet evaluate` works on a trial as on any run."""
    from click.testing import CliRunner

    from resilinet_cli.cli import main

    out, _ = resumed
    trial = next(iter(sorted((out / "trials").iterdir())))
    result = CliRunner().invoke(main, ["evaluate", str(trial), "--failures", "fog1"])
    assert result.exit_code == 0, result.output
    assert "fog1" in result.output


@pytest.fixture(scope="module")
def cluster():
    """A 2-node loopback Ray cluster, one CPU each, so that trials spread over both."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_a_cluster_without_shared_storage_is_refused(inputs, cluster, tmp_path) -> None:
    from click.testing import CliRunner

    from resilinet_cli.cli import main

    config, space = inputs
    result = CliRunner().invoke(main, command(config, space, tmp_path / "out",
                                              "--address", cluster.address)[3:])  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "this cluster has 2 nodes; give --storage DIR" in lines[0]


def test_trials_that_fit_on_no_node_are_refused(inputs, cluster, tmp_path) -> None:
    from click.testing import CliRunner

    from resilinet_cli.cli import main

    config, _ = inputs
    space = write(tmp_path, "space.yaml", with_changes(GRID_SPACE, cpus_per_trial=2))
    args = command(config, space, tmp_path / "out", "--address", cluster.address,
                   "--storage", str(tmp_path / "shared"))  # fmt: skip
    result = CliRunner().invoke(main, args[3:])
    assert result.exit_code == 2, result.output
    assert (
        "cpus_per_trial: 2, but the largest node of the Ray cluster has 1 CPUs"
        in (result.stderr.strip().splitlines()[-1])
    )


@pytest.fixture(scope="module")
def on_cluster(inputs, cluster, resumed, tmp_path_factory) -> tuple[Path, Path]:
    """Half of the grid (partition 1: four candidates) on the two nodes, with ``--reuse-from``
    a folder holding the local search's two trials of that half without skips; the search's
    folder and its trial folders (the storage every node reaches)."""
    from click.testing import CliRunner

    from resilinet_cli.cli import main

    config, _ = inputs
    folder = tmp_path_factory.mktemp("on_cluster")
    half = with_changes(SPACE, dimensions={**SPACE["dimensions"], "partition": [1]})
    space = write(folder, "space.yaml", half)
    donors = folder / "donors"
    local = pd.read_csv(resumed[0] / "trials.csv")
    for trial in local[(local["partition"] == 1) & (local["skips"] == "none")]["candidate"]:
        shutil.copytree(resumed[0] / "trials" / trial, donors / trial)
    out, shared = folder / "out", folder / "shared"
    args = command(config, space, out, "--address", cluster.address, "--storage", str(shared),
                   "--reuse-from", str(donors))  # fmt: skip
    result = CliRunner().invoke(main, args[3:])
    assert result.exit_code == 0, result.output
    return out, shared


def test_a_two_node_cluster_trains_the_same_trials(on_cluster, resumed) -> None:
    """Each trial's design, state and scores equal the local search's, to the last bit."""
    out, shared = on_cluster
    assert len(list((shared / "trials").iterdir())) == 4
    there = pd.read_csv(out / "trials.csv")[DESIGN + SCORES]
    here = pd.read_csv(resumed[0] / "trials.csv")[DESIGN + SCORES]
    here = here[here["candidate"].isin(there["candidate"])].reset_index(drop=True)
    assert len(here) == 4
    pd.testing.assert_frame_equal(here, there)


def test_a_finished_unit_of_another_search_is_copied_not_trained(on_cluster) -> None:
    """--reuse-from finds finished units of equal training key anywhere under a folder, as
    `resilinet run --reuse-from` does: the two donors are copied, the two others trained."""
    out, shared = on_cluster
    records = {
        path.parents[3].name: json.loads(path.read_text(encoding="utf-8"))
        for path in shared.glob("trials/*/runs/*/iter-1/run.json")
    }
    donors = {path.name for path in (out.parent / "donors").iterdir()}
    assert len(records) == 4 and len(donors) == 2
    assert {trial for trial, record in records.items() if "reused_from" in record} == donors
    assert all(record["status"] == "done" for record in records.values())


def test_an_optuna_search_with_asha_keeps_stopped_trials_off_the_front(inputs, tmp_path) -> None:
    config, _ = inputs
    space = with_changes(GRID_SPACE, sampler="tpe", trials=3, seed=0,
                         asha={"grace_epochs": 1, "reduction_factor": 2})  # fmt: skip
    space["dimensions"] = {**GRID_SPACE["dimensions"], "epochs": [3]}  # rungs at epochs 1, 2
    space_file = write(tmp_path, "space.yaml", space)
    run = subprocess.run(command(config, space_file, tmp_path / "out"), cwd=ROOT, text=True,
                         capture_output=True, timeout=TIMEOUT, env=environment())  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    trials = pd.read_csv(tmp_path / "out" / "trials.csv")
    assert set(trials["state"]) <= {"finished", "stopped"}
    stopped = trials[trials["state"] == "stopped"]
    assert len(stopped) >= 1 and (stopped["epochs_trained"] < 3).all()
    assert not stopped["on_front"].any()
    pareto = pd.read_csv(tmp_path / "out" / "pareto.csv")
    assert set(pareto["state"]) == {"finished"}
    report = (tmp_path / "out" / "REPORT.md").read_text(encoding="utf-8")
    assert "TPE sampler (seed 0), 3 trials" in report
    saved = float(
        report.split("against every tried candidate trained to its budget: ")[1].split(" %")[0]
    )
    expected = 1 - trials["epochs_trained"].sum() / trials["epochs"].sum()
    assert saved == pytest.approx(100 * expected, abs=0.05) and saved > 0


def test_per_example_scores_average_to_the_sweeps_expected_accuracy(resumed) -> None:
    """The comparison's per-example path (predictions under each combination, weighted) and the
    sweep's per-combination counts are two computations of one number."""
    from resilinet_cli.config import load_config
    from resilinet_cli.search.comparison import example_scores
    from resilinet_cli.search.plan import plan_search
    from resilinet_cli.search.space import load_space

    out, _ = resumed
    config = load_config(out / "config.yaml")
    plan = plan_search(config, load_space(out / "space.yaml"), out / "space.yaml", "config.yaml")
    trials = pd.read_csv(out / "trials.csv").set_index("candidate")
    for candidate in plan.candidates[:2]:
        scores = example_scores(candidate, plan, out / "trials")
        expected = trials.loc[candidate.id, "test_expected_hazardous"]
        assert scores.mean() == pytest.approx(expected, abs=1e-9)
