"""The failure_model experiment: failout drawn independently vs from each failure model, each
scored under the independent settings and under every failure model."""

from __future__ import annotations

import pandas as pd

LEVELS = ["independent", "node_rates", "shared_rack", "shared_uplink", "flaky_links"]


def test_a_failure_model_experiment_writes_its_table_figure_and_page(failure_model_run) -> None:
    out = failure_model_run
    table = pd.read_csv(out / "tables" / "weighted_accuracy.csv")
    assert list(table.columns) == ["variant", "failout", "setting", "mean", "std", "iterations"]
    assert list(dict.fromkeys(table["failout"])) == LEVELS
    settings = ["no_failure", "normal", "poor", "hazardous", *LEVELS[1:]]
    assert table.groupby("failout")["setting"].apply(list).to_dict() == dict.fromkeys(
        LEVELS, settings
    )
    assert (out / "figures" / "failure_model.png").is_file()
    report = (out / "REPORT.md").read_text()
    assert "failout drawn from a failure model" in report and "failure_model.png" in report
    for level in LEVELS[1:]:
        record = out / "runs" / f"failout={level}" / "resilinet" / "iter-1" / "run.json"
        assert record.is_file()
