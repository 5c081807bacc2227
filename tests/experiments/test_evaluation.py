"""``resilinet evaluate`` on topologies too large to sweep, and runs that train without a sweep.

The exact values come from a run that swept every combination of a small generated chain.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from run_helpers import TINY, bare_run

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.config.generate import chain_topology

# -- resilinet evaluate ------------------------------------------------------------------------


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def chain_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of ResiliNet on a generated chain of 8 fog nodes (1 epoch, 300 digits)."""
    folder = tmp_path_factory.mktemp("chain")
    layers = {f"fog{k}": 1 for k in range(1, 9)} | {"cloud": 1}
    raw = {
        "name": "chain",
        "variants": ["resilinet"],
        "iterations": 1,
        "dataset": {"name": "digits"},
        "topology": {"generate": "chain", "size": 8},
        "model": {"name": "mlp", "hidden_units": 32, "layers_per_node": layers},
        "train": {"batch_size": 64},
    }
    (folder / "chain.yaml").write_text(yaml.safe_dump(raw))
    out = folder / "run"
    code, _, stderr = invoke("run", str(folder / "chain.yaml"), "--out", str(out), *TINY)
    assert code == 0, stderr
    return out


def exact_from_run(out: Path) -> dict[str, float]:
    """The weighted accuracy of every setting from the run's own full sweep."""
    unit = out / "runs" / "resilinet" / "iter-1"
    combos = pd.read_csv(unit / "combinations.csv")
    topology = chain_topology(8)
    values = {}
    for name, reliability in topology.reliability.items():
        total = 0.0
        for row in combos.itertuples(index=False):
            combo = tuple(int(getattr(row, node)) for node in topology.failable)
            total += topology.probability(combo, reliability) * row.accuracy
        values[name] = total
    return values


def weighted_csv(out: Path) -> pd.DataFrame:
    unit = out / "runs" / "resilinet" / "iter-1"
    return pd.read_csv(unit / "evaluation_weighted.csv").set_index("setting")


def test_a_run_on_a_generated_chain_writes_every_combination(chain_run: Path) -> None:
    combos = pd.read_csv(chain_run / "runs" / "resilinet" / "iter-1" / "combinations.csv")
    assert list(combos.columns[:8]) == [f"fog{k}" for k in range(1, 9)] and len(combos) == 256
    assert combos["information_flow"].sum() == 55
    # 256 combinations are too many for a readable heatmap: the table has them instead.
    figures = {p.name for p in (chain_run / "figures").iterdir()}
    # .inputs.json holds the digests that let a rerun skip redrawing unchanged figures.
    assert figures == {"weighted_accuracy.png", "weighted_accuracy.pdf", ".inputs.json"}
    assert "combinations_heatmap" not in (chain_run / "REPORT.md").read_text()


def test_evaluate_auto_with_a_large_budget_is_exhaustive(chain_run: Path) -> None:
    code, stdout, stderr = invoke("evaluate", str(chain_run), "--budget", "100000")
    assert code == 0, stderr
    exact = exact_from_run(chain_run)
    written = weighted_csv(chain_run)
    assert (written["method"] == "exhaustive").all()
    for name, value in exact.items():
        assert written.loc[name, "accuracy"] == pytest.approx(value, abs=1e-9)
        assert written.loc[name, "lower"] == written.loc[name, "upper"]
        assert f"  {name}: {100 * value:.2f}% (exhaustive: exact, " in stdout
    assert written.loc["no_failure", "combinations"] == 1
    assert written.loc["normal", "combinations"] == 2**8


def test_evaluate_auto_with_a_tiny_budget_samples(chain_run: Path) -> None:
    code, stdout, stderr = invoke("evaluate", str(chain_run), "--budget", "0.001")
    assert code == 0, stderr
    written = weighted_csv(chain_run)
    for name in ("normal", "poor", "hazardous"):
        assert written.loc[name, "method"] == "montecarlo"
        assert written.loc[name, "samples"] >= 2000
        assert written.loc[name, "lower"] <= written.loc[name, "accuracy"]
        assert written.loc[name, "accuracy"] <= written.loc[name, "upper"]
        assert f"  {name}: " in stdout and "(montecarlo: 95% interval [" in stdout
    # Certain survival: the one combination is the whole (exhaustive) answer.
    assert written.loc["no_failure", "method"] == "exhaustive"


def test_evaluate_bounded_brackets_the_run_sweep(chain_run: Path) -> None:
    code, stdout, stderr = invoke("evaluate", str(chain_run), "--method", "bounded")
    assert code == 0, stderr
    written = weighted_csv(chain_run)
    for name, value in exact_from_run(chain_run).items():
        row = written.loc[name]
        assert row["method"] == "bounded"
        assert row["lower"] - 1e-9 <= value <= row["upper"] + 1e-9
        assert row["upper"] - row["lower"] < 0.01
    assert "(bounded: exact interval [" in stdout


def test_evaluate_montecarlo_estimates_the_run_sweep(chain_run: Path) -> None:
    code, stdout, stderr = invoke(
        "evaluate", str(chain_run), "--method", "montecarlo", "--half-width", "0.02"
    )
    assert code == 0, stderr
    written = weighted_csv(chain_run)
    exact = exact_from_run(chain_run)
    for name in ("normal", "poor", "hazardous"):
        row = written.loc[name]
        assert row["method"] == "montecarlo"
        assert row["upper"] - row["lower"] <= 0.04 + 1e-9
        assert abs(row["accuracy"] - exact[name]) < 0.05  # 5 half-widths: a 1-in-a-million miss
    # Nothing to sample when every node survives: the most likely combination is all there is.
    assert written.loc["no_failure", "method"] == "exhaustive"
    assert written.loc["no_failure", "accuracy"] == pytest.approx(exact["no_failure"])
    assert "samples" in stdout


def test_evaluate_one_combination_of_a_large_topology(chain_run: Path) -> None:
    code, stdout, stderr = invoke(
        "evaluate", str(chain_run), "--failures", "fog3", "--method", "bounded"
    )
    assert code == 0, stderr
    unit = chain_run / "runs" / "resilinet" / "iter-1"
    combos = pd.read_csv(unit / "combinations.csv")  # in sweep order: row i is binary i
    expected = combos["accuracy"].iloc[int("11011111", 2)]
    assert f"accuracy with fog3 dead (combination 11011111): {100 * expected:.2f}%" in stdout
    assert pd.read_csv(unit / "evaluation.csv")["accuracy"].tolist() == [expected]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "fast"], "--method: unknown method 'fast'"),
        (["--tolerance", "abc"], "--tolerance 'abc': expected a probability mass in [0, 1)"),
        (["--tolerance", "1"], "--tolerance '1': expected a probability mass in [0, 1)"),
        (["--half-width", "0"], "--half-width '0': expected a number in (0, 0.5]"),
        (["--budget", "-1"], "--budget '-1': expected a positive number of seconds"),
        (["--budget", "nan"], "--budget 'nan': expected a positive number of seconds"),
    ],
)
def test_evaluate_rejects_bad_estimation_flags(tmp_path: Path, args, message) -> None:
    code, _, stderr = invoke("evaluate", str(bare_run(tmp_path, 4)), *args)
    assert code == 2
    assert stderr.count("\n") == 1 and message in stderr and "Traceback" not in stderr


def test_evaluate_refuses_an_exhaustive_evaluation_that_cannot_finish(tmp_path: Path) -> None:
    code, _, stderr = invoke("evaluate", str(bare_run(tmp_path, 30)), "--method", "exhaustive")
    assert code == 2
    assert stderr == (
        "error: --method exhaustive: 30 failable nodes have 2^30 combinations; "
        "use bounded or montecarlo\n"
    )


# -- run on topologies too large to sweep ------------------------------------------------------


def chain_config(folder: Path, size: int) -> Path:
    """ResiliNet on a generated chain, one Dense(16) per node given as a single number."""
    raw = {
        "name": "chain",
        "variants": ["resilinet"],
        "iterations": 1,
        "dataset": {"name": "digits"},
        "topology": {"generate": "chain", "size": size},
        "model": {"name": "mlp", "hidden_units": 16, "layers_per_node": 1},
        "train": {"batch_size": 64},
    }
    path = folder / "chain.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_one_number_of_layers_per_node_fits_any_size_of_topology(tmp_path: Path) -> None:
    from resilinet_cli.models.builder import build_from_config

    config = load_config(chain_config(tmp_path, 3), ["topology.size=5"])
    model, _ = build_from_config(config, "resilinet", input_shape=(64,), num_classes=10, seed=0)
    dense = [layer.name for layer in model.layers if type(layer).__name__ == "Dense"]
    hidden = [name for name in dense if not name.startswith("skip_")]
    # one layer on each fog node and one on the cloud, then the classifier
    assert hidden == [f"fog{k}_output_layer" for k in range(1, 6)] + ["cloud_input_layer", "output"]


@pytest.mark.parametrize("command", ["run", "train"])
def test_run_refuses_a_sweep_it_cannot_enumerate_before_any_work(
    tmp_path: Path, command: str
) -> None:
    path = chain_config(tmp_path, 17)
    extra = ["--variant", "resilinet"] if command == "train" else []
    out = tmp_path / "out"
    code, _, stderr = invoke(command, str(path), "--out", str(out), *extra)
    assert code == 2
    assert stderr == (
        f"error: {path}: topology: 17 failable nodes make 131,072 failure combinations, more "
        "than the sweep enumerates (2^16); add --no-sweep to train only, then "
        "`resilinet evaluate RUN_DIR` bounds or samples them\n"
    )
    assert not out.exists()


def test_no_sweep_trains_and_saves_then_evaluate_estimates(tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = str(chain_config(tmp_path, 17))
    code, stdout, stderr = invoke("run", path, "--out", str(out), "--no-sweep", *TINY)
    assert code == 0, stderr
    assert "resilinet/iter-1: trained and saved (not swept)" in stdout
    unit = out / "runs" / "resilinet" / "iter-1"
    assert (unit / "model.keras").exists() and not (unit / "combinations.csv").exists()
    assert json.loads((unit / "run.json").read_text())["swept"] is False
    code, stdout, stderr = invoke(
        "evaluate", str(out), "--method", "montecarlo", "--half-width", "0.05"
    )
    assert code == 0, stderr
    weighted = weighted_csv(out)
    assert weighted.loc["hazardous", "method"] == "montecarlo"
    assert (
        (weighted["lower"] <= weighted["accuracy"]) & (weighted["accuracy"] <= weighted["upper"])
    ).all()


def test_a_unit_trained_without_its_sweep_is_not_done_for_a_sweeping_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = str(chain_config(tmp_path, 3))
    assert invoke("run", path, "--out", str(out), "--no-sweep", *TINY)[0] == 0
    code, stdout, stderr = invoke("run", path, "--out", str(out), "--no-sweep", *TINY)
    assert code == 0 and "skip resilinet/iter-1: already finished" in stdout
    code, stdout, stderr = invoke("run", path, "--out", str(out), *TINY)
    assert code == 0, stderr
    assert "resilinet/iter-1: accuracy with no failures" in stdout
    unit = out / "runs" / "resilinet" / "iter-1"
    assert len(pd.read_csv(unit / "combinations.csv")) == 2**3
    assert len(pd.read_csv(out / "tables" / "weighted_accuracy.csv")) == 4
