"""The failure_model experiment: failout drawn independently vs from a failure model, each
scored under the independent settings and under the failure model."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner
from paths import CONFIGS
from run_helpers import TINY

from resilinet_cli.cli import main


def test_a_failure_model_experiment_writes_its_table_figure_and_page(tmp_path) -> None:
    out = tmp_path / "fm"
    args = ["-q", "run", str(CONFIGS / "ablations" / "digits_failure_model.yaml"),
            "--out", str(out), *TINY, "--iterations", "1"]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(out / "tables" / "weighted_accuracy.csv")
    assert list(table.columns) == ["variant", "failout", "setting", "mean", "std", "iterations"]
    assert set(table["failout"]) == {"independent", "shared_rack", "shared_uplink"}
    settings = ["no_failure", "normal", "poor", "hazardous", "shared_rack", "shared_uplink"]
    assert table.groupby("failout")["setting"].apply(list).to_dict() == {
        "independent": settings, "shared_rack": settings, "shared_uplink": settings
    }  # fmt: skip
    assert (out / "figures" / "failure_model.png").is_file()
    report = (out / "REPORT.md").read_text()
    assert "failout drawn from a failure model" in report and "failure_model.png" in report
    record = out / "runs" / "failout=shared_rack" / "resilinet" / "iter-1" / "run.json"
    assert record.is_file()
