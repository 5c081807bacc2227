"""`resilinet reproduce`: a profile of experiments, one report, missing data stops nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import CONFIGS, ROOT
from run_helpers import as_yaml_list, tiny_sets

from resilinet_cli.cli import main
from resilinet_cli.experiments.reproduce import PROFILES, profile_configs

TINY = as_yaml_list(tiny_sets("iterations=1"))


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
    # one iteration: no noise estimate, so the page states no verdict and says why
    assert "One iteration per variant gives no noise estimate" in page
    assert "digits_merge" in page or "mux" in page
    assert "**health**: data missing" in page
    for name in ("quickstart", "digits_merge"):
        assert (out / name / "tables" / "weighted_accuracy.csv").is_file()
    assert (out / "quickstart" / "figures" / "weighted_accuracy.png").is_file()
    assert "](quickstart/figures/weighted_accuracy.png)" in page


def test_welch_without_any_spread_is_decided_by_the_means() -> None:
    from resilinet_cli.stats import Cell, welch_p

    assert welch_p(Cell(0.9, 0.0, 2), Cell(0.8, 0.0, 2)) == 0.0
    assert welch_p(Cell(0.9, 0.0, 2), Cell(0.9, 0.0, 2)) == 1.0
    assert welch_p(Cell(0.9, 0.01, 1), Cell(0.8, 0.0, 2)) is None


@pytest.mark.parametrize("smoke", [True, False])
def test_a_smoke_runs_report_says_so_at_the_top(tmp_path: Path, smoke: bool) -> None:
    out = tmp_path / "run"
    shrink = [] if smoke else ["--set", "train.epochs=1", "--set", "dataset.subset.train=300"]
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(CONFIGS / "quickstart.yaml"),
            "--out",
            str(out),
            *shrink,
            "--set",
            "dataset.subset.test=100",
            "--set",
            "iterations=1",
            "--set",
            "variants=[vanilla]",
            *(["--smoke"] if smoke else []),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    page = (out / "REPORT.md").read_text().splitlines()
    marker = "**Smoke run**: shrunk by --smoke, numbers mean nothing."
    assert (marker in page[:6]) is smoke
    assert (marker in "\n".join(page)) is smoke


def test_reproduce_writes_a_fresh_folder_and_compares_with_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not into the committed results: reproduced/<profile>, then a comparison with them."""
    monkeypatch.chdir(tmp_path)
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    (configs / "profiles" / "tiny.yaml").write_text(
        f"experiments:\n  - config: quickstart.yaml\n    set: {TINY[:-1]}, 'variants=[vanilla]']\n"
    )
    reference = tmp_path / "reference" / "quickstart" / "tables"
    reference.mkdir(parents=True)
    (reference / "weighted_accuracy.csv").write_text(
        "variant,setting,mean,std,iterations\nvanilla,hazardous,0.5,,1\nvanilla,absent,0.5,,1\n"
    )
    args = ["reproduce", "--profile", str(configs / "profiles" / "tiny.yaml")]
    result = CliRunner().invoke(
        main, [*args, "--reference", str(tmp_path / "reference")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    out = Path("reproduced") / "tiny"
    assert (out / "REPORT.md").is_file()
    assert (out / "quickstart" / "tables" / "weighted_accuracy.csv").is_file()
    assert not (tmp_path / "results").exists()
    assert any("absent" in line and "REFERENCE ONLY" in line for line in result.stdout.splitlines())
    assert result.stdout.splitlines()[-2].startswith("Summary: 5 cells, 4 flagged (0 differ")
    assert result.stdout.splitlines()[-1] == f"Comparison: {out / 'comparison.csv'}"
    # A rerun of the same command resumes in the same folder.
    again = CliRunner().invoke(main, args, catch_exceptions=False)
    assert again.exit_code == 0, again.stderr
    assert "skip quickstart/vanilla/iter-1: already finished" in again.stdout


def test_the_default_reference_is_the_committed_profile() -> None:
    from resilinet_cli.experiments.reproduce import default_out, default_reference, profile_path

    assert default_out(profile_path("quick")) == Path("reproduced/quick")
    assert default_reference(profile_path("quick")) == ROOT / "results" / "quick"
    assert default_reference(profile_path("full")) is None


def test_ctrl_c_during_reproduce_says_how_to_resume(tmp_path: Path, monkeypatch) -> None:
    from resilinet_cli.experiments import reproduce as runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "reproduce", interrupted)
    out = tmp_path / "quick"
    result = CliRunner().invoke(main, ["reproduce", "--profile", "quick", "--out", str(out)])
    assert result.exit_code == 130
    assert f"interrupted; finished units in {out} are kept. Resume with: resilinet" in result.stderr
    assert "Traceback" not in result.stderr
