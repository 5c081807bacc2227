"""``resilinet calibrate-exits`` on a tiny run of Vanilla with exits at the edge and fog1.

The independent path: the saved model.keras, called with every node alive, gives each head's
output; the normalised entropy (pure Python, variants.py) and the threshold rule are applied
per example in NumPy, on the validation split (the chosen T) and the test split (the rescored
combinations.csv). An example whose entropy lies within float32 rounding of T may go either
way; such examples are allowed for, never counted as differing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.results import integrity, layout
from resilinet_cli.results.model_files import load_model
from resilinet_cli.variants import normalised_entropy

UNIT = Path(layout.RUNS) / "vanilla+exits" / "iter-1"
ROUNDING = 1e-5  # float32 entropies (the sweep's) against float64 ones (here)
CONFIG = """name: calib
topology: health
dataset: {name: digits, subset: {train: 600, val: 200, test: 200}}
model: {name: mlp, hidden_units: 32, partition: 1}
variants: [vanilla, vanilla+exits]
techniques:
  vanilla+exits: {exits: [edge, fog1]}
train: {epochs: 2, batch_size: 64}
iterations: 1
"""


def invoke(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The run before calibration (a copy), and after --target-exit-rate 0.5."""
    folder = tmp_path_factory.mktemp("calibrate")
    (folder / "calib.yaml").write_text(CONFIG)
    out = folder / "run"
    code, _, stderr = invoke("run", folder / "calib.yaml", "--out", out)
    assert code == 0, stderr
    before = folder / "before"
    shutil.copytree(out, before)
    code, stdout, stderr = invoke("calibrate-exits", out, "--target-exit-rate", "0.5")
    assert code == 0, stderr
    return {"out": out, "before": before, "stdout": stdout}


def heads_of(out: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(per-example entropies at edge and fog1, hits at edge, fog1 and cloud) with every node
    alive, from the whole saved model; and the labels."""
    from resilinet_cli.data import load_splits

    config = load_config(out / layout.CONFIG)
    splits = load_splits(config.dataset)
    x, y = getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}")
    model = load_model(out / UNIT / layout.MODEL)
    final, edge, fog1 = model.predict([x, np.ones((len(x), 3), "float32")], verbose=0)
    exits = [edge.astype(float), fog1.astype(float)]
    entropies = np.array([[normalised_entropy(p) for p in head] for head in exits]).T
    hits = np.column_stack([h.argmax(axis=1) == y for h in (*exits, final)])
    return entropies, hits, y


def exits_json(out: Path) -> dict:
    return json.loads((out / UNIT / layout.EXITS).read_text())


def test_the_chosen_t_gives_the_target_exit_rate_on_validation(calibrated) -> None:
    saved = exits_json(calibrated["out"])
    threshold = saved["threshold"]
    assert saved["rule"] == "target-exit-rate" and saved["target"] == 0.5
    entropies, hits, _ = heads_of(calibrated["out"], "val")
    first = entropies.min(axis=1)
    unsure = np.abs(first - threshold) < ROUNDING
    rate = (first < threshold).mean()
    assert abs(rate - saved["validation"]["exit_rate"]) <= unsure.mean()
    assert saved["validation"]["exit_rate"] >= 0.5
    # the smallest such T: at the largest entropy below it, fewer than half exit
    below = first[first < threshold - ROUNDING]
    if below.size:
        assert (first < below.max()).mean() < 0.5
    assert saved["validation"]["final_accuracy"] == pytest.approx(hits[:, 2].mean())
    assert f"{UNIT.parent.name}/iter-1: T = " in calibrated["stdout"]


def test_exits_json_is_in_the_units_checksums(calibrated) -> None:
    folder = calibrated["out"] / UNIT
    record = json.loads((folder / layout.RECORD).read_text())
    entry = record[integrity.FILES][layout.EXITS]
    assert entry["sha256"] == integrity.sha256(folder / layout.EXITS)
    assert integrity.check_files(folder, record) is None
    assert exits_json(calibrated["out"])["model_sha256"] == integrity.sha256(folder / "model.keras")


def test_the_test_sweep_is_rescored_with_the_new_t(calibrated) -> None:
    out, before = calibrated["out"], calibrated["before"]
    threshold = exits_json(out)["threshold"]
    table = pd.read_csv(out / UNIT / layout.COMBINATIONS)
    old = pd.read_csv(before / UNIT / layout.COMBINATIONS)
    assert threshold != 0.5
    assert table["accuracy"].tolist() == old["accuracy"].tolist()  # the fallback rule: as it was
    assert not table["threshold_exit_edge"].equals(old["threshold_exit_edge"])
    entropies, hits, y = heads_of(out, "test")
    confident = entropies < threshold
    answer = np.where(confident.any(axis=1), confident.argmax(axis=1), 2)
    unsure = (np.abs(entropies - threshold) < ROUNDING).any(axis=1).mean()
    alive = table.iloc[-1]
    for index, node in enumerate(("edge", "fog1", "cloud")):
        assert abs(alive[f"threshold_exit_{node}"] - (answer == index).mean()) <= unsure, node
    accuracy = hits[np.arange(len(y)), answer].mean()
    assert abs(alive["threshold_accuracy"] - accuracy) <= unsure


def test_evaluate_sweeps_the_unit_with_its_calibrated_t(calibrated) -> None:
    out = calibrated["out"]
    code, _, stderr = invoke("-q", "evaluate", out / UNIT, "--failures", "all")
    assert code == 0, stderr
    evaluated = pd.read_csv(out / UNIT / layout.EVALUATION)
    swept = pd.read_csv(out / UNIT / layout.COMBINATIONS)
    pd.testing.assert_frame_equal(evaluated, swept)


def test_an_edited_exits_json_is_reported_as_damaged(calibrated, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(calibrated["out"], copy)
    path = copy / UNIT / layout.EXITS
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "threshold": 0.9}, indent=2, sort_keys=True) + "\n")
    code, _, stderr = invoke("report", copy)
    assert code == 2
    assert f"error: {path}: " in stderr and len(stderr.strip().splitlines()) == 1


def test_a_max_accuracy_drop_keeps_validation_accuracy_within_it(calibrated, tmp_path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(calibrated["before"], copy)
    code, _, stderr = invoke("calibrate-exits", copy, "--max-accuracy-drop", "1.0")
    assert code == 0, stderr
    saved = exits_json(copy)
    threshold, validation = saved["threshold"], saved["validation"]
    assert saved["rule"] == "max-accuracy-drop"
    assert validation["accuracy"] >= validation["final_accuracy"] - 0.01 - 1e-12
    entropies, hits, y = heads_of(copy, "val")
    confident = entropies < threshold
    answer = np.where(confident.any(axis=1), confident.argmax(axis=1), 2)
    unsure = (np.abs(entropies - threshold) < ROUNDING).any(axis=1).mean()
    accuracy = hits[np.arange(len(y)), answer].mean()
    assert abs(accuracy - validation["accuracy"]) <= unsure


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target-exit-rate", "1"], "--target-exit-rate 1: expected a fraction in (0, 1)"),
        (["--target-exit-rate", "0"], "--target-exit-rate 0: expected a fraction in (0, 1)"),
        (["--max-accuracy-drop", "-1"], "--max-accuracy-drop -1: expected percentage points"),
        ([], "give one of --target-exit-rate R or --max-accuracy-drop D"),
        (["--target-exit-rate", ".5", "--max-accuracy-drop", "1"], "give one of"),
        (["--target-exit-rate", ".5", "--variants", "vanilla"], "has no variant with exits "
                                                                 "(variants: vanilla)"),
        (["--target-exit-rate", ".5", "--variants", "vanila"], "did you mean 'vanilla'?"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(calibrated, args, message) -> None:
    before = (calibrated["out"] / UNIT / layout.EXITS).read_bytes()
    code, _, stderr = invoke("calibrate-exits", calibrated["out"], *args)
    assert code == 2 and message in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1
    assert (calibrated["out"] / UNIT / layout.EXITS).read_bytes() == before


def test_a_missing_folder_or_a_committed_reference_is_refused(calibrated, tmp_path) -> None:
    code, _, stderr = invoke("calibrate-exits", tmp_path / "nope", "--target-exit-rate", ".5")
    assert code == 2 and "no such folder" in stderr
    copy = tmp_path / "reference"
    shutil.copytree(calibrated["before"], copy)
    (copy / layout.REFERENCE).write_text("# Committed reference\n")
    code, _, stderr = invoke("calibrate-exits", copy, "--target-exit-rate", ".5")
    assert code == 2 and "committed reference" in stderr and len(stderr.splitlines()) == 1
    assert not (copy / UNIT / layout.EXITS).exists()


def targeted_run(calibrated, tmp_path) -> tuple[str, Path]:
    """The config with ``target_exit_rate: 0.5`` (written to targeted.yaml) and its run, which
    copies the trained units from the calibrated fixture's run before calibration."""
    targeted = CONFIG.replace(
        "{exits: [edge, fog1]}", "{exits: [edge, fog1], target_exit_rate: 0.5}"
    )
    (tmp_path / "targeted.yaml").write_text(targeted)
    out = tmp_path / "run"
    code, _, stderr = invoke("run", tmp_path / "targeted.yaml", "--out", out,
                             "--reuse-from", calibrated["before"])  # fmt: skip
    assert code == 0, stderr
    return targeted, out


def test_a_definition_with_a_target_calibrates_every_run_itself(calibrated, tmp_path) -> None:
    """``target_exit_rate`` under techniques: the run copies the trained units (the key leaves
    the target out) and calibrates them as calibrate-exits would; the next run changes nothing,
    and another target calibrates again."""
    targeted, out = targeted_run(calibrated, tmp_path)
    assert exits_json(out) == exits_json(calibrated["out"])  # the same T, chosen the same way
    assert (out / UNIT / layout.COMBINATIONS).read_bytes() == (
        calibrated["out"] / UNIT / layout.COMBINATIONS
    ).read_bytes()
    assert (
        integrity.check_files(out / UNIT, json.loads((out / UNIT / layout.RECORD).read_text()))
        is None
    )
    stamp = (out / UNIT / layout.EXITS).stat().st_mtime_ns
    code, _, stderr = invoke("run", tmp_path / "targeted.yaml", "--out", out)
    assert code == 0, stderr
    assert (out / UNIT / layout.EXITS).stat().st_mtime_ns == stamp  # nothing to calibrate again
    (tmp_path / "targeted.yaml").write_text(
        targeted.replace("target_exit_rate: 0.5", "target_exit_rate: 0.25")
    )
    code, _, stderr = invoke("run", tmp_path / "targeted.yaml", "--out", tmp_path / "other",
                             "--reuse-from", out)  # fmt: skip
    assert code == 0, stderr
    assert exits_json(tmp_path / "other")["target"] == 0.25
    assert exits_json(tmp_path / "other")["validation"]["exit_rate"] >= 0.25


def test_a_copy_from_a_reference_keeps_its_calibrated_t(calibrated, tmp_path) -> None:
    """A committed reference's unit has no model to calibrate again: its copy takes the donor's
    exits.json with the combinations that T scored, in the copy's checksums."""
    from resilinet_cli.results import references

    _, out = targeted_run(calibrated, tmp_path)
    reference = tmp_path / "donors" / "reference"
    references.promote(out, reference, "make reproduce-paper")
    assert not (reference / UNIT / layout.MODEL).exists()
    copy = tmp_path / "copy"
    code, _, stderr = invoke("run", tmp_path / "targeted.yaml", "--out", copy,
                             "--reuse-from", tmp_path / "donors")  # fmt: skip
    assert code == 0, stderr
    assert exits_json(copy) == exits_json(out)
    record = json.loads((copy / UNIT / layout.RECORD).read_text())
    assert layout.EXITS in record[integrity.FILES]
