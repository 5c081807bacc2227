"""Identical units across experiments are trained once and copied (experiments/reuse.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from paths import CONFIGS
from run_helpers import as_flags, tiny_sets

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.experiments.kinds import plan_units
from resilinet_cli.experiments.reuse import training_key

TINY = tiny_sets("iterations=1")


def units_by_name(config_name: str, *overrides: str) -> dict[str, str]:
    config = load_config(CONFIGS / config_name, [*TINY, *overrides])
    units = plan_units(config, config.variants, [1])
    return {unit.name: training_key(config, unit) for unit in units}


def test_equal_training_gives_equal_keys_across_experiments() -> None:
    average = units_by_name("quickstart.yaml")
    merge = units_by_name("ablations/digits_merge.yaml")
    failout = units_by_name("ablations/digits_failout_rate.yaml")
    skips = units_by_name("ablations/digits_skip_sensitivity.yaml")
    assert merge["merge=mux/resilinet/iter-1"] == average["resilinet/iter-1"]
    assert merge["merge=add/resilinet_plus/iter-1"] == average["resilinet_plus/iter-1"]
    # The config's default survival is 0.9 and its default skips are all three.
    assert failout["failout_survival=0.9/resilinet/iter-1"] == average["resilinet/iter-1"]
    assert skips["skip_config=111/resilinet/iter-1"] == average["resilinet/iter-1"]
    # Anything that changes training changes the key.
    assert failout["failout_survival=0.5/resilinet/iter-1"] != average["resilinet/iter-1"]
    assert skips["skip_config=110/resilinet/iter-1"] != average["resilinet/iter-1"]
    assert average["vanilla/iter-1"] != average["resilinet/iter-1"]
    assert (
        units_by_name("quickstart.yaml", "seed=5")["resilinet/iter-1"]
        != average["resilinet/iter-1"]
    )
    assert (
        units_by_name("quickstart.yaml", "train.epochs=2")["resilinet/iter-1"]
        != average["resilinet/iter-1"]
    )
    # Failout changes only the variants that have it.
    per_example = units_by_name("quickstart.yaml", "train.failout.granularity=example")
    assert per_example["resilinet/iter-1"] != average["resilinet/iter-1"]
    assert per_example["vanilla/iter-1"] == average["vanilla/iter-1"]
    assert per_example["deepfogguard/iter-1"] == average["deepfogguard/iter-1"]
    # Where the data lives does not.
    assert units_by_name("quickstart.yaml", "dataset.data_dir=/elsewhere") == average


def invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def run_tiny(config: str, out: Path, *extra: str) -> str:
    sets = as_flags(TINY)
    return invoke("run", str(CONFIGS / config), "--out", str(out), *sets, *extra)


def test_a_unit_with_the_same_training_is_copied_not_trained(tmp_path: Path) -> None:
    run_tiny("quickstart.yaml", tmp_path / "average", "--variants", "resilinet,resilinet_plus")
    merge = tmp_path / "merge"
    listing = run_tiny(
        "ablations/digits_merge.yaml", merge, "--dry-run", "--reuse-from", str(tmp_path)
    )
    donors = tmp_path / "average" / "runs"
    assert listing.splitlines() == [
        f"copy  merge=mux/resilinet/iter-1  (from {donors / 'resilinet' / 'iter-1'})",
        f"copy  merge=add/resilinet_plus/iter-1  (from {donors / 'resilinet_plus' / 'iter-1'})",
        f"0 of 2 units to train in {merge}, 2 copied",
    ]
    printed = run_tiny("ablations/digits_merge.yaml", merge, "--reuse-from", str(tmp_path))
    assert "training (seed" not in printed and printed.count("copied") == 2

    donor = tmp_path / "average" / "runs" / "resilinet" / "iter-1"
    copy = merge / "runs" / "merge=mux" / "resilinet" / "iter-1"
    for name in ("combinations.csv", "history.csv", "model.keras"):
        assert (copy / name).read_bytes() == (donor / name).read_bytes()
    record = json.loads((copy / "run.json").read_text())
    assert record["status"] == "done" and (copy / record["reused_from"]).resolve() == donor
    assert record["unit"]["factor"] == "merge" and record["seeds"]["global"] == 0
    table = pd.read_csv(merge / "tables" / "weighted_accuracy.csv")
    assert list(dict.fromkeys(table["merge"])) == ["mux", "add"]
    # The copies are finished units: a rerun skips them.
    assert run_tiny("ablations/digits_merge.yaml", merge).count("already finished") == 2
