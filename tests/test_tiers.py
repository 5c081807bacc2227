"""The tier lists of tests/tiers.py name tests that exist, and no test file marks itself."""

from __future__ import annotations

import ast
import os
from pathlib import Path

from paths import ROOT
from tiers import (
    OTHER_TESTS_NICE,
    SERIAL_PATHS,
    SLOW_FIXTURES,
    SLOW_PATHS,
    matches,
    uses_slow_fixture,
)

TESTS = ROOT / "tests"


def functions(path: Path) -> set[str]:
    """Names of the functions a test file defines (tests and fixtures)."""
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_every_listed_path_names_an_existing_file_and_test() -> None:
    wrong = []
    for entry in [*SLOW_PATHS, *SERIAL_PATHS]:
        path, _, prefix = entry.partition("::")
        if not (ROOT / path).exists():
            wrong.append(f"{entry}: no such file or folder")
        elif prefix and not any(name.startswith(prefix) for name in functions(ROOT / path)):
            wrong.append(f"{entry}: no such test")
    assert wrong == []


def test_every_file_bound_slow_fixture_is_defined_there() -> None:
    bound = [name.partition("::") for name in SLOW_FIXTURES if "::" in name]
    assert [
        f"{path}::{name}" for path, _, name in bound if name not in functions(ROOT / path)
    ] == []


def test_no_test_file_marks_itself_slow() -> None:
    """The one place is tests/conftest.py with tests/tiers.py."""
    marked = [
        path.relative_to(ROOT)
        for path in TESTS.rglob("test_*.py")
        if path != Path(__file__)
        and ("mark.slow" in path.read_text() or "mark.serial" in path.read_text())
    ]
    assert marked == [], marked


def test_matching_is_by_prefix_of_the_node_id() -> None:
    live, runner = "tests/live/test_health_deployment.py", "tests/experiments/test_runner.py"
    paths = (live, f"{runner}::test_kill")
    assert matches(f"{live}::test_a_hung_node[1]", paths)
    assert matches(f"{runner}::test_kill_9_then_rerun", paths)
    assert not matches(f"{runner}::test_dry_run", paths)


def test_a_fixture_name_is_slow_anywhere_or_only_in_its_file() -> None:
    assert uses_slow_fixture({"trained": ["tests"]}) == "trained"
    cnn = "tests/live/test_cnn_deployment.py::cnn"
    assert uses_slow_fixture({"cnn": ["tests/live/test_cnn_deployment.py"]}) == cnn
    assert uses_slow_fixture({"cnn": ["tests/models/test_costs.py"]}) is None


def test_a_test_that_is_not_serial_runs_niced_with_every_thread() -> None:
    """tests/conftest.py gives the serial group the CPU first: this test (not serial) and its
    worker's threads run at OTHER_TESTS_NICE or lower priority."""
    assert os.getpriority(os.PRIO_PROCESS, 0) >= OTHER_TESTS_NICE
    for thread in os.listdir("/proc/self/task"):
        assert os.getpriority(os.PRIO_PROCESS, int(thread)) >= OTHER_TESTS_NICE
