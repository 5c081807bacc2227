"""The paper's claim on a run's page: paired comparisons built from a run folder's own files.

Each test writes a small run folder as a run leaves it (config.yaml, and per unit run.json and
combinations.csv; no model, as committed results have none) and rebuilds its report. A unit's
accuracy is the same in every combination, so its weighted accuracy under any setting is that
number, and the statistics can be worked out by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from run_helpers import write_run

from resilinet_cli.experiments.pages import read_paired, report_section, write_run_tables
from resilinet_cli.results import claims

# By hand (fractions; the page shows points):
#   resilinet - deepfogguard = 0.10, 0.09, 0.11: mean 0.10, sd 0.01, t = 0.10 / (0.01/√3)
#     = 17.32 with 2 df; for 2 df the two-sided p = 1 - t/√(t² + 2) = 0.0033 and
#     t.975 = 0.95/√(2·0.975·0.025) = 4.3027, so the CI is 0.10 ± 4.3027·0.01/√3 = [0.0752, 0.1248]
#   deepfogguard - vanilla = 0.10, -0.03, 0.05: mean 0.04, sd √(0.0086/2) = 0.06557,
#     se 0.03786, t = 1.0565, p = 1 - 1.0565/√3.1163 = 0.40, CI 0.04 ± 0.1629 = [-0.1229, 0.2029]
ACCURACY = {
    "vanilla": [0.70, 0.86, 0.78],
    "deepfogguard": [0.80, 0.83, 0.83],
    "resilinet": [0.90, 0.92, 0.94],
}
# The page's family is its 8 comparisons (4 settings, 2 links). Holm by hand: the four
# p = 0.0033 come first and get 8·p = 0.0265 (then 7·p, 6·p, 5·p, smaller, so the running
# maximum keeps 0.0265); the four p = 0.40 get 4·p > 1, so 1. The power analysis at 0.05/8
# is checked against scipy's noncentral t in tests/test_stats.py: 3 pairs with sd 0.06557
# detect 60.73 points; +4.00 points would need 39 pairs.
HOLDS = (
    "resilinet > deepfogguard holds: resilinet - deepfogguard = +10.00 points [7.52, 12.48], "
    "paired t-test p = 0.003, Holm-adjusted p = 0.03 (family of 8), n = 3"
)
UNDECIDED = (
    "deepfogguard > vanilla is undecided at n = 3: deepfogguard - vanilla = +4.00 points "
    "[-12.29, 20.29], paired t-test p = 0.40, Holm-adjusted p = 1.00 (family of 8); 3 pairs "
    "detect 60.73 points, +4.00 points would need n = 39"
)


def test_the_report_states_the_claim_per_failure_setting(tmp_path: Path) -> None:
    config = write_run(tmp_path, ACCURACY)
    weighted = write_run_tables(tmp_path, config).weighted
    page = (tmp_path / "REPORT.md").read_text()
    for setting in ("normal", "poor", "hazardous"):
        assert f"- **{setting}**: the claim is undecided. {HOLDS}; {UNDECIDED}.\n" in page
    assert "- **no_failure**" not in page  # no node fails there: not the claim's ground
    assert (
        "| hazardous  | resilinet - deepfogguard |   3 |       +10.00 |   [7.52, 12.48] | +0.87 "
        "| 0.003 |         0.03 | holds     |              |            |"
    ) in page
    assert (
        "| no_failure | deepfogguard - vanilla   |   3 |        +4.00 | [-12.29, 20.29] | +0.87 "
        "|  0.40 |         1.00 | undecided |        60.73 |         39 |"
    ) in page
    # One p per comparison: no Welch sentence beside the paired verdicts.
    assert "Welch" not in page and "Under hazardous:" not in page
    # The claim comes before the table of means it is about.
    assert page.index("**The paper's claim") < page.index("**Weighted accuracy**")
    assert "Holm's correction over a family of 8 comparisons" in page
    assert "variation over training seeds, on one shared test set" in page

    table = pd.read_csv(tmp_path / "tables" / "paired.csv")
    assert list(table.columns) == claims.COLUMNS
    assert len(table) == 8  # 4 settings, 2 comparisons each
    row = table[(table["setting"] == "poor") & (table["a"] == "resilinet")].iloc[0]
    half = 0.95 / math.sqrt(2 * 0.975 * 0.025) * 0.01 / math.sqrt(3)
    t = 0.10 / (0.01 / math.sqrt(3))
    assert (row["b"], row["n"], row["test"], row["verdict"]) == (
        "deepfogguard",
        3,
        "paired t-test",
        "holds",
    )
    assert row["difference"] == pytest.approx(0.10, abs=1e-12)
    assert row["ci_low"] == pytest.approx(0.10 - half, abs=1e-9)
    assert row["ci_high"] == pytest.approx(0.10 + half, abs=1e-9)
    p = 1 - t / math.sqrt(t * t + 2)
    assert row["p"] == pytest.approx(p, abs=1e-9)
    assert row["p_adjusted"] == pytest.approx(8 * p, abs=1e-9)
    assert (row["correction"], row["family"]) == ("holm", 8)
    assert math.isnan(row["detectable"]) and math.isnan(row["n_needed"])  # decided
    # Pearson's r of (0.90, 0.92, 0.94) and (0.80, 0.83, 0.83): by hand, √3/2
    assert row["correlation"] == pytest.approx(math.sqrt(3) / 2, abs=1e-9)
    undecided = table[(table["setting"] == "poor") & (table["a"] == "deepfogguard")].iloc[0]
    assert (undecided["p_adjusted"], undecided["verdict"]) == (1.0, "undecided")
    assert undecided["n_needed"] == 39

    # A page built from the folder (a profile's) says exactly what the run's page says.
    figures = sorted((tmp_path / "figures").glob("*.png"))
    assert "**The paper's claim" not in report_section(config, weighted, figures).text
    from_folder = report_section(config, weighted, figures, read_paired(tmp_path))
    assert from_folder.text in page


def test_a_comparison_is_contradicted_when_the_difference_is_clearly_negative(
    tmp_path: Path,
) -> None:
    reversed_ = {**ACCURACY, "resilinet": [0.70, 0.74, 0.72]}  # 0.10, 0.09, 0.11 below
    config = write_run(tmp_path, reversed_)
    write_run_tables(tmp_path, config)
    page = (tmp_path / "REPORT.md").read_text()
    assert (
        "- **hazardous**: the claim is contradicted. resilinet > deepfogguard is contradicted: "
        "resilinet - deepfogguard = -10.00 points [-12.48, -7.52], paired t-test p = 0.003, "
        f"Holm-adjusted p = 0.03 (family of 8), n = 3; {UNDECIDED}.\n"
    ) in page


def test_both_comparisons_must_hold_for_the_claim_to_hold(tmp_path: Path) -> None:
    clear = {**ACCURACY, "vanilla": [0.50, 0.55, 0.52]}  # 0.30, 0.28, 0.31 below deepfogguard
    config = write_run(tmp_path, clear)
    write_run_tables(tmp_path, config)
    page = (tmp_path / "REPORT.md").read_text()
    # Holm by hand: the four deepfogguard - vanilla p (0.00088) now come first, so each
    # p = 0.0033 is multiplied by 4 at most: 0.013.
    holds = HOLDS.replace("Holm-adjusted p = 0.03", "Holm-adjusted p = 0.01")
    assert f"- **hazardous**: the claim holds. {holds}; deepfogguard > vanilla holds: " in page


def test_pairs_are_iterations_both_variants_finished(tmp_path: Path) -> None:
    """Iteration 2 of vanilla is missing: deepfogguard and vanilla pair on iteration 1 alone."""
    config = write_run(tmp_path, {**ACCURACY, "vanilla": [0.70]})
    write_run_tables(tmp_path, config)
    page = (tmp_path / "REPORT.md").read_text()
    # The family holds the 4 tested comparisons only: Holm gives 4·p = 0.013.
    holds = HOLDS.replace("p = 0.03 (family of 8)", "p = 0.01 (family of 4)")
    assert (
        f"- **poor**: the claim is undecided. {holds}; deepfogguard > vanilla is undecided at "
        "n = 1: deepfogguard - vanilla = +10.00 points, no noise estimate (n=1).\n"
    ) in page
    assert "**Partial run**: 2 of 9 planned units are not finished (vanilla/iter-2, " in page
    assert "| no noise estimate (n=1) |              | undecided |" in page


def test_equal_differences_are_said_to_leave_the_test_undefined(tmp_path: Path) -> None:
    config = write_run(tmp_path, {**ACCURACY, "resilinet": [0.85, 0.88, 0.88]})  # 0.05 each
    # Only the 4 deepfogguard - vanilla comparisons are tested: a family of 4, and the power
    # analysis at 0.05/4 (checked against scipy's noncentral t in tests/test_stats.py).
    undecided = (
        UNDECIDED.replace("(family of 8)", "(family of 4)")
        .replace("detect 60.73 points", "detect 42.93 points")
        .replace("n = 39", "n = 34")
    )
    write_run_tables(tmp_path, config)
    page = (tmp_path / "REPORT.md").read_text()
    assert (
        "- **normal**: the claim is undecided. resilinet > deepfogguard is undecided at n = 3: "
        "all 3 differences resilinet - deepfogguard equal +5.00 points, so the paired t-test is "
        f"undefined (no spread); {undecided}.\n"
    ) in page
    assert "| undefined: all 3 differences equal +5.00 |              | undecided |" in page
    table = pd.read_csv(tmp_path / "tables" / "paired.csv")
    assert set(table.loc[table["a"] == "resilinet", "test"]) == {"none: all differences equal"}


def test_one_iteration_adds_no_claim_to_the_page_but_the_table_has_its_rows(
    tmp_path: Path,
) -> None:
    """One iteration: the ordering sentence already says there is no noise estimate, and the
    committed one-iteration reports stay as they were."""
    config = write_run(tmp_path, {variant: values[:1] for variant, values in ACCURACY.items()})
    write_run_tables(tmp_path, config)
    page = (tmp_path / "REPORT.md").read_text()
    assert "One iteration per variant gives no noise estimate, so this page states no" in page
    assert "**The paper's claim" not in page and "**Paired comparisons**" not in page
    table = pd.read_csv(tmp_path / "tables" / "paired.csv")
    assert len(table) == 8 and set(table["test"]) == {"none: n=1"}
    assert table["p"].isna().all() and set(table["verdict"]) == {"undecided"}


def test_without_two_neighbours_of_the_claim_there_is_no_paired_table(tmp_path: Path) -> None:
    """vanilla and resilinet alone are not compared: the claim goes through deepfogguard."""
    config = write_run(tmp_path, {"vanilla": [0.7, 0.8], "resilinet": [0.9, 0.9]})
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "paired.csv").write_text("left by an older report\n")
    write_run_tables(tmp_path, config)
    assert not (tmp_path / "tables" / "paired.csv").exists()
    assert read_paired(tmp_path) is None
    assert "**The paper's claim" not in (tmp_path / "REPORT.md").read_text()


def test_a_profile_page_opens_with_the_claim_of_every_experiment(tmp_path: Path) -> None:
    from resilinet_cli.experiments.reproduce import claim_summary

    holds = write_run(tmp_path / "first", ACCURACY, "name=first")
    reversed_ = {**ACCURACY, "resilinet": [0.70, 0.74, 0.72]}
    against = write_run(tmp_path / "second", reversed_, "name=second")
    alone = write_run(tmp_path / "third", {"vanilla": [0.7], "resilinet": [0.8]}, "name=third")
    for out, config in ((tmp_path / "first", holds), (tmp_path / "second", against)):
        write_run_tables(out, config)
    write_run_tables(tmp_path / "third", alone)
    text = claim_summary(tmp_path, [holds, against, alone])
    lines = [line for line in text.splitlines() if line.startswith("| first") or "second" in line]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    claim = "normal: {0}; poor: {0}; hazardous: {0}"
    assert cells == [
        [
            "first",
            "3",
            "+10.00 [7.52, 12.48], p = 0.003, adjusted 0.03",
            "+4.00 [-12.29, 20.29], p = 0.40, adjusted 1.00",
            claim.format("undecided"),
        ],
        [
            "second",
            "3",
            "-10.00 [-12.48, -7.52], p = 0.003, adjusted 0.03",
            "+4.00 [-12.29, 20.29], p = 0.40, adjusted 1.00",
            claim.format("contradicted"),
        ],
    ]
    assert "| third" not in text  # one iteration: nothing tested, no row
    assert claim_summary(tmp_path, [alone]) == ""
