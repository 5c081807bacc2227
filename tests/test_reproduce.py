"""`resilinet reproduce`: a profile of experiments, one report, missing data stops nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import CONFIGS

from resilinet_cli.cli import main
from resilinet_cli.reproduce import PROFILES, profile_configs

TINY = (
    "[train.epochs=1, dataset.subset.train=200, dataset.subset.val=50, "
    "dataset.subset.test=100, iterations=1]"
)


@pytest.mark.parametrize("name", ["quick", "full"])
def test_the_shipped_profiles_name_valid_configs(name: str) -> None:
    configs = profile_configs(PROFILES / f"{name}.yaml")
    kinds = {c.experiment.type for c in configs}
    assert kinds == {
        "average_accuracy", "failout_rate", "hyperconnection_weight", "skip_sensitivity",
        "partition", "merge",
    }  # fmt: skip
    datasets = {c.dataset.name for c in configs}
    expected = (
        {"digits", "fashion_mnist"} if name == "quick" else {"mhealth", "cifar10", "imagenet"}
    )
    assert datasets == expected


def test_a_profile_runs_everything_it_can_and_reports_missing_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("RESILINET_DATA", raising=False)
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    (configs / "profiles" / "tiny.yaml").write_text(
        "description: A tiny profile for the tests.\n"
        "experiments:\n"
        f"  - config: health.yaml\n    set: [dataset.download=false]\n"
        f"  - config: quickstart.yaml\n    set: {TINY}\n"
        f"  - config: ablations/digits_merge.yaml\n    set: {TINY}\n"
        "  - config: imagenet_mobilenet.yaml\n    imagenet: true\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["reproduce", "--profile", str(configs / "profiles" / "tiny.yaml"), "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    assert "missing data: health: MHEALTH not found" in result.stderr
    assert "skipped: imagenet_mobilenet.yaml: set IMAGENET_DIR" in result.stderr
    page = (out / "REPORT.md").read_text()
    assert "A tiny profile for the tests." in page
    assert "Under hazardous: resilinet" in page  # the paper's ordering, checked in words
    assert "digits_merge" in page or "mux" in page
    assert "**health**: data missing" in page
    for name in ("quickstart", "digits_merge"):
        assert (out / name / "tables" / "weighted_accuracy.csv").is_file()
    assert (out / "quickstart" / "figures" / "weighted_accuracy.png").is_file()
    assert "](quickstart/figures/weighted_accuracy.png)" in page


def test_the_ordering_sentence_shows_each_comparison_as_measured() -> None:
    import pandas as pd

    from resilinet_cli.report import ordering

    frame = pd.DataFrame(
        {
            "variant": ["vanilla", "deepfogguard", "resilinet"],
            "setting": "hazardous",
            "mean": [0.5101, 0.6000, 0.5351],
        }
    )
    assert ordering(frame) == (
        "Under hazardous: resilinet 53.51 < deepfogguard 60.00 ≥ vanilla 51.01 — "
        "the paper's ordering does NOT hold on this run."
    )
    frame["mean"] = [0.5, 0.6, 0.7]
    assert ordering(frame).endswith(
        "resilinet 70.00 ≥ deepfogguard 60.00 ≥ vanilla 50.00 — the paper's ordering holds."
    )


def test_ctrl_c_during_reproduce_says_how_to_resume(tmp_path: Path, monkeypatch) -> None:
    from resilinet_cli import reproduce as runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "reproduce", interrupted)
    out = tmp_path / "quick"
    result = CliRunner().invoke(main, ["reproduce", "--profile", "quick", "--out", str(out)])
    assert result.exit_code == 130
    assert f"interrupted; finished units in {out} are kept. Resume with: resilinet" in result.stderr
    assert "Traceback" not in result.stderr
