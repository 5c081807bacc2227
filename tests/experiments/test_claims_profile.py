"""The claims profile: the paper's claim on every reachable dataset and model, with statistics."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from paths import CONFIGS
from scipy import stats as scipy_stats

from resilinet_cli.cli import main
from resilinet_cli.experiments.kinds import plan_units
from resilinet_cli.experiments.reproduce import PROFILES, profile_configs
from resilinet_cli.experiments.reuse import training_key
from resilinet_cli.topology import probability

CLAIM = ["vanilla", "deepfogguard", "resilinet"]


def test_it_tests_every_reachable_model_with_enough_iterations() -> None:
    configs = profile_configs(PROFILES / "claims.yaml")
    reached = {(c.dataset.name, c.model.name) for c in configs}
    assert reached == {
        ("digits", "mlp"), ("fashion_mnist", "mlp"), ("fashion_mnist", "mobilenet"),
        ("fashion_mnist", "resnet18"),
    }  # fmt: skip
    for config in configs:
        assert config.experiment.type == "average_accuracy"
        assert config.iterations >= 5, config.name
        assert config.variants == CLAIM, config.name
        assert config.train.epoch_sweep, config.name  # the curves that show the plateau
    granularity = {c.name: c.train.failout.granularity for c in configs}
    assert granularity["fashion_mobilenet_example_failout"] == "example"
    assert granularity["fashion_mobilenet"] == "batch"


def test_the_per_example_experiment_trains_only_its_resilinet() -> None:
    by_name = {c.name: c for c in profile_configs(PROFILES / "claims.yaml")}
    batch, example = by_name["fashion_mobilenet"], by_name["fashion_mobilenet_example_failout"]
    for variant, shared in (("vanilla", True), ("deepfogguard", True), ("resilinet", False)):
        units = plan_units(batch, [variant], [1, 2])
        same = [training_key(batch, u) == training_key(example, u) for u in units]
        assert same == [shared, shared], variant


def weighted_by_hand(unit: Path, failable: list[str], reliability: list[float]) -> float:
    """Σ P(combination)·accuracy from the unit's combinations.csv, P as a product of survivals."""
    table = pd.read_csv(unit / "combinations.csv")
    return sum(
        probability(tuple(int(row[node]) for node in failable), reliability) * row["accuracy"]
        for _, row in table.iterrows()
    )


def test_a_tiny_claims_profile_reports_a_test_for_every_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The profile's MLP experiments (digits and Fashion-MNIST), shrunk to seconds, through
    ``reproduce``: the claim summary names both, and each report's statistics equal scipy's."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    profile = yaml.safe_load((PROFILES / "claims.yaml").read_text())
    shrink = [
        "iterations=2", "train.epochs=2", "dataset.subset.train=150", "dataset.subset.val=60",
        "dataset.subset.test=60",
    ]  # fmt: skip
    profile["experiments"] = [
        {**entry, "set": [*entry["set"], *shrink]}
        for entry in profile["experiments"]
        if entry["config"] in ("quickstart.yaml", "fashion_mlp.yaml")
    ]
    path = configs / "profiles" / "claims_tiny.yaml"
    path.write_text(yaml.safe_dump(profile))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["-q", "reproduce", "--profile", str(path), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr

    page = (out / "REPORT.md").read_text()
    summary = page[page.index("## The paper's claim across experiments") :]
    summary = summary[: summary.index("\n## ", 1)]
    rows = [
        line for line in summary.splitlines() if line.startswith("| quick") or "fashion" in line
    ]
    assert [row.split("|")[1].strip() for row in rows] == ["quickstart", "fashion_mlp"]
    assert "](figures/claim_by_epoch.png)" in summary
    assert (out / "figures" / "claim_by_epoch.pdf").read_bytes().startswith(b"%PDF")
    for name in ("quickstart", "fashion_mlp"):
        folder = out / name
        config = yaml.safe_load((folder / "config.yaml").read_text())
        topology = config["topology"]
        failable = topology["failable"]
        paired = pd.read_csv(folder / "tables" / "paired.csv")
        assert len(paired) == 2 * len(topology["reliability"])
        for row in paired.itertuples():
            reliability = topology["reliability"][row.setting]
            a, b = (
                [
                    weighted_by_hand(folder / "runs" / variant / f"iter-{k}", failable, reliability)
                    for k in (1, 2)
                ]
                for variant in (row.a, row.b)
            )
            assert row.n == 2
            assert row.difference == pytest.approx((a[0] - b[0] + a[1] - b[1]) / 2, abs=1e-12)
            if a[0] - b[0] == pytest.approx(a[1] - b[1], abs=1e-12):
                assert row.test == "none: all differences equal" and pd.isna(row.p)
                continue
            assert row.test == "paired t-test"
            assert row.p == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue, rel=1e-9)
        curves = pd.read_csv(folder / "tables" / "weighted_by_epoch.csv")
        assert sorted(set(curves["epoch"])) == [1, 2]
        assert set(curves["variant"]) == set(CLAIM)
        assert (folder / "figures" / "weighted_by_epoch.png").is_file()
        assert set(curves["iterations"]) == {2}
