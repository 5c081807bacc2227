"""Command-line overrides: Hydra's own parser reads them; we get plain Python edits back.

Each case is what hydra-core's override grammar says the text means
(https://hydra.cc/docs/advanced/override_grammar/basic/), as one ``Edit`` per value.
"""

from __future__ import annotations

from typing import Any

import pytest

from resilinet_cli.config.grammar import parse_overrides
from resilinet_cli.config.multirun import plan_runs
from resilinet_cli.config.overrides import NO_VALUE, Edit
from resilinet_cli.errors import ConfigError


def one(text: str, option: str = "") -> Edit:
    [parsed] = parse_overrides([text], option)
    assert not parsed.several
    [edit] = parsed.edits
    return edit


@pytest.mark.parametrize(
    ("text", "key", "action", "value"),
    [
        ("train.epochs=5", "train.epochs", "set", 5),
        ("train.failout.survival=0.7", "train.failout.survival", "set", 0.7),
        ("train.augment=true", "train.augment", "set", True),
        ("train.threads=null", "train.threads", "set", None),
        ("model.weight_decay=1e-4", "model.weight_decay", "set", 1e-4),
        ("variants=[resilinet,vanilla]", "variants", "set", ["resilinet", "vanilla"]),
        ("topology.skips=[[iot,fog2]]", "topology.skips", "set", [["iot", "fog2"]]),
        ('topology.skips=[["iot","fog2"]]', "topology.skips", "set", [["iot", "fog2"]]),
        ("train.failout.survival={fog2: 0.6}", "train.failout.survival", "set", {"fog2": 0.6}),
        ("description='a, b (c); d'", "description", "set", "a, b (c); d"),
        ("dataset.data_dir=/data/my sets", "dataset.data_dir", "set", "/data/my sets"),
        ("+train.early_stopping=3", "train.early_stopping", "add", 3),
        ("++train.epochs=3", "train.epochs", "force_add", 3),
        ("~model.alpha", "model.alpha", "delete", NO_VALUE),
        ("~model.alpha=0.5", "model.alpha", "delete", 0.5),
    ],
)
def test_hydra_reads_each_override_as_plain_python(
    text: str, key: str, action: str, value: Any
) -> None:
    edit = one(text)
    assert (edit.key, edit.action, edit.text, edit.label) == (key, action, text, text)
    assert edit.value is value if value is NO_VALUE else edit.value == value
    assert type(edit.value) is type(value)  # quoted strings come back as str, lists as list


def test_a_set_override_is_named_with_its_option() -> None:
    assert one("train.epochs=5", "--set").label == "--set train.epochs=5"


@pytest.mark.parametrize(
    ("text", "values", "texts"),
    [
        ("train.epochs=1,2", [1, 2], ["train.epochs=1", "train.epochs=2"]),
        ("train.epochs=range(1,4)", [1, 2, 3], [f"train.epochs={k}" for k in (1, 2, 3)]),
        ("train.epochs=range(10,31,10)", [10, 20, 30], [f"train.epochs={k}" for k in (10, 20, 30)]),
        ("model.name=choice(mlp,resnet18)", ["mlp", "resnet18"],
         ["model.name=mlp", "model.name=resnet18"]),
        ("variants=[a],[b,c]", [["a"], ["b", "c"]], ["variants=[a]", "variants=[b,c]"]),
        ("+train.early_stopping=2,5", [2, 5],
         ["+train.early_stopping=2", "+train.early_stopping=5"]),
    ],
)  # fmt: skip
def test_a_sweep_is_expanded_into_one_edit_per_value(
    text: str, values: list[Any], texts: list[str]
) -> None:
    [parsed] = parse_overrides([text], "--set")
    assert parsed.several and parsed.label == f"--set {text}"
    assert [edit.value for edit in parsed.edits] == values
    assert [edit.text for edit in parsed.edits] == texts
    assert [edit.label for edit in parsed.edits] == [f"--set {t}" for t in texts]


def test_a_quoted_comma_is_one_value_not_a_sweep() -> None:
    assert one("description='first, second'").value == "first, second"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("oops", "--set oops: expected key=value, for example train.epochs=5"),
        ("=3", "--set =3: expected key=value, for example train.epochs=5"),
        (
            "description=a; b",
            "--set description=a; b: Hydra's override grammar does not allow ';' at column 14; "
            "quote the value (key='...')",
        ),
        (
            "variants=[vanilla",
            "--set variants=[vanilla: Hydra's override grammar: "
            "no viable alternative at input '[vanilla'",
        ),
        (
            "train.epochs=range(a,b)",
            "--set train.epochs=range(a,b): Hydra's override grammar: TypeError while evaluating "
            "'range(a,b)': mismatch type argument start: str is incompatible with "
            "Union[int, float]",
        ),
        (
            "train.epochs@pkg=3",
            "--set train.epochs@pkg=3: Hydra's @package has no meaning here; name the key alone",
        ),
        (
            "train.failout.survival=interval(0.5,1)",
            "--set train.failout.survival=interval(0.5,1): only a,b, choice(...) and range(...) "
            "give a multirun its values here (interval() and glob() need a Hydra sweeper)",
        ),
    ],
)
def test_a_grammar_error_is_one_line_naming_the_override(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_overrides([text], "--set")
    assert str(caught.value) == message


# -- runs: one, or one per combination with -m ---------------------------------------------------


def test_without_a_sweep_there_is_one_run_in_the_plain_folder() -> None:
    parsed = parse_overrides(["train.epochs=5", "iterations=1"])
    [run] = plan_runs(parsed, multirun=False)
    assert (run.folder, run.texts, run.values) == ("", ["train.epochs=5", "iterations=1"], {})
    assert plan_runs(parsed, multirun=True) == [run]


def test_a_sweep_without_multirun_is_refused_in_one_line() -> None:
    parsed = parse_overrides(["seed=1", "train.epochs=1,2"], "--set")
    with pytest.raises(ConfigError) as caught:
        plan_runs(parsed, multirun=False)
    assert str(caught.value) == (
        "--set train.epochs=1,2: 2 values make a multirun, which runs only with -m (resilinet run "
        "-m: one config per value); quote a value that holds a comma (key='a,b')"
    )


def test_multirun_is_the_product_of_the_sweeps_first_override_slowest() -> None:
    parsed = parse_overrides(["train.epochs=range(1,3)", "seed=7", "model.name=choice(a,b)"])
    runs = plan_runs(parsed, multirun=True)
    assert [run.folder for run in runs] == [
        "train.epochs=1,model.name=a",
        "train.epochs=1,model.name=b",
        "train.epochs=2,model.name=a",
        "train.epochs=2,model.name=b",
    ]
    assert runs[1].texts == ["train.epochs=1", "seed=7", "model.name=b"]
    assert runs[1].values == {"train.epochs": "1", "model.name": "b"}
