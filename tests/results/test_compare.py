"""`resilinet compare NEW REFERENCE`: every table cell against the reference, flagged by noise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from paths import ROOT

from resilinet_cli.cli import main

HEADER = "variant,skip_config,setting,mean,std,iterations\n"
NEW = HEADER + (
    "resilinet,011,hazardous,0.80,0.02,2\n"  # within noise of 0.79 ± 0.02
    "resilinet,011,poor,0.90,0.001,3\n"  # far beyond the noise of 0.80 ± 0.001
    "resilinet,100,hazardous,0.70,,1\n"  # one iteration: no noise estimate
    "resilinet,100,poor,0.75,,1\n"  # one iteration, but the same number
    "resilinet,101,hazardous,0.60,0.01,2\n"  # only here
)
REFERENCE = HEADER + (
    "resilinet,011,hazardous,0.79,0.02,2\n"
    "resilinet,011,poor,0.80,0.001,3\n"
    "resilinet,100,hazardous,0.72,,1\n"
    "resilinet,100,poor,0.75,,1\n"
    "resilinet,000,hazardous,0.50,0.01,2\n"  # only here
)


def run_folder(root: Path, table: str) -> Path:
    (root / "tables").mkdir(parents=True)
    (root / "tables" / "weighted_accuracy.csv").write_text(table)
    return root


def compare(new: Path, reference: Path, *options: str) -> Result:
    args = ["compare", str(new), str(reference), *options]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_each_cell_is_compared_and_only_differences_beyond_noise_are_flagged(
    tmp_path: Path,
) -> None:
    new = run_folder(tmp_path / "new", NEW)
    reference = run_folder(tmp_path / "reference", REFERENCE)
    result = compare(new, reference)
    assert result.exit_code == 0, result.stderr  # it reports; it does not judge
    lines = result.stdout.splitlines()
    assert lines[0] == f"{new} against the reference {reference}"
    assert lines[2] == "== ."

    def row(skips: str, setting: str) -> str:
        (line,) = [x for x in lines if x.startswith(f"resilinet  {skips} ") and setting in x]
        return " ".join(line.split())

    assert row("011", "hazardous") == (
        "resilinet 011 hazardous 80.00 ± 2.00 (n=2) 79.00 ± 2.00 (n=2) +1.00 0.67 0.67 within noise"
    )
    assert row("011", "poor") == (
        "resilinet 011 poor 90.00 ± 0.10 (n=3) 80.00 ± 0.10 (n=3) +10.00 <0.001 <0.001 DIFFERS"
    )
    assert row("100", "hazardous") == (
        "resilinet 100 hazardous 70.00 (n=1) 72.00 (n=1) -2.00 no noise estimate"
    )
    assert row("100", "poor") == "resilinet 100 poor 75.00 (n=1) 75.00 (n=1) +0.00 equal"
    assert row("101", "hazardous") == "resilinet 101 hazardous 60.00 ± 1.00 (n=2) — NEW ONLY"
    assert row("000", "hazardous") == "resilinet 000 hazardous — 50.00 ± 1.00 (n=2) REFERENCE ONLY"
    assert lines[-2] == (
        "Summary: 6 cells, 3 flagged (1 differ beyond the noise, 2 on one side only); "
        "1 within noise, 1 equal, 1 without a noise estimate (n < 2)"
    )
    assert lines[-1] == f"Comparison: {new / 'comparison.csv'}"

    table = pd.read_csv(new / "comparison.csv", dtype={"factors": str})
    assert list(table.columns) == [
        "experiment", "variant", "factors", "setting", "new_mean", "new_std", "new_n",
        "reference_mean", "reference_std", "reference_n", "difference", "p_value", "p_adjusted",
        "verdict", "flagged",
    ]  # fmt: skip
    assert list(table["factors"]) == [
        "skip_config=011", "skip_config=011", "skip_config=100", "skip_config=100",
        "skip_config=101", "skip_config=000",
    ]  # fmt: skip
    assert list(table["verdict"]) == [
        "within noise", "DIFFERS", "no noise estimate", "equal", "NEW ONLY", "REFERENCE ONLY",
    ]  # fmt: skip
    assert list(table["flagged"]) == [False, True, False, False, True, True]
    assert table["difference"].iloc[1] == pytest.approx(0.10)
    assert not list(new.glob(".*tmp*"))  # written atomically: no temporary left


def test_the_same_tables_flag_nothing(tmp_path: Path) -> None:
    new = run_folder(tmp_path / "new", REFERENCE)
    reference = run_folder(tmp_path / "reference", REFERENCE)
    result = compare(new, reference)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-2] == (
        "Summary: 5 cells, 0 flagged (0 differ beyond the noise, 0 on one side only); "
        "0 within noise, 5 equal, 0 without a noise estimate (n < 2)"
    )


def test_two_profile_folders_are_compared_experiment_by_experiment(tmp_path: Path) -> None:
    """The committed reference against a copy of its tables: one cell moved, one run left out."""
    reference = ROOT / "results" / "quick"
    new = tmp_path / "quick"
    tables = sorted(reference.glob("*/tables/weighted_accuracy.csv"))
    assert len(tables) >= 2
    cells, left_out = 0, tables.pop(0)
    for table in tables:
        copy = new / table.relative_to(reference)
        copy.parent.mkdir(parents=True)
        shutil.copyfile(table, copy)
        cells += len(pd.read_csv(table))
    moved = new / "quickstart" / "tables" / "weighted_accuracy.csv"
    frame = pd.read_csv(moved)
    frame.loc[0, "mean"] -= 0.2  # vanilla no_failure, n=2 with a std below 1 %
    frame.to_csv(moved, index=False)

    # Over ~300 cells Holm's correction leaves an n = 2 cell no chance to stand out (below);
    # uncorrected, the moved cell is the one flagged.
    result = compare(new, reference, "--correction", "none")
    assert result.exit_code == 0, result.stderr
    for table in tables:
        assert f"== {table.parent.parent.name}" in result.stdout
    missing = len(pd.read_csv(left_out))
    name = left_out.parent.parent.name
    assert f"== {name}: only in the reference ({missing} cells)\n" in result.stdout
    assert result.stdout.splitlines()[-2].startswith(
        f"Summary: {cells + missing} cells, {1 + missing} flagged (1 differ beyond the noise, "
        f"{missing} on one side only); 0 within noise, {cells - 1} equal"
    )
    flagged = pd.read_csv(new / "comparison.csv").query("flagged and verdict == 'DIFFERS'")
    assert flagged[["experiment", "variant", "setting"]].values.tolist() == [
        ["quickstart", "vanilla", "no_failure"]
    ]
    assert not (reference / "comparison.csv").exists()

    corrected = compare(new, reference)
    assert "0 differ beyond the noise" in corrected.stdout.splitlines()[-2]
    table = pd.read_csv(new / "comparison.csv")
    tested = table.dropna(subset=["p_value"])
    moved = tested.query("experiment == 'quickstart' and variant == 'vanilla'").iloc[0]
    assert moved["p_value"] < 0.05 <= moved["p_adjusted"]  # Holm: raw p times up to m
    assert moved["p_adjusted"] == pytest.approx(min(1.0, len(tested) * moved["p_value"]))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "{new}: no such folder"),
        ("empty", "{new}: no tables/weighted_accuracy.csv in it or below; give a run folder or "
         "a profile folder such as results/quick"),
        ("columns", "{new}/tables/weighted_accuracy.csv: not a weighted-accuracy table (no "
         "column setting, iterations)"),
        ("profile", "{new} and {reference} share no experiment (. against quickstart); compare "
         "two run folders or two profile folders"),
    ],
)  # fmt: skip
def test_bad_folders_are_one_line_and_exit_2(tmp_path: Path, case: str, message: str) -> None:
    new, reference = tmp_path / "new", tmp_path / "reference"
    run_folder(reference / "quickstart", REFERENCE)
    if case == "empty":
        new.mkdir()
    elif case == "columns":
        run_folder(new, "variant,mean,std\nvanilla,0.5,0.1\n")
        reference = reference / "quickstart"
    elif case == "profile":
        run_folder(new, REFERENCE)
    result = compare(new, reference)
    assert result.exit_code == 2
    assert result.stderr == f"error: {message.format(new=new, reference=reference)}\n"
