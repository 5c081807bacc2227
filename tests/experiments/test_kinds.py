"""Experiment types (docs/method.md §7): their units, their tables, and the statistics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import pandas as pd
import pytest
from click.testing import CliRunner
from paths import CONFIGS
from run_helpers import tiny_sets

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.experiments.kinds import (
    information_flow,
    level_columns,
    plan_units,
    skip_label,
)
from resilinet_cli.experiments.pages import summarise
from resilinet_cli.results.runs import Unit
from resilinet_cli.topology import Topology, link_label

TINY = tiny_sets("iterations=2")


def config_for(kind: str, *extra: str):
    return load_config(CONFIGS / "quickstart.yaml", [*TINY, f"experiment.type={kind}", *extra])


def test_failout_rate_units() -> None:
    config = config_for("failout_rate", "experiment.survival=[0.9,0.5]")
    units = plan_units(config, ["resilinet"], [1])
    assert [(u.value, u.trained_for) for u in units] == [
        ("0.9", None), ("0.5", None),
        ("variable", "normal"), ("variable", "poor"), ("variable", "hazardous"),
    ]  # fmt: skip
    hazardous = units[-1].config(config)
    assert hazardous.survival_per_node() == {"fog1": 0.85, "fog2": 0.80, "edge": 0.78}
    assert units[1].config(config).survival_per_node() == {n: 0.5 for n in ("fog1", "fog2", "edge")}
    assert units[-1].name == "failout_survival=variable,setting=hazardous/resilinet/iter-1"


def test_weight_scheme_and_skip_units() -> None:
    config = config_for("hyperconnection_weight", "experiment.schemes=[1,3,4]")
    units = plan_units(config, ["resilinet"], [1])
    assert [(u.value, u.trained_for) for u in units] == [
        ("1", None), ("3", "no_failure"), ("3", "normal"), ("3", "poor"), ("3", "hazardous"),
        ("4", None),
    ]  # fmt: skip
    assert units[4].config(config).train.hyperconnection_weights.setting == "hazardous"
    skips = plan_units(config_for("skip_sensitivity"), ["resilinet"], [1])
    assert [u.value for u in skips] == [f"{i:03b}" for i in range(8)]
    # bit i keeps skip i of the topology: iot->fog2, edge->fog1, fog2->cloud
    assert skips[0b101].config(config).topology.skips == [("iot", "fog2"), ("fog2", "cloud")]
    merge = plan_units(config_for("merge"), ["resilinet", "resilinet_plus"], [1, 2])
    assert [(u.variant, u.value, u.iteration, u.seed) for u in merge] == [
        ("resilinet", "mux", 1, 0), ("resilinet", "mux", 2, 1),
        ("resilinet_plus", "add", 1, 0), ("resilinet_plus", "add", 2, 1),
    ]  # fmt: skip


def test_skip_subsets_are_named_by_the_links_each_model_keeps() -> None:
    config = config_for("skip_sensitivity")
    skips = list(config.topology.skips)
    assert skip_label(skips, "101") == "iot→fog2 + fog2→cloud"
    assert skip_label(skips, "000") == "none"
    assert skip_label(skips, "010") == "edge→fog1"
    with pytest.raises(ValueError, match="one 0/1 bit per skip"):
        skip_label(skips, "10")
    for unit in plan_units(config, ["resilinet"], [1]):
        # The label names exactly the skips of the topology the unit is trained with.
        kept = [link_label(*link) for link in unit.config(config).topology.skips]
        assert level_columns(unit, skips) == {
            "skip_config": " + ".join(kept) or "none",
            "skip_bits": unit.value,
        }
        assert unit.folder(Path("out")) == Path(
            f"out/runs/skip_config={unit.value}/resilinet/iter-1"
        )
    failout = plan_units(config_for("failout_rate"), ["resilinet"], [1])[0]
    assert level_columns(failout, skips) == {"failout_survival": "0.95"}
    assert level_columns(Unit("vanilla", 1, 0), skips) == {}


def test_skip_tables_name_the_links_and_keep_the_bits_beside(health: Topology) -> None:
    rows = [dict(zip(("fog1", "fog2", "edge"), c, strict=True)) for c in health.combinations()]
    frame = pd.DataFrame(rows).assign(accuracy=0.5)
    results = {Unit("resilinet", 1, 0, "skip_config", bits): frame for bits in ("000", "101")}
    weighted, combos = summarise(results, health)
    assert list(weighted.columns) == [
        "variant",
        "skip_config",
        "skip_bits",
        "setting",
        "mean",
        "std",
        "iterations",
    ]
    assert list(dict.fromkeys(zip(weighted.skip_config, weighted.skip_bits, strict=True))) == [
        ("none", "000"),
        ("iot→fog2 + fog2→cloud", "101"),
    ]
    assert list(combos.columns[:4]) == ["variant", "skip_config", "skip_bits", "combination"]
    assert set(combos.skip_config) == {"none", "iot→fog2 + fog2→cloud"}


def test_statistics_equal_a_hand_computation(health: Topology) -> None:
    def frame(accuracy_111: float, accuracy_110: float) -> pd.DataFrame:
        rows = [dict(zip(("fog1", "fog2", "edge"), c, strict=True)) for c in health.combinations()]
        table = pd.DataFrame(rows)
        table["accuracy"] = 0.1
        table.loc[7, "accuracy"] = accuracy_111
        table.loc[6, "accuracy"] = accuracy_110
        return table

    results = {
        Unit("resilinet", 1, 0, "weight_scheme", "1"): frame(0.9, 0.5),
        Unit("resilinet", 2, 1, "weight_scheme", "1"): frame(0.8, 0.7),
        Unit("resilinet", 1, 0, "weight_scheme", "2", "hazardous"): frame(0.6, 0.6),
    }
    weighted, combos = summarise(results, health)
    assert list(weighted.columns) == [
        "variant",
        "weight_scheme",
        "setting",
        "mean",
        "std",
        "iterations",
    ]
    hazardous = [0.0066, 0.0234, 0.0264, 0.0936, 0.0374, 0.1326, 0.1496, 0.5304]

    def expected(a111: float, a110: float) -> float:
        return 0.1 * sum(hazardous[:6]) + hazardous[6] * a110 + hazardous[7] * a111

    values = [expected(0.9, 0.5), expected(0.8, 0.7)]
    row = weighted[(weighted.weight_scheme == "1") & (weighted.setting == "hazardous")].iloc[0]
    assert row["mean"] == pytest.approx(sum(values) / 2, abs=1e-12)
    assert row["std"] == pytest.approx(abs(values[0] - values[1]) / 2**0.5, abs=1e-12)
    assert row["iterations"] == 2
    scheme2 = weighted[weighted.weight_scheme == "2"]
    assert scheme2["setting"].tolist() == ["hazardous"] and scheme2["iterations"].tolist() == [1]
    assert scheme2["mean"].item() == pytest.approx(expected(0.6, 0.6), abs=1e-12)
    # Combinations: mean and sample std per combination, only for models scored on every setting.
    top = combos[combos.combination == "111"]
    assert top["mean"].item() == pytest.approx(0.85) and top["std"].item() == pytest.approx(
        0.0707106781, abs=1e-9
    )
    assert set(combos["weight_scheme"]) == {"1"}


def run(kind: str, tmp_path: Path, *extra: str, variants: str = "resilinet") -> Path:
    out = tmp_path / kind
    args = ["run", str(CONFIGS / "quickstart.yaml"), "--out", str(out), "--variants", variants]
    for override in (*TINY, f"experiment.type={kind}", *extra):
        args += ["--set", override]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return out


def tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    kinds = {"combination": str, "skip_bits": str, "failout_survival": str, "weight_scheme": str}
    weighted = pd.read_csv(out / "tables" / "weighted_accuracy.csv", dtype=kinds)
    combos = pd.read_csv(out / "tables" / "combinations.csv", dtype=kinds)
    return weighted, combos


SETTINGS = ["no_failure", "normal", "poor", "hazardous"]


def test_failout_rate_end_to_end(tmp_path: Path) -> None:
    out = run("failout_rate", tmp_path, "experiment.survival=[0.9,0.5]", "iterations=1")
    weighted, combos = tables(out)
    assert list(weighted.columns) == [
        "variant",
        "failout_survival",
        "setting",
        "mean",
        "std",
        "iterations",
    ]
    rows = list(zip(weighted.failout_survival, weighted.setting, strict=True))
    assert rows == [("0.9", s) for s in SETTINGS] + [("0.5", s) for s in SETTINGS] + [
        ("variable", "normal"),
        ("variable", "poor"),
        ("variable", "hazardous"),
    ]
    assert (weighted["iterations"] == 1).all()  # means and stds: test_statistics_equal_a_hand_...
    assert set(combos["failout_survival"]) == {"0.9", "0.5"}
    record = json.loads(
        (out / "runs" / "failout_survival=0.5" / "resilinet" / "iter-1" / "run.json").read_text()
    )
    assert record["unit"]["overrides"] == ["train.failout.survival=0.5"]


def test_hyperconnection_weight_end_to_end(tmp_path: Path) -> None:
    out = run("hyperconnection_weight", tmp_path, "experiment.schemes=[1,2]", "iterations=1")
    weighted, _ = tables(out)
    rows = list(zip(weighted.weight_scheme, weighted.setting, strict=True))
    assert rows == [("1", s) for s in SETTINGS] + [("2", s) for s in SETTINGS]
    unit = out / "runs" / "weight_scheme=2,setting=hazardous" / "resilinet" / "iter-1"
    weights = json.loads((unit / "run.json").read_text())["hyperconnection_weights"]
    assert weights["iot_fog2"] == pytest.approx(1 / (1 + 0.78))
    assert weights["edge_fog1"] == pytest.approx(0.78 / (0.78 + 0.80))
    model = keras.models.load_model(unit / "model.keras", safe_mode=True)
    assert model.get_layer("fog2_cloud_weight").scale == pytest.approx(0.80 / (0.80 + 0.85))


@pytest.fixture(scope="module")
def skip_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every subset of the Health skips, one iteration (shared by the tests that read it)."""
    return run("skip_sensitivity", tmp_path_factory.mktemp("skips"), "iterations=1")


def test_skip_sensitivity_end_to_end(skip_run: Path) -> None:
    out = skip_run
    weighted, _ = tables(out)
    assert list(dict.fromkeys(weighted.skip_bits)) == [f"{i:03b}" for i in range(8)]
    assert list(dict.fromkeys(weighted.skip_config)) == [
        "none",
        "fog2→cloud",
        "edge→fog1",
        "edge→fog1 + fog2→cloud",
        "iot→fog2",
        "iot→fog2 + fog2→cloud",
        "iot→fog2 + edge→fog1",
        "iot→fog2 + edge→fog1 + fog2→cloud",
    ]
    assert len(weighted) == 32 and (weighted["iterations"] == 1).all()
    markdown = (out / "tables" / "weighted_accuracy.md").read_text()
    assert "| resilinet | iot→fog2 + fog2→cloud             | 101         |" in markdown
    latex = (out / "tables" / "weighted_accuracy.tex").read_text()
    assert r"iot$\rightarrow$fog2 + fog2$\rightarrow$cloud & 101 &" in latex
    report = (out / "REPORT.md").read_text()
    assert "in this order: iot→fog2, edge→fog1, fog2→cloud" in report
    assert "| resilinet | none " in report
    no_skips = pd.read_csv(
        out / "runs" / "skip_config=000" / "resilinet" / "iter-1" / "combinations.csv"
    )
    assert no_skips["information_flow"].tolist() == [False] * 7 + [True]
    only_f2c = pd.read_csv(
        out / "runs" / "skip_config=001" / "resilinet" / "iter-1" / "combinations.csv"
    )
    # Only fog2->cloud: the edge and fog2 must live, fog1 may fail (combos 011 and 111).
    assert only_f2c["information_flow"].tolist() == [False] * 3 + [True] + [False] * 3 + [True]


def test_partition_and_merge_end_to_end(tmp_path: Path) -> None:
    out = run("partition", tmp_path, "iterations=1", variants="vanilla,resilinet")
    weighted, _ = tables(out)
    assert list(dict.fromkeys(zip(weighted.variant, weighted.partition, strict=True))) == [
        ("vanilla", 1),
        ("vanilla", 2),
        ("resilinet", 1),
        ("resilinet", 2),
    ]
    model = keras.models.load_model(
        out / "runs" / "partition=2" / "resilinet" / "iter-1" / "model.keras", safe_mode=True
    )
    assert "edge_input_layer" in {layer.name for layer in model.layers}
    out = run("merge", tmp_path, "iterations=1", variants="resilinet,resilinet_plus")
    weighted, _ = tables(out)
    assert list(dict.fromkeys(zip(weighted["variant"], weighted["merge"], strict=True))) == [
        ("resilinet", "mux"),
        ("resilinet_plus", "add"),
    ]
    markdown = (out / "tables" / "weighted_accuracy.md").read_text()
    assert "| resilinet_plus | add" in markdown


def test_evaluate_uses_each_ablation_units_own_topology(skip_run: Path) -> None:
    unit = skip_run / "runs" / "skip_config=000" / "resilinet" / "iter-1"
    result = CliRunner().invoke(
        main, ["evaluate", str(unit / "model.keras"), "--failures", "all"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    written = pd.read_csv(unit / "evaluation.csv")
    saved = pd.read_csv(unit / "combinations.csv")
    # No skips: only 111 has information flow, exactly as the run recorded.
    assert written["information_flow"].tolist() == [False] * 7 + [True]
    assert written["accuracy"].tolist() == saved["accuracy"].tolist()


def test_evaluate_a_whole_ablation_run_folder_grouped_by_level(tmp_path: Path) -> None:
    out = tmp_path / "skips"
    args = ["run", str(CONFIGS / "ablations" / "digits_skip_sensitivity.yaml"), "--out", str(out)]
    for override in (*TINY[:-1], "iterations=1", "topology.skips=[[edge,fog1]]"):
        args += ["--set", override]
    assert CliRunner().invoke(main, args, catch_exceptions=False).exit_code == 0
    result = CliRunner().invoke(
        main, ["evaluate", str(out), "--reliability", "hazardous"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    stdout = result.stdout
    units = {bits: out / "runs" / f"skip_config={bits}" / "resilinet" / "iter-1" for bits in "01"}
    # Each level's heading names its links, then its model follows: none first, then edge->fog1.
    positions = [
        stdout.index("\n== skip_config: none; skip_bits: 0\n"),
        stdout.index(f"\nresilinet ({units['0'] / 'model.keras'})\n"),
        stdout.index("\n== skip_config: edge→fog1; skip_bits: 1\n"),
        stdout.index(f"\nresilinet ({units['1'] / 'model.keras'})\n"),
    ]
    assert positions == sorted(positions)
    table = pd.read_csv(out / "tables" / "weighted_accuracy.csv", dtype={"skip_bits": str})
    flows = {"0": [False] * 7 + [True], "1": [False] * 5 + [True, False, True]}
    for bits, unit in units.items():
        written = pd.read_csv(unit / "evaluation.csv")
        # Evaluated under the unit's own topology: the flow and accuracies its run recorded.
        pd.testing.assert_frame_equal(written, pd.read_csv(unit / "combinations.csv"))
        assert written["information_flow"].tolist() == flows[bits]
        weighted = pd.read_csv(unit / "evaluation_weighted.csv")
        assert weighted["setting"].tolist() == ["hazardous"]
        expected = table[(table.skip_bits == bits) & (table.setting == "hazardous")]["mean"]
        assert weighted["accuracy"].item() == pytest.approx(expected.item(), abs=1e-12)
        label = "none" if bits == "0" else "edge→fog1"
        accuracy = f"{100 * weighted['accuracy'].item():.2f}"
        assert re.search(rf"\| {label} +\| {bits} +\| resilinet +\| 1 +\| +{accuracy} \|", stdout)


def test_every_experiment_type_of_the_schema_is_registered() -> None:
    """A config may name exactly the registered kinds, each with its text and figure."""
    import typing

    from resilinet_cli.config import ExperimentType
    from resilinet_cli.experiments.kinds import KINDS

    assert set(KINDS) == set(typing.get_args(ExperimentType))
    for name, kind in KINDS.items():
        assert kind.name == name and kind.text and callable(kind.figure)
        assert (kind.factor is None) == (name in {"average_accuracy", "methods"})


def test_information_flow_follows_each_rows_variant_and_skip_subset(health: Topology) -> None:
    """The heatmap's guesses: the run-level table has no flow column, so kinds works it out.

    Health is iot -> edge -> fog2 -> fog1 -> cloud with skips iot->fog2, edge->fog1 and
    fog2->cloud (skip_bits in that order); combinations are alive bits of fog1, fog2, edge.
    """
    skips = pd.DataFrame(
        {
            "variant": ["resilinet"] * 4 + ["vanilla"] * 2,
            "skip_config": ["none", "none", "fog2→cloud", "fog2→cloud", "all", "all"],
            "skip_bits": ["000", "000", "001", "001", "111", "111"],
            "combination": ["111", "011", "011", "101", "111", "011"],
        }
    )
    # fog1 dead: only the fog2->cloud skip goes round it; fog2 dead: that skip does not help;
    # Vanilla has no skips whatever the subset.
    assert information_flow(skips, health) == [True, False, True, False, True, False]
    plain = pd.DataFrame(
        {
            "variant": ["deepfogguard", "deepfogguard", "vanilla"],
            "combination": ["010", "100", "010"],
        }
    )
    assert information_flow(plain, health) == [True, False, False]


def test_variant_iterations_give_more_pairs_to_the_named_variants_only() -> None:
    config = load_config(
        CONFIGS / "quickstart.yaml",
        [*TINY, "variants=[vanilla,resilinet]", "variant_iterations={resilinet: 4}"],
    )
    units = plan_units(config)
    assert [(u.variant, u.iteration, u.seed) for u in units] == [
        ("vanilla", 1, 0), ("vanilla", 2, 1),
        ("resilinet", 1, 0), ("resilinet", 2, 1), ("resilinet", 3, 2), ("resilinet", 4, 3),
    ]  # fmt: skip
    # --iterations on the command line chooses the same iterations of every variant
    assert [u.iteration for u in plan_units(config, None, [3])] == [3, 3]
    # the key is a label: a unit trains the same whatever count its variant runs
    plain = load_config(CONFIGS / "quickstart.yaml", [*TINY, "variants=[vanilla,resilinet]"])
    assert config.digest() != plain.digest()
    from resilinet_cli.experiments.reuse import training_key

    assert training_key(config, units[2]) == training_key(plain, units[2])


def test_variant_iterations_must_name_a_variant_of_the_run() -> None:
    from resilinet_cli.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"variant_iterations\.resilinet_plus: .*variant of this run"
    ):
        load_config(
            CONFIGS / "quickstart.yaml",
            ["variants=[vanilla,resilinet]", "variant_iterations={resilinet_plus: 4}"],
        )


def test_smoke_runs_one_iteration_of_every_variant(tmp_path: Path) -> None:
    path = tmp_path / "more.yaml"
    path.write_text(f"base: {CONFIGS / 'quickstart.yaml'}\nvariant_iterations: {{resilinet: 4}}\n")
    assert len(plan_units(load_config(path), ["resilinet"])) == 4
    assert {u.iteration for u in plan_units(load_config(path, smoke=True))} == {1}
