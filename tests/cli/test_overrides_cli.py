"""Overrides on the command line: positional or --set, Hydra's grammar, groups and -m multiruns.

Nothing here trains: ``execute_experiments`` is replaced by a recorder of the configs it
would run (tests/experiments/test_runner.py trains a real -m multirun and checks its combined
table).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from paths import CONFIGS

from resilinet_cli.cli import main
from resilinet_cli.results.multirun import write_multirun_table

QUICKSTART = str(CONFIGS / "quickstart.yaml")


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Each experiment a command would run: its config, folder and the overrides its units
    record; each "finishes" with an empty table and no failure."""
    from resilinet_cli.cli import run as run_command
    from resilinet_cli.experiments.runner import RunResult

    calls: list[dict[str, Any]] = []

    def record(experiments: list[Any], *_: Any, **__: Any) -> list[RunResult]:
        for experiment in experiments:
            overrides = experiment.invocation.overrides
            calls.append({"cfg": experiment.config, "out": experiment.out, "overrides": overrides})
        return [RunResult(pd.DataFrame(), []) for _ in experiments]

    monkeypatch.setattr(run_command, "execute_experiments", record)
    return calls


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def one_error_line(*args: str) -> str:
    code, _, stderr = invoke(*args)
    assert code == 2 and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    return stderr.removeprefix("error: ").rstrip("\n")


def test_positional_overrides_follow_the_config_and_mix_with_set(executed, tmp_path) -> None:
    out = tmp_path / "run"
    args = ["run", QUICKSTART, "train.epochs=5", "--set", "seed=3", "iterations=1"]
    code, _, stderr = invoke(*args, "--out", str(out))
    assert code == 0, stderr
    [call] = executed
    cfg = call["cfg"]
    assert (cfg.train.epochs, cfg.seed, cfg.iterations) == (5, 3, 1)
    assert call["out"] == out
    assert call["overrides"] == ("seed=3", "train.epochs=5", "iterations=1")  # --set first


def test_add_and_remove_keys_on_the_command_line(executed) -> None:
    code, _, stderr = invoke(
        "run", QUICKSTART, "+train.early_stopping=3", "~train.failout.granularity", "~seed"
    )
    assert code == 0, stderr
    cfg = executed[0]["cfg"]
    assert cfg.train.early_stopping == 3
    assert (cfg.train.failout.granularity, cfg.seed) == ("batch", 0)  # the schema's defaults


def test_groups_select_shipped_presets_by_name(executed) -> None:
    args = ["topology=cnn", "dataset=fashion_mnist", "model=mobilenet", "dataset.subset.train=99"]
    code, _, stderr = invoke("run", QUICKSTART, *args)
    assert code == 0, stderr
    cfg = executed[0]["cfg"]
    assert cfg.topology.failable == ["fog", "edge"]
    assert (cfg.dataset.name, cfg.dataset.image_size, cfg.dataset.subset.train) == (
        "fashion_mnist", 32, 99,
    )  # fmt: skip
    assert (cfg.model.name, cfg.model.alpha) == ("mobilenet", 0.75)


def test_train_takes_positional_overrides_too(executed) -> None:
    code, _, stderr = invoke("train", QUICKSTART, "train.epochs=4", "--variant", "vanilla")
    assert code == 0, stderr
    assert executed[0]["cfg"].train.epochs == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model.alpha=0.5", "--dry-run"],
         "model.alpha=0.5: does not apply to model 'mlp' (its keys: partition, hidden_units, "
         "layers_per_node)"),
        (["--set", "model.alpha=0.5", "--dry-run"],
         "--set model.alpha=0.5: does not apply to model 'mlp' (its keys: partition, "
         "hidden_units, layers_per_node)"),
        (["train.epoch=3"],
         "train.epoch=3: unknown key 'epoch' (did you mean 'epochs'? known: epochs, batch_size, "
         "gradient_accumulation_steps, augment, mixed_precision, threads, distribute, optimizer, "
         "early_stopping, epoch_sweep, failout, hyperconnection_weights)"),
        (["+train.epochs=3"],
         "+train.epochs=3: train.epochs is already in the config; change it with "
         "train.epochs=VALUE (or ++train.epochs=VALUE)"),
        (["+train.nope=3"],
         "+train.nope=3: unknown key 'nope' (known: epochs, batch_size, "
         "gradient_accumulation_steps, augment, mixed_precision, threads, distribute, optimizer, "
         "early_stopping, epoch_sweep, failout, hyperconnection_weights)"),
        (["dataset=fashion"],
         "dataset=fashion: unknown dataset preset 'fashion' (did you mean 'fashion_mnist'? "
         "known: cifar10, digits, fashion_mnist, imagenet, mhealth)"),
        (["description=a (b)"],
         "description=a (b): Hydra's override grammar: HydraException while evaluating "
         "'a (b)': Unknown function 'a'"),
        (["--set", "variants=[vanilla"],
         "--set variants=[vanilla: Hydra's override grammar: no viable alternative at input "
         "'[vanilla'"),
        (["train.epochs=1,2"],
         "train.epochs=1,2: 2 values make a multirun, which runs only with -m (resilinet run -m: "
         "one config per value); quote a value that holds a comma (key='a,b')"),
        (["--set", "train.epochs=range(1,3)", "--dry-run"],
         "--set train.epochs=range(1,3): 2 values make a multirun, which runs only with -m "
         "(resilinet run -m: one config per value); quote a value that holds a comma "
         "(key='a,b')"),
    ],
)  # fmt: skip
def test_each_override_problem_is_one_line_naming_it(
    executed, args: list[str], message: str
) -> None:
    assert one_error_line("run", QUICKSTART, *args) == message
    assert executed == []


def test_train_refuses_a_multirun(executed) -> None:
    line = one_error_line("train", QUICKSTART, "seed=1,2", "--variant", "vanilla")
    assert line.startswith("seed=1,2: 2 values make a multirun, which runs only with -m")


def test_a_quoted_comma_is_a_value_not_a_multirun(executed) -> None:
    code, _, stderr = invoke("run", QUICKSTART, "description='one, two (three)'")
    assert code == 0, stderr
    assert executed[0]["cfg"].description == "one, two (three)"


def test_multirun_runs_comma_range_and_choice(executed, tmp_path) -> None:
    out = tmp_path / "multirun"
    args = ["-m", "train.epochs=range(1,3)", "--set", "seed=choice(4,5)", "iterations=1,2"]
    code, stdout, stderr = invoke("run", QUICKSTART, "--out", str(out), *args)
    assert code == 0, stderr
    got = [(c["cfg"].seed, c["cfg"].train.epochs, c["cfg"].iterations) for c in executed]
    assert got == [(s, e, i) for s in (4, 5) for e in (1, 2) for i in (1, 2)]
    first = "seed=4,train.epochs=1,iterations=1"
    assert executed[0]["out"] == out / first and f"== {first}\n" in stdout
    assert executed[0]["overrides"] == ("seed=4", "train.epochs=1", "iterations=1")


def test_every_config_of_a_multirun_is_checked_before_any_unit_trains(executed, tmp_path) -> None:
    out = tmp_path / "multirun"
    line = one_error_line("run", QUICKSTART, "--out", str(out), "-m", "train.epochs=2,1,-1")
    assert line == "train.epochs=-1: Input should be greater than or equal to 0"
    assert executed == [] and not out.exists()


def test_multirun_dry_run_json_lists_one_plan_per_value(tmp_path: Path) -> None:
    out = tmp_path / "multirun"
    code, stdout, stderr = invoke(
        "run", QUICKSTART, "--out", str(out), "-m", "seed=choice(3,4)", "--variants", "vanilla",
        "--iterations", "1", "--dry-run", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    plans = json.loads(stdout)
    assert [plan["folder"] for plan in plans] == [str(out / "seed=3"), str(out / "seed=4")]
    assert [plan["units"][0]["seed"] for plan in plans] == [3, 4]
    assert not out.exists()


def test_help_shows_positional_overrides_and_multirun() -> None:
    code, stdout, _ = invoke("run", "--help")
    assert code == 0 and "CONFIG [KEY=VALUE]..." in stdout and "-m, --multirun" in stdout
    assert "resilinet run configs/quickstart.yaml -m train.failout.survival=0.9,0.7" in stdout


def test_the_multirun_table_puts_the_swept_keys_before_each_values_rows(tmp_path: Path) -> None:
    rows = {
        "train.epochs=1": [("vanilla", "no_failure", 0.8), ("vanilla", "hazardous", 0.4)],
        "train.epochs=2": [("vanilla", "no_failure", 0.9), ("vanilla", "hazardous", 0.5)],
    }
    runs = []
    for folder, table in rows.items():
        frame = pd.DataFrame(table, columns=["variant", "setting", "mean"]).assign(
            std=0.01, iterations=2
        )
        (tmp_path / folder / "tables").mkdir(parents=True)
        frame.to_csv(tmp_path / folder / "tables" / "weighted_accuracy.csv", index=False)
        runs.append(({"train.epochs": folder.partition("=")[2]}, tmp_path / folder))
    runs.append(({"train.epochs": "3"}, tmp_path / "train.epochs=3"))  # not run: left out
    path = write_multirun_table(tmp_path, runs)
    assert path == tmp_path / "tables" / "multirun.csv"
    table = pd.read_csv(path)
    assert list(table.columns) == [
        "train.epochs",
        "variant",
        "setting",
        "mean",
        "std",
        "iterations",
    ]
    assert table[["train.epochs", "setting", "mean"]].values.tolist() == [
        [1, "no_failure", 0.8], [1, "hazardous", 0.4],
        [2, "no_failure", 0.9], [2, "hazardous", 0.5],
    ]  # fmt: skip
    markdown = (tmp_path / "tables" / "multirun.md").read_text()
    assert "| vanilla   | 2              |   2 | 90.00 ± 1.00 | 50.00 ± 1.00 |" in markdown
    assert write_multirun_table(tmp_path / "none", runs[2:]) is None
