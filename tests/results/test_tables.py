"""A table checks its own invariants before it is written: each unit's combinations are exactly
2^(N+L) rows in binary order, and each setting's probabilities over them sum to 1; a unit whose
record predates checksums is checked by its table's shape. Never a number from a broken table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from run_helpers import HEALTH_NODES, write_run

from resilinet_cli.cli import main
from resilinet_cli.errors import RunError
from resilinet_cli.results import integrity
from resilinet_cli.results.tables import check_probabilities
from resilinet_cli.topology import Topology


def table(rows: list[tuple[int, int, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=HEALTH_NODES)
    return frame.assign(information_flow=True, accuracy=0.5)


EVERY = [(c >> 2 & 1, c >> 1 & 1, c & 1) for c in range(8)]


def test_the_probabilities_of_every_combination_sum_to_one(health: Topology) -> None:
    for setting, reliability in health.reliability.items():
        check_probabilities(table(EVERY), health.columns, health.survival(reliability), setting)


@pytest.mark.parametrize(
    "rows", [EVERY[:2], EVERY + EVERY[-1:], EVERY[:-1] + EVERY[:1]], ids=["2 of 8", "9", "dup"]
)
def test_missing_or_repeated_combinations_are_refused(health: Topology, rows) -> None:
    survival = health.survival(health.reliability["hazardous"])
    with pytest.raises(RunError, match="under hazardous, not 1: some are missing or repeated"):
        check_probabilities(table(rows), health.columns, survival, "hazardous")


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        (EVERY[:2], "has 2 rows, not the 8 combinations of 3 failable nodes and links"),
        (EVERY[1:] + EVERY[:1], "does not list the combinations in binary order"),
    ],
)
def test_a_combinations_table_has_the_sweeps_shape(rows, problem: str, tmp_path: Path) -> None:
    path = tmp_path / "combinations.csv"
    table(rows).to_csv(path, index=False)
    damage = integrity.check_combinations(path, HEALTH_NODES)
    assert damage is not None and damage.problem.startswith(problem)
    table(EVERY).to_csv(path, index=False)
    assert integrity.check_combinations(path, HEALTH_NODES) is None
    table(EVERY).assign(accuracy=1.5).to_csv(path, index=False)
    assert (
        "not a number between 0 and 1" in integrity.check_combinations(path, HEALTH_NODES).problem
    )


def test_a_truncated_table_of_a_unit_without_checksums_is_an_error_not_a_number(
    tmp_path: Path,
) -> None:
    """The audit's case on a folder whose records have no checksums: 2 of 8 rows left."""
    write_run(tmp_path, {"vanilla": [0.7, 0.8], "resilinet": [0.9, 0.9]})
    unit = tmp_path / "runs" / "resilinet" / "iter-1"
    assert "files" not in json.loads((unit / "run.json").read_text())  # an older record
    path = unit / "combinations.csv"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:3]))
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}: has 2 rows, not the 8 combinations of 3 failable nodes and links "
        f"(truncated?); train it again with: resilinet run {tmp_path / 'config.yaml'} --out "
        f"{tmp_path}\n"
    )
    assert not (tmp_path / "tables").exists()
