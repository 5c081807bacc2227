"""The methods experiment: every variant and inference rule under every setting and failure
model, its cost columns, its paired tests against the reference, and its figure."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats as scipy_stats

from resilinet_cli.cli import main
from resilinet_cli.config.loading import load_config
from resilinet_cli.experiments.pages import finished_units
from resilinet_cli.results import variant_comparison as vc

CONFIG = """\
name: methods
topology: health
dataset: {name: digits, subset: {train: 600, test: 200}}
model: {name: mlp, hidden_units: 32, partition: 1}
variants: [vanilla, resilinet, vanilla+exits]
techniques:
  vanilla+exits: {exits: [edge, fog1], threshold: 0.9}
iterations: 2
train: {epochs: 2, batch_size: 64}
failure_models:
  rack: {common_cause: [{nodes: [fog1, fog2], probability: 0.1}]}
experiment: {type: methods}
"""
ROWS = ["vanilla", "resilinet", "vanilla+exits (fallback)", "vanilla+exits (threshold T=0.9)"]
SETTINGS = ["no_failure", "normal", "poor", "hazardous", "rack"]
HIDDEN, CLASSES = 32, 10


def write_config(folder: Path, text: str = CONFIG) -> Path:
    path = folder / "methods.yaml"
    path.write_text(text)
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stderr


@pytest.fixture(scope="module")
def methods_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny methods run, shared by the tests that read it."""
    folder = tmp_path_factory.mktemp("methods")
    out = folder / "run"
    code, err = invoke("run", str(write_config(folder)), "--out", str(out))
    assert code == 0, err
    return out


def methods_table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "tables" / "methods.csv").set_index("row")


def by_hand(frame: pd.DataFrame, column: str, survival: dict[str, float]) -> float:
    """Σ over combinations of Π (r if alive else 1 - r) · the column's accuracy."""
    total = 0.0
    for _, row in frame.iterrows():
        p = math.prod(r if row[node] == 1 else 1 - r for node, r in survival.items())
        total += p * row[column]
    return total


@pytest.fixture(scope="module")
def hazardous(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    """The Health topology's hazardous survival per failable node, from the config."""
    config = load_config(write_config(tmp_path_factory.mktemp("config")))
    topology = config.topology
    return dict(zip(topology.failable, topology.reliability["hazardous"], strict=True))


def unit_values(out: Path, variant: str, column: str, survival: dict[str, float]) -> list[float]:
    """Each iteration's weighted ``column`` from its combinations.csv, by hand."""
    folders = [out / "runs" / variant / f"iter-{k}" for k in (1, 2)]
    return [by_hand(pd.read_csv(f / "combinations.csv"), column, survival) for f in folders]


def test_the_table_has_a_row_per_variant_and_rule(methods_run: Path) -> None:
    table = methods_table(methods_run)
    assert list(table.index) == ROWS
    assert list(table["rule"]) == ["final", "final", "fallback", "threshold"]
    for setting in SETTINGS:
        assert {f"{setting}_mean", f"{setting}_std", f"{setting}_exited"} <= set(table.columns)
    assert table[[f"{s}_exited" for s in SETTINGS]].iloc[:3].isna().all().all()
    shares = table.loc[ROWS[3], [f"{s}_exited" for s in SETTINGS]]
    assert ((shares >= 0) & (shares <= 1)).all()
    assert (table["iterations"] == 2).all() and (table["extra_nodes"] == 0).all()
    assert "vanilla+exits (threshold T=0.9)" in (methods_run / "REPORT.md").read_text()


def test_weighted_accuracy_equals_a_hand_computation(
    methods_run: Path, hazardous: dict[str, float]
) -> None:
    table = methods_table(methods_run)
    for row, variant, column in [
        ("vanilla", "vanilla", "accuracy"),
        ("vanilla+exits (threshold T=0.9)", "vanilla+exits", "threshold_accuracy"),
    ]:
        values = unit_values(methods_run, variant, column, hazardous)
        assert table.loc[row, "hazardous_mean"] == pytest.approx(np.mean(values), abs=1e-12)
        assert table.loc[row, "hazardous_std"] == pytest.approx(np.std(values, ddof=1), abs=1e-12)


def test_an_exit_head_costs_its_dense_layer_at_its_node(methods_run: Path) -> None:
    table = methods_table(methods_run)
    head = HIDDEN * CLASSES + CLASSES
    for node in ("edge", "fog1"):
        exits = table.loc["vanilla+exits (fallback)", f"params_{node}"]
        assert exits == table.loc["vanilla", f"params_{node}"] + head
    for node in ("iot", "fog2", "cloud"):
        assert (
            table.loc["vanilla+exits (fallback)", f"params_{node}"]
            == (table.loc["vanilla", f"params_{node}"])
        )
    assert table.loc["resilinet", "extra_params"] == 0
    # Vanilla sends no skip; each link carries its sender's float32 output
    assert table.loc["vanilla", "bytes_iot→fog2"] == 0
    assert table.loc["resilinet", "bytes_iot→fog2"] == table.loc["resilinet", "bytes_iot→edge"]
    assert table.loc["resilinet", "bytes_edge→fog1"] == HIDDEN * 4


def test_p_values_are_scipys_and_holm_adjusted_by_hand(
    methods_run: Path, hazardous: dict[str, float]
) -> None:
    tests = pd.read_csv(methods_run / "tables" / "methods_paired.csv")
    assert set(tests["b"]) == {"resilinet"} and set(tests["setting"]) == set(SETTINGS)
    assert len(tests) == 3 * len(SETTINGS)
    row = tests[(tests["setting"] == "hazardous") & (tests["a"] == ROWS[3])].iloc[0]
    a = unit_values(methods_run, "vanilla+exits", "threshold_accuracy", hazardous)
    b = unit_values(methods_run, "resilinet", "accuracy", hazardous)
    assert row["p"] == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue, rel=1e-9)
    tested = tests.dropna(subset=["p"]).sort_values("p")
    m, running, holm = len(tested), 0.0, []
    for i, p in enumerate(tested["p"]):
        running = max(running, min(1.0, (m - i) * p))
        holm.append(running)
    assert list(tested["p_adjusted"]) == pytest.approx(holm, rel=1e-9)
    assert (tested["family"] == m).all() and (tested["correction"] == "holm").all()


def test_the_figure_and_a_report_rebuild(methods_run: Path) -> None:
    for suffix in ("png", "pdf"):
        assert (methods_run / "figures" / f"methods_cost.{suffix}").stat().st_size > 0
    (methods_run / "tables" / "methods.csv").unlink()
    code, err = invoke("report", str(methods_run))
    assert code == 0, err
    assert list(methods_table(methods_run).index) == ROWS


def test_a_reference_outside_the_variants_is_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG.replace("{type: methods}", "{type: methods, "
                                                   "reference: deepfogguard}"))  # fmt: skip
    code, err = invoke("run", str(config), "--out", str(tmp_path / "run"))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "experiment.reference" in lines[0] and "deepfogguard" in lines[0]


def test_rows_labels_and_the_hardest_setting(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    assert vc.rows_of(config, "vanilla") == [vc.Row("vanilla", vc.FINAL)]
    exits = vc.rows_of(config, "vanilla+exits")
    assert [row.rule for row in exits] == [vc.FALLBACK, vc.THRESHOLD]
    assert vc.label(exits[1], [0.42, 0.42]) == "vanilla+exits (threshold T=0.42)"
    assert vc.label(exits[1], [0.4, 0.45]) == "vanilla+exits (threshold T=0.4-0.45)"
    assert vc.label(exits[0], []) == "vanilla+exits (fallback)"
    assert vc.hardest_setting(config) == "hazardous"
    assert vc.total({"params_a": 3, "params_b": 4, "flops_a": 100}, "params") == 7


def test_units_without_their_model_are_costed_from_the_architecture(
    methods_run: Path, tmp_path: Path
) -> None:
    """Units copied from a committed reference keep no model: their variant's costs are those
    of the same architecture built afresh, equal to the saved model's."""
    copy = tmp_path / "run"
    shutil.copytree(methods_run, copy)
    for model in (copy / "runs" / "vanilla+exits").glob("iter-*/model.keras"):
        model.unlink()
    config = load_config(copy / "config.yaml")
    units = list(finished_units(methods_run, config))
    saved = vc.variant_costs(config, methods_run, units)
    afresh = vc.variant_costs(config, copy, units)
    assert afresh["vanilla+exits"] == saved["vanilla+exits"]
    assert afresh["vanilla"] == saved["vanilla"]


def test_defined_variants_take_their_bases_colour_and_a_marker_of_their_own() -> None:
    from resilinet_cli.results.figure_style import VARIANT_COLOURS
    from resilinet_cli.results.method_figure import row_styles

    styles = row_styles(["vanilla", "vanilla+exits", "vanilla+standby", "resilinet+standin"])
    assert styles["vanilla"] == (VARIANT_COLOURS["vanilla"], "o")
    assert styles["vanilla+exits"] == (VARIANT_COLOURS["vanilla+exits"], "o")
    assert styles["vanilla+standby"] == (VARIANT_COLOURS["vanilla"], "^")
    assert styles["resilinet+standin"] == (VARIANT_COLOURS["resilinet"], "v")
