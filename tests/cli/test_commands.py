"""CLI end to end on the digits data: every file of the results schema, evaluate, errors, resume."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from paths import CONFIGS
from run_helpers import TINY

from resilinet_cli.cli import main


def quick_run(out: Path) -> list[str]:
    """Two variants x two iterations of a 1-epoch quickstart."""
    run = ["run", str(CONFIGS / "quickstart.yaml"), "--out", str(out), *TINY]
    return [*run, "--variants", "vanilla,resilinet", "--iterations", "2"]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("run") / "quick"
    code, stdout, stderr = invoke(*quick_run(out))
    assert code == 0, stderr
    return out, stdout


def test_run_writes_every_file_of_the_schema(run_dir: tuple[Path, str]) -> None:
    out, stdout = run_dir
    assert (out / "config.yaml").is_file()
    for variant in ("vanilla", "resilinet"):
        for k in (1, 2):
            unit = out / "runs" / variant / f"iter-{k}"
            assert {p.name for p in unit.iterdir()} == {
                "model.keras",
                "history.csv",
                "combinations.csv",
                "run.json",
                "tensorboard",
            }
            combos = pd.read_csv(unit / "combinations.csv")
            assert list(combos.columns) == ["fog1", "fog2", "edge", "information_flow", "accuracy"]
            assert len(combos) == 8 and combos["accuracy"].between(0, 1).all()
            history = pd.read_csv(unit / "history.csv")
            assert {"epoch", "accuracy", "val_accuracy", "loss", "val_loss"} <= set(history)
            record = json.loads((unit / "run.json").read_text())
            assert record["status"] == "done"
            assert record["seeds"]["global"] == k - 1  # config seed 0, iteration k
            assert set(record["versions"]) >= {"resilinet", "keras", "tensorflow"}
            assert set(record["git"]) == {"commit", "dirty"}
            assert record["host"] and record["started"] <= record["finished"]
            assert len(record["config_hash"]) == 64

    weighted = pd.read_csv(out / "tables" / "weighted_accuracy.csv")
    assert list(weighted.columns) == ["variant", "setting", "mean", "std", "iterations"]
    assert weighted["variant"].tolist() == ["vanilla"] * 4 + ["resilinet"] * 4
    assert weighted["setting"].tolist()[:4] == ["no_failure", "normal", "poor", "hazardous"]
    assert (weighted["iterations"] == 2).all()
    combos = pd.read_csv(out / "tables" / "combinations.csv", dtype={"combination": str})
    assert list(combos.columns) == ["variant", "combination", "mean", "std"]
    assert combos["combination"].tolist()[:8] == [f"{i:03b}" for i in range(8)]

    # The table's weighted mean is the mean over units of Σ P(c)·acc(c).
    reliability = [0.85, 0.80, 0.78]
    values = []
    for k in (1, 2):
        unit = pd.read_csv(out / "runs" / "resilinet" / f"iter-{k}" / "combinations.csv")
        total = 0.0
        for row in unit.itertuples(index=False):
            p = 1.0
            for alive, r in zip((row.fog1, row.fog2, row.edge), reliability, strict=True):
                p *= r if alive else 1 - r
            total += p * row.accuracy
        values.append(total)
    row = weighted[(weighted.variant == "resilinet") & (weighted.setting == "hazardous")].iloc[0]
    assert row["mean"] == pytest.approx(sum(values) / 2, abs=1e-12)
    assert row["std"] == pytest.approx(pd.Series(values).std(ddof=1), abs=1e-12)

    markdown = (out / "tables" / "weighted_accuracy.md").read_text()
    assert "| resilinet" in markdown and " ± " in markdown
    assert "hazardous" in stdout and f"Results: {out}/REPORT.md" in stdout
    record = json.loads((out / "run.json").read_text())
    # Two of the config's four variants ran: the run is partial, not done.
    assert record["status"] == "partial" and record["seeds"] == {
        "vanilla/iter-1": 0,
        "vanilla/iter-2": 1,
        "resilinet/iter-1": 0,
        "resilinet/iter-2": 1,
    }


def test_evaluate_reports_the_accuracy_of_exactly_that_combination(run_dir) -> None:
    out, _ = run_dir
    unit = out / "runs" / "resilinet" / "iter-1"
    code, stdout, stderr = invoke("evaluate", str(unit / "model.keras"), "--failures", "edge")
    assert code == 0, stderr
    combos = pd.read_csv(unit / "combinations.csv")
    expected = combos[(combos.fog1 == 1) & (combos.fog2 == 1) & (combos.edge == 0)].accuracy.item()
    assert f"accuracy with edge dead (combination 110): {100 * expected:.2f}%" in stdout
    written = pd.read_csv(unit / "evaluation.csv")
    assert written["accuracy"].tolist() == [expected]
    weighted = pd.read_csv(unit / "evaluation_weighted.csv")
    assert weighted["setting"].tolist() == ["no_failure", "normal", "poor", "hazardous"]


def test_evaluate_all_with_a_custom_reliability(run_dir) -> None:
    out, _ = run_dir
    code, stdout, stderr = invoke(
        "evaluate", str(out), "--failures", "all", "--reliability", "0.5,0.5,0.5"
    )
    assert code == 0, stderr
    assert stdout.count("weighted accuracy:") == 4  # 2 variants x 2 iterations
    assert "0.5,0.5,0.5:" in stdout
    unit = out / "runs" / "vanilla" / "iter-2"
    combos = pd.read_csv(unit / "combinations.csv")
    assert pd.read_csv(unit / "evaluation.csv")["accuracy"].tolist() == combos["accuracy"].tolist()
    weighted = pd.read_csv(unit / "evaluation_weighted.csv")
    assert weighted["accuracy"].item() == pytest.approx(combos["accuracy"].mean(), abs=1e-12)


def test_rerunning_resumes_without_retraining(run_dir) -> None:
    out, _ = run_dir
    code, stdout, stderr = invoke(*quick_run(out))
    assert code == 0, stderr
    assert stdout.count("already finished") == 4 and "training" not in stdout


def test_a_run_folder_of_another_config_is_refused(run_dir) -> None:
    out, _ = run_dir
    code, _, stderr = invoke(
        "run", str(CONFIGS / "quickstart.yaml"), "--out", str(out), *TINY, "--set", "seed=5"
    )
    assert code == 2
    assert re.fullmatch(r"error: .*holds a run of another config.*\n", stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "train.epochs=-1"],
            "--set train.epochs=-1: Input should be greater than or equal to 0",
        ),
        (["--variants", "resnet"], "--variants: unknown variant 'resnet'"),
        (["--iterations", "3..1"], "--iterations '3..1': needs 1 <= FIRST <= LAST <= 10000"),
        (["--set", "oops"], "expected key=value"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code_2(args: list[str], message: str) -> None:
    code, _, stderr = invoke("run", str(CONFIGS / "quickstart.yaml"), *args)
    assert code == 2
    assert stderr.count("\n") == 1 and message in stderr and "Traceback" not in stderr


def test_evaluate_rejects_an_unknown_node(run_dir) -> None:
    out, _ = run_dir
    code, _, stderr = invoke("evaluate", str(out), "--failures", "fog3")
    assert code == 2 and "unknown failable node 'fog3'" in stderr


def test_the_installed_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ntrain: [1, 2\n")
    done = subprocess.run(
        [sys.executable, "-m", "resilinet_cli", "run", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: broken.yaml: line ") and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["run", "train", "evaluate"])
def test_help_is_complete_with_an_example(command: str) -> None:
    code, stdout, _ = invoke(command, "--help")
    assert code == 0 and "Example:" in stdout and "resilinet " + command in stdout


def test_train_writes_one_unit_with_the_given_seed(tmp_path: Path) -> None:
    out = tmp_path / "one"
    code, stdout, stderr = invoke(
        "train",
        str(CONFIGS / "quickstart.yaml"),
        "--variant",
        "resilinet_plus",
        "--seed",
        "7",
        "--out",
        str(out),
        *TINY,
    )
    assert code == 0, stderr
    unit = out / "runs" / "resilinet_plus" / "iter-1"
    record = json.loads((unit / "run.json").read_text())
    assert record["status"] == "done" and record["seeds"]["global"] == 7
    assert (unit / "model.keras").is_file()
    weighted = pd.read_csv(out / "tables" / "weighted_accuracy.csv")
    assert weighted["variant"].unique().tolist() == ["resilinet_plus"]
    assert weighted["std"].isna().all() and (weighted["iterations"] == 1).all()
    assert "accuracy with no failures" in stdout


def test_cifar_without_its_data_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("RESILINET_DATA", raising=False)
    code, _, stderr = invoke(
        "run",
        str(CONFIGS / "cifar_mobilenet.yaml"),
        "--out",
        str(tmp_path / "out"),
        "--set",
        "dataset.download=false",
    )
    assert code == 2 and stderr.count("\n") == 1
    assert "cifar-10-binary.tar.gz" in stderr and "Traceback" not in stderr


def test_dry_run_refuses_a_folder_of_another_config_as_the_run_would(run_dir) -> None:
    out, _ = run_dir
    code, stdout, stderr = invoke(
        "run", str(CONFIGS / "quickstart.yaml"), "--out", str(out), *TINY, "--set", "seed=5",
        "--dry-run",
    )  # fmt: skip
    assert code == 2 and stdout == ""
    assert re.fullmatch(r"error: .*holds a run of another config.*\n", stderr)


def test_dry_run_lists_finished_units_as_done(run_dir) -> None:
    out, _ = run_dir
    code, stdout, _ = invoke(*quick_run(out), "--dry-run")
    assert code == 0
    assert stdout.splitlines()[-1] == f"0 of 4 units to train in {out}"
    assert stdout.count("done  ") == 4


@pytest.mark.parametrize("download", ["true", "false"])
def test_dry_run_reports_missing_data_without_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, download: str
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("RESILINET_DATA", raising=False)
    config = str(CONFIGS / "cifar_mobilenet.yaml")
    args = ["--out", str(tmp_path / "out"), "--set", f"dataset.download={download}"]
    code, _, stderr = invoke("run", config, *args, "--dry-run")
    assert code == 2 and stderr.count("\n") == 1
    assert stderr.startswith("error: CIFAR-10 not found") and "cifar-10-binary.tar.gz" in stderr
    would_download = "the run would try to download it first (now: resilinet data fetch cifar10)"
    assert (would_download in stderr) == (download == "true")
    assert not (tmp_path / "keras").exists()  # nothing was downloaded
    if download == "false":  # the same line as the real run's
        assert invoke("run", config, *args)[2] == stderr


def test_smoke_on_a_config_outside_configs_keeps_an_explicit_set(tmp_path: Path) -> None:
    """A new user's first run: a config of their own in any folder, the preset by name."""
    config = tmp_path / "mine.yaml"
    config.write_text("name: mine\ntopology: health\ndataset:\n  name: digits\n")
    out = tmp_path / "out"
    args = ["--smoke", "--set", "train.epochs=2", "--variants", "vanilla", "--out", str(out)]
    code, _, stderr = invoke("run", str(config), *args)
    assert code == 0, stderr
    history = pd.read_csv(out / "runs" / "vanilla" / "iter-1" / "history.csv")
    assert len(history) == 2  # --smoke alone would train 1 epoch
    assert yaml_of(out / "config.yaml")["dataset"]["subset"]["train"] == 512


def yaml_of(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def test_report_rebuilds_identical_tables_and_a_page_from_saved_results(run_dir) -> None:
    import re as regex
    import shutil

    out, _ = run_dir
    before = {p.name: p.read_bytes() for p in (out / "tables").glob("*.csv")}
    assert set(before) == {"weighted_accuracy.csv", "combinations.csv"}
    assert "\\toprule" in (out / "tables" / "weighted_accuracy.tex").read_text()
    shutil.rmtree(out / "tables")
    shutil.rmtree(out / "figures")
    (out / "REPORT.md").unlink()
    code, stdout, stderr = invoke("report", str(out))
    assert code == 0, stderr
    assert {p.name: p.read_bytes() for p in (out / "tables").glob("*.csv")} == before
    page = (out / "REPORT.md").read_text()
    links = regex.findall(r"!\[[^]]*\]\(([^)]+)\)", page)
    assert links and all((out / link).is_file() for link in links)
    assert "Not the paper's data" in page and "| resilinet" in page
    assert "REPORT.md" in stdout


def test_a_bad_command_line_value_gives_one_line_with_the_option(tmp_path) -> None:
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    result = CliRunner().invoke(
        main, ["run", str(CONFIGS / "quickstart.yaml"), "--out", str(a_file)], prog_name="resilinet"
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: Invalid value for '--out': Directory '{a_file}' is a file. "
        "(see 'resilinet run --help')\n"
    )


def test_evaluate_json_holds_every_table_as_fractions(run_dir) -> None:
    out, _ = run_dir
    code, stdout, stderr = invoke("evaluate", str(out), "--json")
    assert code == 0, stderr
    report = json.loads(stdout)  # nothing but the JSON on stdout
    assert report["run"] == str(out) and report["failures"] == "all"
    assert list(report["settings"]) == ["no_failure", "normal", "poor", "hazardous"]
    models = [(m["variant"], m["iteration"]) for m in report["models"]]
    assert models == [("vanilla", 1), ("vanilla", 2), ("resilinet", 1), ("resilinet", 2)]
    for model in report["models"]:
        unit = out / "runs" / model["variant"] / f"iter-{model['iteration']}"
        assert model["path"] == str(unit / "model.keras")
        combos = pd.read_csv(unit / "combinations.csv")
        assert [row["accuracy"] for row in model["combinations"]] == combos["accuracy"].tolist()
        assert [row["edge"] for row in model["combinations"]] == combos["edge"].tolist()
        weighted = pd.read_csv(unit / "evaluation_weighted.csv")
        assert [row["accuracy"] for row in model["weighted"]] == weighted["accuracy"].tolist()
        for row in model["weighted"]:
            assert row["reliability"] == report["settings"][row["setting"]]
            assert row["method"] == "exhaustive" and row["lower"] == row["upper"]
    # mean ± std over the iterations: the run's own table, cell by cell
    table = pd.read_csv(out / "tables" / "weighted_accuracy.csv")
    rows = pd.DataFrame(report["weighted"])
    assert list(rows.columns) == list(table.columns)
    assert rows[["variant", "setting", "iterations"]].equals(
        table[["variant", "setting", "iterations"]]
    )
    assert rows["mean"].tolist() == pytest.approx(table["mean"].tolist(), abs=1e-12)
    assert rows["std"].tolist() == pytest.approx(table["std"].tolist(), abs=1e-12)


def test_evaluate_json_of_one_model_and_one_combination(run_dir) -> None:
    out, _ = run_dir
    unit = out / "runs" / "vanilla" / "iter-1"
    code, stdout, stderr = invoke(
        "evaluate", str(unit), "--failures", "edge", "--reliability", "hazardous", "--json"
    )
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["failures"] == ["edge"] and list(report["settings"]) == ["hazardous"]
    (model,) = report["models"]
    combos = pd.read_csv(unit / "combinations.csv")
    expected = combos[(combos.fog1 == 1) & (combos.fog2 == 1) & (combos.edge == 0)]
    assert model["combinations"] == expected.to_dict("records")
    assert model["combinations"][0]["information_flow"] is False  # vanilla: edge dead is a guess
    (row,) = report["weighted"]
    assert row["iterations"] == 1 and row["std"] is None  # one model: no spread
    assert row["mean"] == model["weighted"][0]["accuracy"]


def test_quiet_evaluate_prints_only_the_summaries_with_mean_and_std(run_dir) -> None:
    from resilinet_cli.results.report_page import cell

    out, _ = run_dir
    code, stdout, stderr = invoke("--quiet", "evaluate", str(out), "--reliability", "hazardous")
    assert code == 0, stderr
    assert "weighted accuracy:" not in stdout and "(" + str(out) not in stdout
    each, _, mean_std = stdout.partition(
        "Weighted accuracy in %, mean ± sample std (ddof=1) over n iterations:"
    )
    assert "Weighted accuracy in % of each model:" in each and mean_std
    table = pd.read_csv(out / "tables" / "weighted_accuracy.csv")
    for row in table[table.setting == "hazardous"].itertuples():
        line = next(line for line in mean_std.splitlines() if line.startswith(f"| {row.variant} "))
        assert re.fullmatch(rf"\| {row.variant} +\| +2 \| +{cell(row.mean, row.std)} \|", line)


def test_dry_run_json_lists_each_unit_with_the_state_the_text_shows(run_dir, tmp_path) -> None:
    out, _ = run_dir
    args = [*quick_run(out), "--iterations", "3", "--dry-run"]
    _, text, _ = invoke(*args)
    code, stdout, stderr = invoke(*args, "--json")
    assert code == 0, stderr
    plan = json.loads(stdout)
    assert plan["config"] == "quickstart" and plan["folder"] == str(out)
    assert plan["overrides"] == TINY[1::2]
    assert [f"{u['state']}  {u['name']}" for u in plan["units"]] == text.splitlines()[:-1]
    assert plan["counts"] == {"todo": 2, "done": 4, "copy": 0, "total": 6}
    unit = plan["units"][2]
    assert {k: unit[k] for k in ("name", "state", "variant", "iteration", "seed")} == {
        "name": "vanilla/iter-3", "state": "todo", "variant": "vanilla", "iteration": 3, "seed": 2
    }  # fmt: skip
    fresh = [*quick_run(tmp_path / "fresh"), "--reuse-from", str(out), "--dry-run", "--json"]
    code, stdout, stderr = invoke(*fresh)
    assert code == 0, stderr
    assert json.loads(stdout)["counts"] == {"todo": 0, "done": 0, "copy": 4, "total": 4}


def test_dry_run_json_of_a_multirun_has_one_plan_per_value(tmp_path: Path) -> None:
    out = tmp_path / "multirun"
    args = ["run", str(CONFIGS / "quickstart.yaml"), "--out", str(out), "--dry-run", "--json"]
    args += ["-m", "--set", "train.epochs=1,2", "--variants", "vanilla", "--iterations", "1"]
    code, stdout, stderr = invoke(*args)
    assert code == 0, stderr
    plans = json.loads(stdout)
    assert [plan["folder"] for plan in plans] == [str(out / f"train.epochs={k}") for k in (1, 2)]
    assert [plan["overrides"] for plan in plans] == [["train.epochs=1"], ["train.epochs=2"]]
    for plan in plans:
        assert plan["counts"] == {"todo": 1, "done": 0, "copy": 0, "total": 1}
        assert [(u["name"], u["state"]) for u in plan["units"]] == [("vanilla/iter-1", "todo")]
    assert not out.exists()  # a dry run writes nothing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", str(CONFIGS / "quickstart.yaml"), "--json"], "--json: only with --dry-run"),
        (["--quiet", "--verbose", "data", "info"], "--quiet and --verbose exclude each other"),
    ],
)
def test_options_that_cannot_go_together_give_one_line(args: list[str], message: str) -> None:
    code, stdout, stderr = invoke(*args)
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and message in stderr and "Traceback" not in stderr


def test_each_unit_records_its_command_line_overrides_and_wall_time(run_dir) -> None:
    out, _ = run_dir
    for variant in ("vanilla", "resilinet"):
        record = json.loads((out / "runs" / variant / "iter-2" / "run.json").read_text())
        assert record["argv"] == ["resilinet", *quick_run(out)]
        assert record["overrides"] == TINY[1::2]  # the --set values
        assert 0 < record["wall_seconds"] < 600


def test_a_quiet_rerun_prints_only_the_results(run_dir) -> None:
    out, _ = run_dir
    code, stdout, stderr = invoke("--quiet", *quick_run(out))
    assert code == 0, stderr
    assert "already finished" not in stdout and "| resilinet" in stdout
    assert stdout.splitlines()[-1].startswith(f"Results: {out}/REPORT.md")


@pytest.mark.parametrize(
    ("flags", "keras", "in_processes"), [([], 2, 0), (["--quiet"], 0, 0), (["-v"], 2, 2)]
)
def test_quiet_and_verbose_reach_keras_here_and_in_unit_processes(
    monkeypatch: pytest.MonkeyPatch, flags: list[str], keras: int, in_processes: int
) -> None:
    """What a run would train with: Keras' verbosity here and in --workers/Ray processes
    (none by default: their lines would interleave), and the command its units record."""
    from resilinet_cli.cli import context
    from resilinet_cli.cli import run as run_command
    from resilinet_cli.experiments.runner import RunResult
    from resilinet_cli.experiments.unit import Invocation

    seen = []

    def record(experiments: list[Any], *_: Any, **__: Any) -> list[RunResult]:
        seen.append((context.keras_verbosity(), experiments[0].invocation))
        return [RunResult(pd.DataFrame(), [])]

    monkeypatch.setattr(run_command, "execute_experiments", record)
    args = ["run", str(CONFIGS / "quickstart.yaml"), "--set", "seed=3", "--smoke"]
    code, _, stderr = invoke(*flags, *args)
    assert code == 0, stderr
    assert seen == [(keras, Invocation(("resilinet", *flags, *args), ("seed=3",), in_processes))]
