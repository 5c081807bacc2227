"""Shared fixtures (the Health topology preset, tiny trained models and runs) and the test
tiers: every test is marked ``slow`` or ``serial`` here, from the lists in tests/tiers.py, and
an unmarked test that takes longer than ``FAST_SECONDS`` fails the fast tier."""

from __future__ import annotations

import contextlib
import os

# Ray reads this once, when it is imported: set before anything imports ray, so that the test
# clusters bind to 127.0.0.1 and not to the host's interface address.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
# Ray starts its worker processes at nice 15, to keep its own daemons responsive. Beside the
# suite's other workers on two cores that starves them: the two-node test took 230 s instead of
# 35 s. At nice 0 the test clusters' tasks get their share like every other test's processes.
os.environ["RAY_worker_niceness"] = "0"  # noqa: SIM112 (Ray spells it so)

import pytest
from paths import CONFIGS, TOPOLOGIES
from tiers import OTHER_TESTS_NICE, SERIAL_PATHS, SLOW_PATHS, matches, uses_slow_fixture

from resilinet_cli.config import TopologyConfig, read_yaml
from resilinet_cli.topology import Topology

FAST_SECONDS = 2.0  # the longest an unmarked test may take (setup, call and teardown)
_SPENT = pytest.StashKey[float]()


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test slow and/or serial by the fixtures it uses and by tests/tiers.py; the
    serial tests go first (see ``pytest_xdist_make_scheduler``)."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        places = {
            name: [definition.baseid for definition in definitions]
            for name, definitions in (info.name2fixturedefs.items() if info else ())
        }
        serial = matches(item.nodeid, SERIAL_PATHS)
        if serial:
            item.add_marker(pytest.mark.serial)
        if serial or matches(item.nodeid, SLOW_PATHS) or uses_slow_fixture(places):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("serial") is None)  # stable


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadfile`` (``make test``) with the serial tests as one more "file": each file
    stays on one worker, so its trained fixtures are built once, and one worker runs the
    timing-sensitive tests one after another, never two at once. That group is queued first,
    so the longest work unit starts at once while the other workers take the files.
    (xdist's own ``loadgroup`` does not group under pytest 9, which ignores its node-id suffix.)
    """
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class TierScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "serial" if matches(nodeid, SERIAL_PATHS) else super()._split_scope(nodeid)

    config.option.loadscopereorder = False  # the collection's order: the serial group first
    return TierScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Run every test but the serial ones at nice 5, with what it starts: the serial group is
    the longest work unit and measures seconds (deadlines of 200 ms), so the other workers fill
    its idle CPU instead of starving it (on two cores, eight node processes starting beside it
    made a live node miss its deadline). Raised once per worker, for each of its threads."""
    if item.get_closest_marker("serial") is not None or not hasattr(os, "setpriority"):
        return
    if os.getpriority(os.PRIO_PROCESS, 0) >= OTHER_TESTS_NICE:
        return
    tasks = "/proc/self/task"  # Linux: each thread has a niceness of its own
    for thread in os.listdir(tasks) if os.path.isdir(tasks) else ["0"]:
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.setpriority(os.PRIO_PROCESS, int(thread), OTHER_TESTS_NICE)


def _fast_tier(config: pytest.Config) -> bool:
    """The fast tier is any run that leaves the slow tests out (``-m "not slow"``)."""
    return "not slow" in (config.getoption("markexpr", "") or "")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """In the fast tier, fail an unmarked test whose setup, call and teardown exceed
    ``FAST_SECONDS`` together, naming the test, its time and how to mark it."""
    report = yield
    if not _fast_tier(item.config) or item.get_closest_marker("slow") is not None:
        return report
    spent = item.stash.get(_SPENT, 0.0) + report.duration
    item.stash[_SPENT] = spent
    if spent > FAST_SECONDS and report.passed and call.when != "setup":
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} took {spent:.1f} s, over the fast tier's {FAST_SECONDS:.0f} s: "
            "if it trains or starts a process, add its fixture to SLOW_FIXTURES or its node id "
            "to SLOW_PATHS in tests/tiers.py; otherwise make it faster"
        )
        item.stash[_SPENT] = float("-inf")  # reported once
    return report


@pytest.fixture(scope="session")
def health_topology_config() -> TopologyConfig:
    return TopologyConfig(**read_yaml(TOPOLOGIES / "health.yaml"))


@pytest.fixture(scope="session")
def health() -> Topology:
    return Topology.from_config(TopologyConfig(**read_yaml(TOPOLOGIES / "health.yaml")))


@pytest.fixture(scope="session")
def tiny_run():
    """The one tiny trained run the tests share (tests/run_helpers.py): its config and
    overrides; ``tiny_run.sets("iterations=1")`` changes one key on top."""
    from run_helpers import TinyRun

    return TinyRun()


@pytest.fixture(scope="session")
def quick_config():
    """The quickstart config shrunk to a test-sized run."""
    from resilinet_cli.config import load_config

    return load_config(
        CONFIGS / "quickstart.yaml",
        ["train.epochs=2", "dataset.subset.train=600", "dataset.subset.test=200"],
    )


@pytest.fixture(scope="session")
def digits(quick_config):
    from resilinet_cli.data import load_splits

    return load_splits(quick_config.dataset)


@pytest.fixture(scope="session")
def trained(quick_config, digits, tmp_path_factory):
    """One briefly trained model per variant (2 epochs on 600 digits)."""
    from run_helpers import trained_briefly

    models = {}
    for variant in quick_config.variants:
        work_dir = tmp_path_factory.mktemp(variant)
        model, family, _ = trained_briefly(quick_config, variant, digits, work_dir)
        models[variant] = (model, family)
    return models


@pytest.fixture(scope="session")
def smoke_serial(tmp_path_factory):
    """The four-unit smoke run, serial and in-process: what the pool and Ray must equal."""
    from click.testing import CliRunner
    from run_helpers import smoke_command

    from resilinet_cli.cli import main

    out = tmp_path_factory.mktemp("smoke-serial") / "run"
    result = CliRunner().invoke(main, smoke_command(out), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def failure_model_run(tmp_path_factory):
    """configs/ablations/digits_failure_model.yaml, tiny and one iteration: five units trained
    with failout independent or drawn from node_rates (the control), shared_rack, shared_uplink
    and flaky_links (which drops two failable links), each swept over every combination of nodes
    and links."""
    from click.testing import CliRunner
    from run_helpers import TINY

    from resilinet_cli.cli import main

    out = tmp_path_factory.mktemp("failure-model") / "fm"
    args = ["-q", "run", str(CONFIGS / "ablations" / "digits_failure_model.yaml"),
            "--out", str(out), *TINY, "--iterations", "1"]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return out
