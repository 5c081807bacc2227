"""train.epoch_sweep: weighted accuracy after every epoch, with no effect on what is trained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from run_helpers import UNITS, smoke_command

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.results import epoch_curves, line_figures
from resilinet_cli.topology import Topology

SETTINGS = ["no_failure", "normal", "poor", "hazardous"]


@pytest.fixture(scope="module")
def swept_each_epoch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("epoch-sweep") / "run"
    command = smoke_command(out, "--set", "train.epoch_sweep=true")
    result = CliRunner().invoke(main, command, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def test_it_changes_no_trained_model_and_no_sweep(swept_each_epoch: Path, smoke_serial: Path):
    for unit in UNITS:
        ours, theirs = swept_each_epoch / "runs" / unit, smoke_serial / "runs" / unit
        assert (ours / "combinations.csv").read_bytes() == (
            theirs / "combinations.csv"
        ).read_bytes()
        history, reference = pd.read_csv(ours / "history.csv"), pd.read_csv(theirs / "history.csv")
        pd.testing.assert_frame_equal(history[reference.columns], reference)
        assert [c for c in history.columns if c not in reference.columns] == [
            f"val_weighted_{setting}" for setting in SETTINGS
        ]


def test_the_recorded_values_match_a_sweep_by_alive_masks(swept_each_epoch: Path) -> None:
    """The slow path: feed every combination's alive mask to the whole saved model."""
    import keras

    from resilinet_cli.data import load_splits
    from resilinet_cli.sweeps.sweep import correct_counts, weighted_accuracy
    from resilinet_cli.training.inputs import build_inputs
    from resilinet_cli.variants import variant_topology

    config = load_config(swept_each_epoch / "config.yaml")
    splits = load_splits(config.dataset)
    inputs = build_inputs(splits, config, len(config.topology.failable), seed=0)
    for variant in ("vanilla", "resilinet"):
        unit = swept_each_epoch / "runs" / variant / "iter-1"
        # One epoch: the saved (best-validation) model is the model after epoch 1.
        model = keras.models.load_model(unit / "model.keras")
        topology = variant_topology(Topology.from_config(config.topology), variant)
        combos = topology.combinations()
        flow = [topology.has_information_flow(c) for c in combos]
        counts = correct_counts(model, inputs.val_examples, combos, batch_size=64)
        accuracy = [
            n / inputs.val_size if f else inputs.guess for n, f in zip(counts, flow, strict=True)
        ]
        table = pd.DataFrame(
            [
                dict(zip(topology.failable, c, strict=True)) | {"accuracy": a}
                for c, a in zip(combos, accuracy, strict=True)
            ]
        )
        history = pd.read_csv(unit / "history.csv")
        assert history["val_weighted_no_failure"][0] == pytest.approx(
            history["val_accuracy"][0], abs=1e-6
        )
        for setting, reliability in topology.reliability.items():
            expected = weighted_accuracy(table, topology, reliability)
            assert history[f"val_weighted_{setting}"][0] == pytest.approx(expected, abs=1e-9)


def test_the_run_tabulates_and_draws_the_curves(swept_each_epoch: Path) -> None:
    table = pd.read_csv(swept_each_epoch / "tables" / "weighted_by_epoch.csv")
    assert list(table.columns) == epoch_curves.COLUMNS
    assert len(table) == 2 * len(SETTINGS)  # two variants, one epoch
    assert set(table["iterations"]) == {2}
    histories = [
        pd.read_csv(swept_each_epoch / "runs" / "resilinet" / f"iter-{k}" / "history.csv")
        for k in (1, 2)
    ]
    values = [h["val_weighted_hazardous"][0] for h in histories]
    row = table[(table["variant"] == "resilinet") & (table["setting"] == "hazardous")].iloc[0]
    assert row["mean"] == pytest.approx(np.mean(values))
    # Two iterations: the t quantile of 1 degree of freedom is 12.706.
    assert row["ci95"] == pytest.approx(12.7062047 * np.std(values, ddof=1) / np.sqrt(2))
    assert (swept_each_epoch / "figures" / "weighted_by_epoch.png").stat().st_size > 0
    assert "weighted_by_epoch.png" in (swept_each_epoch / "REPORT.md").read_text()


def test_a_run_without_it_has_no_curves(smoke_serial: Path) -> None:
    assert not (smoke_serial / "tables" / "weighted_by_epoch.csv").exists()
    assert not (smoke_serial / "figures" / "weighted_by_epoch.png").exists()


def test_the_figure_has_a_panel_per_setting_and_a_band_per_variant() -> None:
    rows = [
        {
            "variant": v,
            "setting": s,
            "epoch": e,
            "mean": 0.5 + 0.1 * e,
            "ci95": 0.9,
            "iterations": 5,
        }
        for v in ("deepfogguard", "resilinet")
        for s in ("no_failure", "hazardous")
        for e in (1, 2, 3)
    ]
    figure = line_figures.epoch_lines_figure(pd.DataFrame(rows))
    # Ten epochs and more are drawn in their order, not in the order of their text.
    long = [{**row, "epoch": e} for row in rows[:1] for e in range(12, 0, -1)]
    [line] = line_figures.epoch_lines_figure(pd.DataFrame(long)).axes[0].get_lines()
    assert list(line.get_xdata()) == list(range(1, 13))
    axes = figure.axes
    assert [ax.get_title() for ax in axes] == ["no failure", "hazardous"]
    for ax in axes:
        assert [line.get_label() for line in ax.get_lines()] == ["deepFogGuard", "ResiliNet"]
        assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 3]
        assert list(ax.get_lines()[0].get_ydata()) == pytest.approx([60, 70, 80])
        # A band of ±90 points is clipped to the percent scale.
        band = ax.collections[0].get_paths()[0].vertices[:, 1]
        assert band.min() == pytest.approx(0) and band.max() == pytest.approx(100)
    [legend] = figure.legends
    assert "n = 5" in legend.get_title().get_text()
    assert "95 % t-interval" in legend.get_title().get_text()


def test_streamed_folders_cannot_sweep_each_epoch(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "name: x\ndataset: {name: imagenet}\ntopology: cnn\nmodel: {name: mobilenet}\n"
    )
    result = CliRunner().invoke(
        main, ["run", str(config), "--set", "train.epoch_sweep=true", "--dry-run"]
    )
    assert result.exit_code == 2
    assert "train.epoch_sweep" in result.stderr and "imagenet" in result.stderr
    assert "Traceback" not in result.output
