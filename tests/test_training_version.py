"""The training version guards resume: its fingerprint must follow the training code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from paths import CONFIGS, ROOT
from run_helpers import as_flags, tiny_sets

from resilinet_cli.cli import main
from resilinet_cli.training_version import (
    FINGERPRINT,
    PACKAGE,
    SOURCES,
    TRAINING_VERSION,
    fingerprint,
    source_files,
)


def test_the_training_code_matches_its_recorded_fingerprint() -> None:
    current = fingerprint()
    assert current == FINGERPRINT, (
        "the code that defines training changed (resilinet_cli/training_version.py lists it). "
        "If a unit trained now could give other results than before, bump TRAINING_VERSION and "
        "set FINGERPRINT; if not (a comment, a rename, a refactoring), only set FINGERPRINT to "
        f'"{current}" (python -m resilinet_cli.training_version prints it)'
    )


def test_every_listed_source_exists() -> None:
    """A renamed file must not drop out of the fingerprint silently."""
    for pattern in SOURCES:
        assert list(PACKAGE.glob(pattern)), f"{pattern} matches no file in {PACKAGE}"
    names = [path.relative_to(PACKAGE).as_posix() for path in source_files()]
    assert "models/resnet.py" in names and "layers/failout.py" in names
    assert "cli/app.py" not in names and "results/tables.py" not in names


def test_the_fingerprint_changes_with_any_byte_of_a_source(tmp_path) -> None:
    package = tmp_path / "resilinet_cli"
    for path in source_files():
        copy = package / path.relative_to(PACKAGE)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(path.read_bytes())
    assert fingerprint(package) == fingerprint()
    training = package / "training" / "fit.py"
    training.write_text(training.read_text() + "# a comment\n")
    assert fingerprint(package) != fingerprint()


def test_one_command_prints_the_fingerprint() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "resilinet_cli.training_version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert done.stdout.strip() == fingerprint()


def test_the_committed_reference_was_made_by_this_training_code() -> None:
    """results/quick is the reference a fresh reproduction is compared with: same code version.

    A version bump changes results by definition, so it must come with a regenerated reference
    (``make reproduce-paper PROFILE=quick``, then ``reproduced/quick`` without its models).
    """
    records = sorted((ROOT / "results" / "quick").glob("*/runs/**/iter-*/run.json"))
    assert len(records) == 142  # every unit of the quick profile, copied ones included
    for path in records:
        recorded = json.loads(path.read_text()).get("training_version")
        assert recorded == TRAINING_VERSION, f"{path}: regenerate results/quick ({recorded})"


SETS = tiny_sets("iterations=1", "variants=[vanilla]")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_tiny(out: Path, *extra: str) -> Result:
    sets = as_flags(SETS)
    return invoke("run", str(CONFIGS / "quickstart.yaml"), "--out", str(out), *sets, *extra)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    result = run_tiny(out)
    assert result.exit_code == 0, result.stderr
    return out


def make_stale(out: Path) -> dict:
    """Mimic a unit trained before versions were recorded: its record has no version."""
    path = out / "runs" / "vanilla" / "iter-1" / "run.json"
    record = json.loads(path.read_text())
    assert record["training_version"] == TRAINING_VERSION
    del record["training_version"]
    path.write_text(json.dumps(record))
    return record


def refusal(out: Path) -> str:
    return (
        f"error: {out}: 1 finished unit(s) were trained by another version of the training code "
        f"(recorded: none; this code: {TRAINING_VERSION}); add --reuse-stale to keep them as "
        "they are, or choose a fresh --out\n"
    )


def test_a_unit_of_other_training_code_is_refused_or_kept_with_reuse_stale(
    finished_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    record = make_stale(out)
    unit = out / "runs" / "vanilla" / "iter-1"
    before = {name: (unit / name).read_bytes() for name in ("run.json", "combinations.csv")}

    refused = run_tiny(out)
    assert refused.exit_code == 2
    assert refused.stderr == refusal(out)
    dry = run_tiny(out, "--dry-run")
    assert (dry.exit_code, dry.stderr) == (2, refusal(out))
    assert {name: (unit / name).read_bytes() for name in before} == before

    kept = run_tiny(out, "--reuse-stale")
    assert kept.exit_code == 0, kept.stderr
    assert "skip vanilla/iter-1: already finished" in kept.stdout
    assert "training (seed" not in kept.stdout
    assert json.loads((unit / "run.json").read_text()) == record  # kept as it is
    table = pd.read_csv(out / "tables" / "weighted_accuracy.csv")
    assert list(table["variant"].unique()) == ["vanilla"]


def test_a_stale_unit_is_never_a_donor_and_a_current_one_is(
    finished_run: Path, tmp_path: Path
) -> None:
    from resilinet_cli.experiments.reuse import finished_units

    assert len(finished_units(finished_run)) == 1
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    make_stale(out)
    assert finished_units(out) == {}


def test_the_training_key_depends_on_the_training_version() -> None:
    from resilinet_cli.config import load_config
    from resilinet_cli.experiments.kinds import plan_units
    from resilinet_cli.experiments.reuse import training_key

    config = load_config(CONFIGS / "quickstart.yaml", SETS)
    (unit,) = plan_units(config, config.variants, [1])
    assert training_key(config, unit) == training_key(config, unit, version=TRAINING_VERSION)
    assert training_key(config, unit) != training_key(config, unit, version=TRAINING_VERSION - 1)


def test_reproduce_refuses_a_profile_folder_with_stale_units(
    finished_run: Path, tmp_path: Path
) -> None:
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    profile = configs / "profiles" / "tiny.yaml"
    quoted = ", ".join(f"'{value}'" for value in SETS)
    profile.write_text(f"experiments:\n  - config: quickstart.yaml\n    set: [{quoted}]\n")
    out = tmp_path / "profile"
    shutil.copytree(finished_run, out / "quickstart")
    make_stale(out / "quickstart")

    refused = invoke("reproduce", "--profile", str(profile), "--out", str(out))
    assert refused.exit_code == 2
    assert refused.stderr == refusal(out)
    kept = invoke("reproduce", "--profile", str(profile), "--out", str(out), "--reuse-stale")
    assert kept.exit_code == 0, kept.stderr
    assert "skip quickstart/vanilla/iter-1: already finished" in kept.stdout
